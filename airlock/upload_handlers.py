"""Stop storing an uploaded file as soon as it passes the size limit.

Django would otherwise write a 10 GB body to a temporary file before any form could say it is
too large. This handler sits first in FILE_UPLOAD_HANDLERS: once a file passes
EVIDENCE_MAX_UPLOAD_BYTES it withholds the remaining chunks from the handlers that store them,
and at the end hands the form a placeholder that records the real size, so the form's usual
size check reports "This file is 3.1 GB; the limit is 25 MB" as a field error instead of a 500
or a reset connection. The rest of the body is still read (and discarded) so that fields after
the file, and the response, arrive normally; the web server's own body limit (see
docs/SECURITY.md) caps how much is read at all.
"""

from io import BytesIO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class OversizedUpload(UploadedFile):
    """Stands in for a file that was too large to keep: its name and real size, no content."""

    def __init__(self, *, name: str, size: int, content_type: str, charset: str | None):
        super().__init__(BytesIO(), name, content_type, size, charset)


class SizeLimitUploadHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.EVIDENCE_MAX_UPLOAD_BYTES
        self.oversized = False

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.oversized = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > self.limit:
            if not self.oversized:
                self.oversized = True
                self._discard_stored_part()
            # None keeps the chunk from the storing handlers after this one.
            return None
        return raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        # file_size is what this handler saw, i.e. every byte of the file.
        if not self.oversized:
            return None
        return OversizedUpload(
            name=self.file_name,
            size=file_size,
            content_type=self.content_type,
            charset=self.charset,
        )

    def _discard_stored_part(self) -> None:
        """Free what the storing handlers already hold of this file (at most the limit)."""
        for handler in getattr(self.request, "upload_handlers", []):
            stored = getattr(handler, "file", None)
            if handler is not self and stored is not None:
                stored.close()
