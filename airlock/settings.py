"""Airlock settings: one file, every value from the environment through strict helpers.

AIRLOCK_ENV selects the profile: "development" (default, for `make run` and tests) or
"production", which refuses to start without a real SECRET_KEY and ALLOWED_HOSTS.
"""

import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"Set the {name} environment variable.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


AIRLOCK_ENV = env_str("AIRLOCK_ENV", "development")
if AIRLOCK_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"AIRLOCK_ENV must be development or production, not {AIRLOCK_ENV!r}."
    )
PRODUCTION = AIRLOCK_ENV == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)

if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    # Django's generated placeholder keys start with this prefix; a short key is guessable.
    if SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be a random value of at least 50 characters in production."
        )
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Set ALLOWED_HOSTS in production.")
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production.")
else:
    SECRET_KEY = env_str("SECRET_KEY", "django-insecure-development-only-never-use-in-production")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])

INSTALLED_APPS = [
    "airlock",
    "devices",
    "reviews",
    "notifications",
    "teams",
    "calls",
    "observers",
    "ledger",
    "documents",
    "findings",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "django_fsm",
    "django_celery_beat",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the application (a container has no separate web server):
    # compressed, with far-future caching for the hashed names collectstatic writes.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A request id for every log line of this request and of the tasks it sends.
    "airlock.logs.RequestContextMiddleware",
    "csp.middleware.CSPMiddleware",
    "airlock.middleware.PermissionsPolicyMiddleware",
    # Before anything reads the session cookie, the form or the path: a NUL is a 400 here.
    "airlock.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Counts API requests per address before authentication, so wrong tokens count too.
    "airlock.api_limits.ApiAddressLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: a timed-out session says why on the sign-in page.
    "airlock.middleware.SessionTimeoutMiddleware",
    "airlock.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a refused sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "airlock.urls"
WSGI_APPLICATION = "airlock.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

# PostgreSQL connections: either Django's native pool (DATABASE_POOL=on; psycopg_pool, one pool
# per process, DATABASE_POOL_MIN_SIZE to DATABASE_POOL_MAX_SIZE connections), or persistent
# connections of DATABASE_CONN_MAX_AGE seconds. Behind pgbouncer in transaction mode set
# DATABASE_PGBOUNCER=on: server-side cursors off (a cursor cannot outlive the transaction
# pgbouncer lends a server for) and no pool of our own. docs/DEPLOYMENT.md says more.
DATABASE_POOL = env_bool("DATABASE_POOL", False)
DATABASE_PGBOUNCER = env_bool("DATABASE_PGBOUNCER", False)


def _database(url: str) -> dict:
    config = dj_database_url.parse(
        url,
        conn_max_age=0 if DATABASE_POOL else env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=not DATABASE_POOL,
    )
    if config["ENGINE"] != "django.db.backends.postgresql":
        return config
    if DATABASE_POOL and DATABASE_PGBOUNCER:
        raise ImproperlyConfigured(
            "DATABASE_POOL and DATABASE_PGBOUNCER are alternatives: pgbouncer is the pool."
        )
    if DATABASE_POOL:
        config.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN_SIZE", 2),
            "max_size": env_int("DATABASE_POOL_MAX_SIZE", 10),
            # A request waits this long for a free connection before failing.
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
        }
    if DATABASE_PGBOUNCER:
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
    return config


