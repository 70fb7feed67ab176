"""Uploaded files: where evidence is kept (local disk or an S3-compatible bucket), how a
download reaches the browser, and the limits on what a request may upload."""

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured

from airlock.settings.env import BASE_DIR, PRODUCTION, env_int, env_str

# Uploaded evidence lives outside any URL the web server maps; it is only ever streamed by a
# permission-checked view (or handed out as a presigned link of a minute or less).
# Without STORAGE_URL (or AWS_STORAGE_BUCKET_NAME) it is kept on the local disk under
# PRIVATE_STORAGE_ROOT, which only works while one machine runs every web and worker process.
# With it, in an S3-compatible bucket: STORAGE_URL=s3://bucket[/prefix][?endpoint_url=...&
# region=...&addressing_style=path]; credentials from the usual AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, or the platform's role.
PRIVATE_STORAGE_ROOT = Path(env_str("PRIVATE_STORAGE_ROOT", str(BASE_DIR / "var" / "private")))
STORAGE_URL = env_str("STORAGE_URL", "")
STORAGE_SSE = env_str("STORAGE_SSE", "AES256")
STORAGE_CONNECT_TIMEOUT = env_int("STORAGE_CONNECT_TIMEOUT", 3)
STORAGE_READ_TIMEOUT = env_int("STORAGE_READ_TIMEOUT", 30)


def _s3_options() -> dict | None:
    """The PrivateS3Storage options STORAGE_URL or the AWS_* variables ask for, or None."""
    if STORAGE_URL:
        parts = urlsplit(STORAGE_URL)
        if parts.scheme != "s3" or not parts.netloc:
            raise ImproperlyConfigured(
                f"STORAGE_URL must look like s3://bucket/prefix, not {STORAGE_URL!r}."
            )
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint_url", "region", "addressing_style"}
        if unknown:
            raise ImproperlyConfigured(f"STORAGE_URL has unknown options: {sorted(unknown)}.")
        bucket, location = parts.netloc, parts.path.strip("/")
        endpoint, region = query.get("endpoint_url"), query.get("region")
        addressing = query.get("addressing_style")
    elif os.environ.get("AWS_STORAGE_BUCKET_NAME"):
        bucket, location = env_str("AWS_STORAGE_BUCKET_NAME"), env_str("AWS_LOCATION", "")
        endpoint = os.environ.get("AWS_S3_ENDPOINT_URL")
        region = os.environ.get("AWS_S3_REGION_NAME")
        addressing = os.environ.get("AWS_S3_ADDRESSING_STYLE")
    else:
        return None
    if STORAGE_SSE not in {"AES256", "aws:kms", "none"}:
        raise ImproperlyConfigured(
            f"STORAGE_SSE must be AES256, aws:kms or none, not {STORAGE_SSE!r}."
        )
    encryption = {}
    if STORAGE_SSE != "none":
        encryption["ServerSideEncryption"] = STORAGE_SSE
    if STORAGE_SSE == "aws:kms" and os.environ.get("STORAGE_SSE_KMS_KEY_ID"):
        encryption["SSEKMSKeyId"] = env_str("STORAGE_SSE_KMS_KEY_ID")
    return {
        "bucket_name": bucket,
        "location": location,
        "endpoint_url": endpoint or None,
        "region_name": region or None,
        "addressing_style": addressing or None,
        "object_parameters": encryption,
    }


_S3 = _s3_options()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names that WhiteNoise serves with far-future caching; needs
    # collectstatic (the Containerfile runs it), so only in production.
    "staticfiles": {
        "BACKEND": "airlock.staticfiles.StaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    "private": {"BACKEND": "airlock.storage.PrivateS3Storage", "OPTIONS": _S3}
    if _S3
    else {"BACKEND": "airlock.storage.PrivateFileSystemStorage"},
}
# How a permitted download reaches the browser: "stream" through the web node (the default;
# works on every store), or "redirect" to a presigned link on the object store that expires
# after EVIDENCE_URL_EXPIRY_SECONDS (a minute at most), which spares the web node the bytes.
EVIDENCE_DOWNLOAD = env_str("EVIDENCE_DOWNLOAD", "stream")
if EVIDENCE_DOWNLOAD not in {"stream", "redirect"}:
    raise ImproperlyConfigured(
        f"EVIDENCE_DOWNLOAD must be stream or redirect, not {EVIDENCE_DOWNLOAD!r}."
    )
if EVIDENCE_DOWNLOAD == "redirect" and not _S3:
    raise ImproperlyConfigured("EVIDENCE_DOWNLOAD=redirect needs an object store (STORAGE_URL).")
EVIDENCE_URL_EXPIRY_SECONDS = env_int("EVIDENCE_URL_EXPIRY_SECONDS", 30)
if not 1 <= EVIDENCE_URL_EXPIRY_SECONDS <= 60:
    raise ImproperlyConfigured("EVIDENCE_URL_EXPIRY_SECONDS must be between 1 and 60.")
EVIDENCE_MAX_UPLOAD_BYTES = env_int("EVIDENCE_MAX_UPLOAD_MB", 25) * 1024 * 1024

# The longest a testing plan may run, from its start to its end: the sandbox's programme
# length. A plan (or an amendment) asking for longer is refused with a field error.
MAX_TESTING_DAYS = env_int("AIRLOCK_MAX_TESTING_DAYS", 365)
# Larger uploads go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The size limit comes first: once a file passes EVIDENCE_MAX_UPLOAD_BYTES, the rest of it is
# read and thrown away rather than written to memory or disk, and the form says it is too big.
FILE_UPLOAD_HANDLERS = [
    "airlock.upload_handlers.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Form fields other than files: the longest textarea is tens of kilobytes, and the review
# queue's bulk assignment posts at most a few hundred ids.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 10
