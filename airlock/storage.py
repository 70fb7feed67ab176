"""Private file storage: the local disk by default, an S3-compatible bucket when configured.

Evidence (and anything else no URL may serve directly) goes through `private_storage()`, which
hands every call to the backend that `STORAGES["private"]` names *now*: a FileField's storage is
built once, when the model class is, so a fixed backend there would ignore a test's (or a
migration command's) settings. The two backends:

- `PrivateFileSystemStorage`, under PRIVATE_STORAGE_ROOT, outside every URL the web server maps
  (`make run`, one machine);
- `PrivateS3Storage` (django-storages over boto3), for any number of web and worker nodes: private
  objects, server-side encryption where the store offers it, and reads that stream the object
  with ranged GETs instead of copying it into memory first.

Every object is written with `store_verified`: the SHA-256 of what the store holds afterwards must
equal the one computed from the upload, or the object is removed and the upload refused.
"""

import hashlib
import io
import logging
import os
from urllib.parse import quote

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils.deconstruct import deconstructible
from storages.backends.s3 import S3Storage

logger = logging.getLogger(__name__)

ALIAS = "private"
CHUNK_SIZE = 1024 * 1024


class IntegrityFailure(Exception):
    """The store does not hold the bytes it was given (or no longer does)."""


class StoreUnavailable(OSError):
    """The object store did not answer, or answered with an error (after boto3's retries)."""


class PrivateFileSystemStorage(FileSystemStorage):
    """Files under PRIVATE_STORAGE_ROOT, read from settings on every use (a test's or a
    command's PRIVATE_STORAGE_ROOT applies without rebuilding anything)."""

    def __init__(self, **options):
        options.setdefault("base_url", None)
        super().__init__(**options)

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_STORAGE_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)


class RangedObjectReader(io.RawIOBase):
    """A read-only, seekable view of one S3 object that streams it in order.

    Reads come from one GET whose body is read as the caller asks; a seek elsewhere starts a new
    GET from there (a Range request). Seeking to the end and back, which Django's FileResponse
    does to learn the length, costs nothing: the size comes from the HEAD that opened it.
    """

    def __init__(self, client, bucket: str, key: str, size: int):
        super().__init__()
        self._client, self._bucket, self._key = client, bucket, key
        self.size = size
        self._position = 0
        self._body = None
        self._body_position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:
        if self._position >= self.size:
            return 0
        try:
            if self._body is None or self._body_position != self._position:
                self._close_body()
                response = self._client.get_object(
                    Bucket=self._bucket, Key=self._key, Range=f"bytes={self._position}-"
                )
                self._body, self._body_position = response["Body"], self._position
            data = self._body.read(len(buffer))
        except (BotoCoreError, ClientError) as error:
            raise StoreUnavailable(str(error)) from error
        buffer[: len(data)] = data
        self._position += len(data)
        self._body_position = self._position
        return len(data)

    def _close_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._close_body()
        super().close()