DATABASES = {
    "default": _database(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'airlock.sqlite3'}")
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web server read while the Celery worker writes; the timeout
    # waits out a writer instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# Read-only reporting (the programme dashboard, the queue's CSV export) can go to a replica:
# it may lag the primary by a few seconds, which a report can take and a form never could.
# Everything else reads and writes the primary. Tests treat the replica as the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = _database(DATABASE_REPLICA_URL) | {"TEST": {"MIRROR": "default"}}
REPORTING_DATABASE = "replica" if DATABASE_REPLICA_URL else "default"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "airlock.User"
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out sign-in is refused before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, with the permissions and role read in one query.
    "airlock.backends.RoleBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A session ends at the first of: the browser closing, SESSION_IDLE_MINUTES without a request,
# SESSION_COOKIE_AGE after signing in (the last two kept by airlock.middleware).
# Sessions live in the database, not cached_db: a session deleted at sign-out while Redis was
# unreachable would come back from the cache once Redis returned.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_MINUTES", 60) * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# django-axes: five wrong passwords for one email address from one IP address pause sign-in
# for that pair for 15 minutes (by pair, so a stranger cannot lock a colleague out from
# elsewhere). Attempts during the pause do not extend it, so "15 minutes" stays true.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# Our sign-in form names the email field `username` (Django's AuthenticationForm).
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "airlock.accounts.lockout_username"
AXES_LOCKOUT_CALLABLE = "airlock.accounts.locked_out"
# Without django-ipware axes keys on REMOTE_ADDR; behind a proxy that is the proxy's address,
# which makes the pause per email address: stricter, and impossible to dodge with a forged
# X-Forwarded-For header.

# Two-factor sign-in (TOTP) for reviewers, lead reviewers and administrators.
AIRLOCK_REQUIRE_2FA = env_bool("AIRLOCK_REQUIRE_2FA", default=PRODUCTION)
OTP_TOTP_ISSUER = "Airlock"
# Setting up an authenticator needs a one-time link sent to the person's email address (a
# password alone must not enrol a second factor); the link works for this many hours.
TWO_FACTOR_ENROLMENT_HOURS = env_int("TWO_FACTOR_ENROLMENT_HOURS", 24)
# How long an invitation to join an organisation's team works (teams/services.py).
TEAM_INVITATION_DAYS = env_int("TEAM_INVITATION_DAYS", 7)
# Registering (teams/signup.py): how long the email confirmation link works, and how many
# sign-ups (and requests to join) one IP address may send an hour.
SIGNUP_LINK_HOURS = env_int("SIGNUP_LINK_HOURS", 24)
SIGNUPS_PER_HOUR = env_int("SIGNUPS_PER_HOUR", 10)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles")))
if not PRODUCTION:
    # WhiteNoise serves what collectstatic put here (the Containerfile does); in development
    # runserver serves static files itself, and an empty folder keeps WhiteNoise quiet.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

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

CRISPY_ALLOWED_TEMPLATE_PACKS = ("govuk",)
CRISPY_TEMPLATE_PACK = "govuk"

REDIS_URL = os.environ.get("REDIS_URL", "")
# How long the web side waits for Redis (cache and task sending) before counting it as down.
# Redis answers in well under a millisecond; a Redis that accepts connections and never
# answers then costs a request this much once, after which the circuit breaker
# (airlock.breaker) leaves Redis alone for REDIS_BREAKER_SECONDS.
REDIS_TIMEOUT_SECONDS = env_float("REDIS_TIMEOUT_SECONDS", 0.25)
REDIS_BREAKER_SECONDS = env_float("REDIS_BREAKER_SECONDS", 30)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "airlock.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
# Where Django's file-based email backend writes (the multi-node test reads every node's mail).
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
# The port `make run` serves on (runall), and so the one links in development emails use.
PORT = env_int("PORT", 8000)
# Absolute links in emails point here: set it to the address people use in production.
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
# A case nobody is assigned to yet is emailed to this shared mailbox of the reviewers' team,
# if set; otherwise to every lead reviewer. (Everyone still sees it in their notifications.)
REVIEW_TEAM_EMAIL = env_str("REVIEW_TEAM_EMAIL", "")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Airlock <no-reply@airlock.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery. With no REDIS_URL the broker is kombu's filesystem transport: it needs
# no server, so `make run` works on a bare machine (the web, worker and beat
# processes share the folder).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(env_str("CELERY_FILESYSTEM_DIR", str(BASE_DIR / "var" / "broker")))
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # The worker's (and beat's) connection. The web side sends tasks over connections of its
    # own with REDIS_TIMEOUT_SECONDS instead (airlock.queue); the worker's long-polling needs
    # these longer ones. max_retries=0 stops kombu retrying the connection for seconds before
    # a publish gives up (the worker reconnects on its own terms: broker_connection_retry).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "max_retries": 0,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker child that has grown past this (KiB) is replaced after its task: a catch-up sweep
# can briefly take a few hundred MB, which the child would otherwise keep for good.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 200_000)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 180)
CELERY_TIMEZONE = TIME_ZONE
# Queues by kind of work, so a slow partner or a heavy report never delays the email a person
# is waiting for. A worker started without -Q takes every queue (`make run`); in production
# each kind gets its own workers (docs/DEPLOYMENT.md). Services send tasks by name
# (airlock.queue), so routing is by name here, never at the call.
CELERY_TASK_DEFAULT_QUEUE = "interactive"
CELERY_TASK_QUEUES = {
    # Emails and evaluations that follow a person's click: seconds matter.
    "interactive": {},
    # Scheduled sweeps and repair jobs: minutes are fine, and they must not crowd the above.
    "sweeps": {},
    # Webhooks to partner regulators: a slow or dead partner waits here, alone.
    "partners": {},
    # Long reads and digests.
    "reports": {},
    # Drawing PDFs (decision documents, exit reports, programme reports): a second or more of
    # CPU each, kept away from emails and sweeps.
    "documents": {},
}
CELERY_TASK_ROUTES = {
    "notifications.tasks.send_notification_emails": {"queue": "interactive"},
    "reviews.tasks.evaluate_checkpoint_report": {"queue": "interactive"},
    "reviews.tasks.deliver_alert": {"queue": "partners"},
    "reviews.tasks.deliver_receipt": {"queue": "partners"},
    "reviews.tasks.retry_pending_deliveries": {"queue": "partners"},
    "reviews.tasks.send_reviewer_digest": {"queue": "reports"},
    "reviews.tasks.sweep_*": {"queue": "sweeps"},
    "notifications.tasks.send_pending_notification_emails": {"queue": "sweeps"},
    "reviews.tasks.evaluate_pending_reports": {"queue": "sweeps"},
    "devices.tasks.repair_state_counts": {"queue": "sweeps"},
    # A long read of every audit row: beside the digests, away from interactive work.
    "ledger.tasks.verify_audit_chain": {"queue": "reports"},
    "documents.tasks.*": {"queue": "documents"},
    "findings.tasks.*": {"queue": "documents"},
}
# Beat reads its schedule from the database (django-celery-beat): the entries declared in
# airlock/celery.py are synced there at start-up, and administrators can see and pause them.
# Only one beat schedules at a time, however many are started: the others stand by until the
# holder of the scheduler lock dies (airlock/beat.py).
CELERY_BEAT_SCHEDULER = "airlock.beat:SingleBeatScheduler"
# Save each job's last run at once, so a beat taking over knows what already ran.
CELERY_BEAT_SYNC_EVERY = 1
# The scheduler lock: "postgresql" (an advisory lock, released the moment its holder's
# connection dies), "redis" (a key that expires BEAT_LOCK_TTL seconds after its holder stops
# renewing it), "file" (one machine; the embedded default), or "auto": PostgreSQL when the
# database is PostgreSQL (and not behind pgbouncer), else Redis when REDIS_URL is set, else file.
BEAT_LOCK = env_str("BEAT_LOCK", "auto")
if BEAT_LOCK == "auto":
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not DATABASE_PGBOUNCER:
        BEAT_LOCK = "postgresql"
    else:
        BEAT_LOCK = "redis" if REDIS_URL else "file"
if BEAT_LOCK not in {"postgresql", "redis", "file"}:
    raise ImproperlyConfigured(
        f"BEAT_LOCK must be auto, postgresql, redis or file, not {BEAT_LOCK!r}."
    )
if BEAT_LOCK == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("BEAT_LOCK=redis needs REDIS_URL.")
BEAT_LOCK_TTL = env_int("BEAT_LOCK_TTL", 30)
BEAT_LOCK_FILE = Path(env_str("BEAT_LOCK_FILE", str(BASE_DIR / "var" / "beat.lock")))
# /healthz/ready/ fails when no worker has run the heartbeat job, or beat has not scheduled it,
# for longer than this (beat sends it every minute).
READY_HEARTBEAT_MAX_AGE = env_int("READY_HEARTBEAT_MAX_AGE", 300)

# The API: manufacturer systems authenticate with a DRF token; partner regulators with their
# own bearer token (reviews.api.PartnerTokenAuthentication) on the alert endpoints only.
REST_FRAMEWORK = {
    # Organisations' own API keys (teams/api_keys.py) first: they share the Token scheme and
    # answer only for keys starting "ak_", leaving account tokens to DRF's.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "teams.api_keys.ApiKeyAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "teams.api_keys.KeyScope",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Size and depth limits before parsing, no NaN or Infinity, no NUL (airlock.json_parsing).
    "DEFAULT_PARSER_CLASSES": ["airlock.json_parsing.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "airlock.api_limits.CappedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    # Per token here; per address (wrong tokens included) in ApiAddressLimitMiddleware.
    "DEFAULT_THROTTLE_CLASSES": ["airlock.api_limits.TokenRateThrottle"],
    # How many proxies in front of us add themselves to X-Forwarded-For: 0 reads the
    # client's address from the connection itself, so a forged header changes nothing.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}
# What one API caller may ask for (airlock/api_limits.py, airlock/json_parsing.py).
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 100)
API_TOKEN_REQUESTS_PER_MINUTE = env_int("API_TOKEN_REQUESTS_PER_MINUTE", 120)
API_ADDRESS_REQUESTS_PER_MINUTE = env_int("API_ADDRESS_REQUESTS_PER_MINUTE", 300)
API_ADDRESS_FAILED_AUTHS_PER_HOUR = env_int("API_ADDRESS_FAILED_AUTHS_PER_HOUR", 20)
# The public document verification page (documents/views.py), per address: enough for anyone
# checking a handful of documents, too few to probe for fingerprints.
VERIFY_REQUESTS_PER_MINUTE = env_int("VERIFY_REQUESTS_PER_MINUTE", 20)
# What a cohort's programme report (findings/programme.py, its page and its PDF) leaves out,
# field by field, because the report is meant to be published. Unset: everything that names a
# manufacturer, a device or a person, and the words of each safety signal, are left out; case
# references, outcomes, times, clocks, signal counts and the findings themselves are shown.
PROGRAMME_REPORT_FIELDS = {
    "organisation": "Organisation names",
    "device": "Device names",
    "case_reference": "Case references",
    "signal_detail": "Safety signals' titles",
    "finding_source": "The evidence or checkpoint each finding came from",
    "people": "Who recorded each finding",
}
PROGRAMME_REPORT_CONFIDENTIAL = env_list(
    "PROGRAMME_REPORT_CONFIDENTIAL",
    ["organisation", "device", "signal_detail", "finding_source", "people"],
)
if set(PROGRAMME_REPORT_CONFIDENTIAL) - set(PROGRAMME_REPORT_FIELDS):
    raise ImproperlyConfigured(
        "PROGRAMME_REPORT_CONFIDENTIAL names fields the report does not have: "
        f"{sorted(set(PROGRAMME_REPORT_CONFIDENTIAL) - set(PROGRAMME_REPORT_FIELDS))}; "
        f"choose from {sorted(PROGRAMME_REPORT_FIELDS)}."
    )
# The service's Ed25519 key for signing case bundles: a 32-byte seed as 64 hex characters
# (`python3 -c "import secrets; print(secrets.token_hex(32))"`). Unset: derived from SECRET_KEY
# (ledger/signing.py). Its public half is published at /bundles/public-key/.
BUNDLE_SIGNING_KEY = env_str("BUNDLE_SIGNING_KEY", "")
if BUNDLE_SIGNING_KEY and not re.fullmatch(r"[0-9a-fA-F]{64}", BUNDLE_SIGNING_KEY):
    raise ImproperlyConfigured("BUNDLE_SIGNING_KEY must be 64 hexadecimal characters.")
# Largest PDF the verification page hashes.
VERIFY_MAX_UPLOAD_BYTES = env_int("VERIFY_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
# A checkpoint report or an alert is a few kilobytes and a few levels deep.
API_MAX_JSON_BYTES = env_int("API_MAX_JSON_KB", 256) * 1024
API_MAX_JSON_DEPTH = env_int("API_MAX_JSON_DEPTH", 20)
# What one checkpoint sweep may create (reviews/monitoring/checkpoints.py): a month of daily
# checkpoints for one case, and comfortably more than a 20-week catch-up over 100k cases
# (250,000). Whatever a plan's dates, a run stays bounded; what it held back it reports.
CHECKPOINT_SWEEP_MAX_PER_CASE = env_int("CHECKPOINT_SWEEP_MAX_PER_CASE", 31)
CHECKPOINT_SWEEP_MAX_PER_RUN = env_int("CHECKPOINT_SWEEP_MAX_PER_RUN", 500_000)
# Partner regulators' webhooks (airlock/outbound.py): https only in production; a webhook's
# host must resolve to public addresses, except in the networks listed here (a development
# receiver on this machine, e.g. 127.0.0.1/32).
PARTNER_WEBHOOK_ALLOW_HTTP = env_bool("PARTNER_WEBHOOK_ALLOW_HTTP", default=not PRODUCTION)
PARTNER_WEBHOOK_ALLOWED_NETWORKS = env_list("PARTNER_WEBHOOK_ALLOWED_NETWORKS", [])
_LOOPBACK = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
if PRODUCTION and any(
    allowed.version == loopback.version and allowed.overlaps(loopback)
    for allowed in (ipaddress.ip_network(n, strict=False) for n in PARTNER_WEBHOOK_ALLOWED_NETWORKS)
    for loopback in _LOOPBACK
):
    # Loopback partners exist for the two-node test and `make network` only: in production a
    # partner's inbox on this machine would reach our own services.
    raise ImproperlyConfigured(
        "PARTNER_WEBHOOK_ALLOWED_NETWORKS may not include loopback addresses in production."
    )
# The regulators' network (reviews/network/, docs/NETWORK.md): who we are in the alerts we
# send, how long an old signing secret keeps working after a rotation, and how long a
# partner has to acknowledge a high or critical alert before the dashboard flags it.
NETWORK_ISSUER_NAME = env_str("NETWORK_ISSUER_NAME", "Airlock")
NETWORK_ISSUER_COUNTRY = env_str("NETWORK_ISSUER_COUNTRY", "GB")
PARTNER_SECRET_OVERLAP_HOURS = env_int("PARTNER_SECRET_OVERLAP_HOURS", 72)
PARTNER_ACK_HOURS = env_int("PARTNER_ACK_HOURS", 24)
# The OpenAPI schema and Swagger UI describe every endpoint: public only when this says so
# (on in development), otherwise for signed-in people and API tokens.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", default=not PRODUCTION)
SPECTACULAR_SETTINGS = {
    "TITLE": "Airlock API",
    "DESCRIPTION": (
        "Manufacturer systems push checkpoint reports and read their applications; partner "
        "regulators read shared safety alerts and push their own."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Logs: one JSON object a line in production (LOG_FORMAT=json), so a platform's log search can
# follow one case across web and worker: time, level, logger, message, request_id, user_id,
# case (reference) and task_id (airlock/logs.py). Plain text in development.
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "plain")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}.")
# One line per request (method, path, status, duration) on the airlock.requests logger.
LOG_REQUESTS = env_bool("LOG_REQUESTS", PRODUCTION)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "airlock.logs.ContextFilter"},
        "client_errors": {"()": "airlock.logs.ClientErrorsWithoutTraceback"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "airlock.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler would print every record a second time (it also
        # reaches the root handler); the root handler alone writes them.
        "django": {"handlers": [], "level": env_str("LOG_LEVEL", "INFO"), "propagate": True},
        "django.request": {"filters": ["client_errors"], "propagate": True},
        "django.security": {"filters": ["client_errors"], "propagate": True},
        # WeasyPrint logs each step of every PDF at INFO; its warnings (a missing font, a
        # refused URL) are what matter.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
# Celery's workers log through the same handlers (and so in JSON) instead of their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "plain"

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The platform's probes speak plain HTTP to the container, inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): everything from our own origin, and no inline script
# or style anywhere, so injected markup cannot run or restyle anything. Templates keep to
# it: scripts in static/js, styles in static/css, data through data-* or json_script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Bootstrap draws its form and navbar icons as data: SVGs.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}
