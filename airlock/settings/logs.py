"""Logging: JSON lines in production, plain text in development."""

from django.core.exceptions import ImproperlyConfigured

from airlock.settings.env import PRODUCTION, env_bool, env_str

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
