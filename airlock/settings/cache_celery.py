"""Redis (the cache), Celery (broker, queues, routes, limits), beat's scheduler lock and the
readiness check."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from airlock.settings.base import TIME_ZONE
from airlock.settings.database import DATABASE_PGBOUNCER, DATABASES
from airlock.settings.env import BASE_DIR, env_float, env_int, env_str

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

# Celery. With no REDIS_URL the broker is kombu's filesystem transport: it needs
# no server, so `make run` works on a bare machine (the web, worker and beat
# processes share the folder). The URL names a host, which the transport ignores, because
# without one kombu logs "No hostname was supplied" for every connection: some sixty lines
# while `make run` loads the demo data.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://localhost/")
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
    # The checkpoint sweep's emails (a catch-up owes thousands), sent from its outbox: rendering
    # and SMTP wait here, neither inside the sweep nor ahead of a person's own email.
    "emails": {},
}
CELERY_TASK_ROUTES = {
    "notifications.tasks.send_notification_emails": {"queue": "interactive"},
    "reviews.tasks.evaluate_checkpoint_report": {"queue": "interactive"},
    "reviews.tasks.deliver_alert": {"queue": "partners"},
    "reviews.tasks.deliver_receipt": {"queue": "partners"},
    "reviews.tasks.retry_pending_deliveries": {"queue": "partners"},
    "reviews.tasks.send_reviewer_digest": {"queue": "reports"},
    "reviews.tasks.sweep_*": {"queue": "sweeps"},
    "reviews.tasks.send_checkpoint_emails": {"queue": "emails"},
    "reviews.tasks.send_pending_checkpoint_emails": {"queue": "emails"},
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
