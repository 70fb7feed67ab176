"""Checking uploaded evidence by what it contains, not what it is called.

A file is accepted only when its bytes are one of the allowed formats *and* its extension names
that same format, so a renamed executable or a PDF called report.png is refused with a reason.
"""

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

ALLOWED = {
    "pdf": ("application/pdf", "PDF"),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word document (DOCX)",
    ),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel workbook (XLSX)",
    ),
    "csv": ("text/csv", "CSV"),
    "png": ("image/png", "PNG image"),
    "jpg": ("image/jpeg", "JPEG image"),
}
EXTENSIONS = {"jpeg": "jpg"}
ALLOWED_DESCRIPTION = "PDF, DOCX, XLSX, CSV, PNG or JPEG"
# An Office file unpacks to several times its size (XML compresses well), but one that claims
# to unpack to more than this many times the largest upload we accept is built to exhaust
# whoever opens it.
UNPACKED_RATIO_LIMIT = 20
MAX_ARCHIVE_MEMBERS = 5000
# Markup that a browser or a spreadsheet might act on, looked for in the whole file: a file
# that starts like a tag, or a tag anywhere (however much whitespace pads it).
MARKUP_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<[a-z!?/]", re.IGNORECASE)
MARKUP_TAG = re.compile(
    rb"<\s*(?:script|html|svg|iframe|object|embed|body|\?xml|!doctype)\b", re.IGNORECASE
)
# Read this much at a time, and judge the CSV's shape on the first piece.
CSV_CHUNK = 64 * 1024
# Longer than any tag name MARKUP_TAG looks for.
LONGEST_TAG = 16


@dataclass(frozen=True)
class InspectedUpload:
    file: UploadedFile
    name: str
    content_type: str


def _sniff(file: UploadedFile) -> str | None:
    """The format the bytes say this is, or None."""
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_office(file)
    return "csv" if _looks_like_csv(file) else None


def _sniff_office(file: UploadedFile) -> str | None:
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        return None
    finally:
        file.seek(0)
    # Only the directory is read, never the contents; but a reviewer's Word or Excel would
    # unpack the whole thing, so an archive that claims to expand enormously (a "zip bomb")
    # is refused here rather than crashing their machine.
    unpacked = sum(member.file_size for member in members)
    unpacked_limit = settings.EVIDENCE_MAX_UPLOAD_BYTES * UNPACKED_RATIO_LIMIT
    if len(members) > MAX_ARCHIVE_MEMBERS or unpacked > unpacked_limit:
        raise ValidationError(
            f"This file unpacks to {filesizeformat(unpacked)} in {len(members)} parts, far "
            "more than a genuine document. Save it again from Word or Excel and upload that.",
            code="archive",
        )
    names = {member.filename for member in members}
    if "[Content_Types].xml" not in names:
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def _looks_like_csv(file: UploadedFile) -> bool:
    """Whether the whole file is UTF-8 text with no NUL and no markup, shaped like CSV.

    Streamed a piece at a time within the upload cap, never read whole into memory: markup
    after 70 KB of honest rows is still markup. HTML, SVG or XML with commas in it parses as
    CSV; a browser or spreadsheet might still treat it as markup, so markup is never data,
    whatever its name.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    sample = b""
    start = b""  # the start of the file, until it has more than whitespace in it
    carried = b""  # what the next piece might complete into a tag
    file.seek(0)
    # read(), not chunks(): an in-memory upload's chunks() is the whole file at once.
    for piece in iter(lambda: file.read(CSV_CHUNK), b""):
        if not sample:
            sample = piece
        if b"\x00" in piece:
            return False
        try:
            decoder.decode(piece)
        except UnicodeDecodeError:
            return False
        if not start.strip(b"\xef\xbb\xbf \t\r\n\x0b\x0c"):
            start = start.strip() + piece[: 2 * LONGEST_TAG]
        window = carried + piece
        carried = b""
        if b"<" not in window:
            # Every tag starts with one: most CSV files are never searched at all.
            continue
        # A match touching the end of the window may be the start of a longer word
        # ("<scripts"): it is carried, and judged with the next piece.
        if any(match.end() < len(window) for match in MARKUP_TAG.finditer(window)):
            return False
        after = window[window.rfind(b"<") + 1 :]
        word = after.lstrip()
        if len(word) <= LONGEST_TAG:
            # "<", any whitespace (as one space: megabytes of padding are not kept), and
            # the word begun so far.
            carried = b"<" + (b" " if len(word) < len(after) else b"") + word
    file.seek(0)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    if MARKUP_START.match(start) or MARKUP_TAG.search(carried):
        return False
    text = sample.decode("utf-8-sig", errors="ignore")
    rows = list(csv.reader(io.StringIO(text)))
    return bool(rows) and any(len(row) > 1 for row in rows[:5])


def inspect_upload(file: UploadedFile) -> InspectedUpload:
    """Return the upload if it is an allowed file within the size cap; else ValidationError."""
    limit = settings.EVIDENCE_MAX_UPLOAD_BYTES
    if file.size > limit:
        raise ValidationError(
            f"This file is {filesizeformat(file.size)}; the limit is {filesizeformat(limit)}. "
            "Split it or compress it and try again.",
            code="too_large",
        )
    if file.size == 0:
        raise ValidationError("This file is empty.", code="empty")
    name = (file.name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    extension = EXTENSIONS.get(extension, extension)
    if extension not in ALLOWED:
        raise ValidationError(
            f"Files ending .{extension or '(none)'} are not accepted. "
            f"Upload a {ALLOWED_DESCRIPTION} file.",
            code="extension",
        )
    detected = _sniff(file)
    if detected != extension:
        described = ALLOWED[detected][1] if detected else "not one of the accepted formats"
        if detected == "csv":
            # Text with commas reads as CSV to the sniffer; a person who saved notes as .pdf
            # knows it as text.
            described = "plain text"
        raise ValidationError(
            f"This file is named .{extension} but its contents are {described}. "
            f"Upload a genuine {ALLOWED_DESCRIPTION} file.",
            code="content",
        )
    return InspectedUpload(file=file, name=name[:255], content_type=ALLOWED[detected][0])