@deconstructible
class PrivateS3Storage(S3Storage):
    """Evidence in a bucket: never public, never overwritten, encrypted at rest where the
    store offers it (AWS_S3_OBJECT_PARAMETERS from STORAGE_SSE in settings)."""

    def get_default_settings(self):
        defaults = super().get_default_settings()
        defaults.update(
            # Keys are random (devices.models.evidence_path): a clash is a bug, never a
            # replacement of someone's evidence.
            file_overwrite=False,
            # No ACL header: the bucket is private, and stores with ACLs disabled (AWS's
            # default "bucket owner enforced") refuse one.
            default_acl=None,
            querystring_auth=True,
            signature_version="s3v4",
        )
        return defaults

    def __init__(self, **options):
        super().__init__(**options)
        # A store that hangs must not hold a web worker for minutes: short connect and read
        # timeouts, and botocore's standard retries (3 attempts with backoff) for blips.
        self.client_config = self.client_config.merge(
            Config(
                connect_timeout=settings.STORAGE_CONNECT_TIMEOUT,
                read_timeout=settings.STORAGE_READ_TIMEOUT,
                retries={"max_attempts": 3, "mode": "standard"},
            )
        )

    def _open(self, name, mode="rb"):
        if "w" in mode or "+" in mode:
            return super()._open(name, mode)
        key = self._normalize_name(name)
        try:
            head = self.connection.meta.client.head_object(Bucket=self.bucket_name, Key=key)
        except ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                raise FileNotFoundError(f"No object {key} in {self.bucket_name}") from None
            raise StoreUnavailable(str(error)) from error
        except BotoCoreError as error:
            raise StoreUnavailable(str(error)) from error
        reader = RangedObjectReader(
            self.connection.meta.client, self.bucket_name, key, head["ContentLength"]
        )
        return File(io.BufferedReader(reader, buffer_size=CHUNK_SIZE), name=name)

    def _save(self, name, content):
        try:
            return super()._save(name, content)
        except (BotoCoreError, ClientError) as error:
            raise StoreUnavailable(str(error)) from error

    def delete(self, name):
        try:
            return super().delete(name)
        except (BotoCoreError, ClientError) as error:
            raise StoreUnavailable(str(error)) from error

    def exists(self, name):
        try:
            return super().exists(name)
        except (BotoCoreError, ClientError) as error:
            raise StoreUnavailable(str(error)) from error

    def presigned_download_url(self, name: str, *, filename: str, content_type: str) -> str:
        """A GET link to the object that expires in EVIDENCE_URL_EXPIRY_SECONDS and makes the
        browser save it under its original name with the type Airlock recorded."""
        return self.url(
            name,
            parameters={
                "ResponseContentDisposition": f"attachment; filename*=UTF-8''{quote(filename)}",
                "ResponseContentType": content_type,
                "ResponseCacheControl": "private, no-store",
            },
            expire=settings.EVIDENCE_URL_EXPIRY_SECONDS,
        )

    def check(self) -> None:
        """Raise unless the bucket answers to these credentials."""
        self.connection.meta.client.head_bucket(Bucket=self.bucket_name)


def backend() -> Storage:
    """The private storage backend the settings name now."""
    return storages[ALIAS]


@deconstructible
class PrivateStorage(Storage):
    """What a FileField holds: every call goes to `backend()` at the time it is made."""

    def _open(self, name, mode="rb"):
        return backend().open(name, mode)

    def save(self, name, content, max_length=None):
        return backend().save(name, content, max_length)

    def _save(self, name, content):
        return backend().save(name, content)

    def get_available_name(self, name, max_length=None):
        return backend().get_available_name(name, max_length)

    def generate_filename(self, filename):
        return backend().generate_filename(filename)

    def delete(self, name):
        return backend().delete(name)

    def exists(self, name):
        return backend().exists(name)

    def size(self, name):
        return backend().size(name)

    def url(self, name):
        raise NotImplementedError("Private files have no URL: serve them through a view.")

    def path(self, name):
        return backend().path(name)

    def listdir(self, path):
        return backend().listdir(path)


_private = PrivateStorage()


def private_storage() -> Storage:
    return _private


def is_object_store(storage: Storage | None = None) -> bool:
    return isinstance(storage or backend(), PrivateS3Storage)


def redirects_downloads() -> bool:
    """Downloads go to a short-lived presigned URL rather than through the web node."""
    return settings.EVIDENCE_DOWNLOAD == "redirect" and is_object_store()


def sha256_of(name: str, storage: Storage | None = None) -> str:
    """The SHA-256 of the stored object, read in chunks (FileNotFoundError if missing)."""
    digest = hashlib.sha256()
    with (storage or backend()).open(name, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def store_verified(name: str, content, sha256: str, storage: Storage | None = None) -> str:
    """Save `content` as `name`, read it back, and keep it only if its SHA-256 is `sha256`.

    Returns the name the object was stored under. Raises IntegrityFailure (having removed the
    bad object) when the store holds anything else."""
    storage = storage or backend()
    if hasattr(content, "seek"):
        content.seek(0)
    stored = storage.save(name, content)
    try:
        actual = sha256_of(stored, storage)
    except FileNotFoundError:
        actual = None
    if actual != sha256:
        logger.error("stored %s failed its hash check (%s, not %s)", stored, actual, sha256)
        storage.delete(stored)
        raise IntegrityFailure(f"{stored} was stored as {actual}, not {sha256}")
    return stored


def check() -> str | None:
    """None when the private store is usable; otherwise what is wrong, in words."""
    store = backend()
    try:
        if isinstance(store, PrivateS3Storage):
            store.check()
        else:
            if not os.path.isdir(store.location):
                os.makedirs(store.location, exist_ok=True)
            if not os.access(store.location, os.W_OK):
                return f"{store.location} is not writable"
    except (BotoCoreError, ClientError, OSError) as error:
        logger.warning("private storage check failed: %s", error)
        return type(error).__name__
    return None
