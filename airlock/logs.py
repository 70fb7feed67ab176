"""Structured logs that follow one case across web and worker.

Every log record carries the request id, the signed-in user's id, the case reference and the
Celery task id of the work it belongs to (ContextFilter); in production JsonFormatter writes
each record as one JSON object a line. The values live in context variables:

- RequestContextMiddleware sets the request id (the proxy's X-Request-ID when it is a sane
  token, else a new one, echoed in the response) and the user id;
- `bind_case(reference)` is called where a case is loaded for a person (devices.selectors) or
  locked for a change (devices.services), so the lines after it name the case;
- a task sent while handling a request carries the request id and case in its message headers
  (`before_task_publish`), and the worker restores them, with the task id, while it runs.
"""

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from celery import signals
from django.conf import settings
from django.http import HttpRequest, HttpResponse

request_id: ContextVar[str] = ContextVar("request_id", default="")
user_id: ContextVar[str] = ContextVar("user_id", default="")
case: ContextVar[str] = ContextVar("case", default="")
task_id: ContextVar[str] = ContextVar("task_id", default="")

FIELDS = {"request_id": request_id, "user_id": user_id, "case": case, "task_id": task_id}
# What a proxy's request id may look like; anything else is replaced, never logged.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
HEADER_PREFIX = "airlock_"
requests_logger = logging.getLogger("airlock.requests")


def bind_case(reference: str) -> None:
    case.set(reference)


class ContextFilter(logging.Filter):
    """Adds request_id, user_id, case and task_id to every record (empty when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, variable in FIELDS.items():
            if not hasattr(record, name):
                setattr(record, name, variable.get())
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, "")
            if value:
                entry[name] = value
        for name in ("method", "path", "status", "duration_ms"):
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RequestContextMiddleware:
    """Gives each request an id for its log lines (and its tasks'), and logs its outcome."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        tokens = [
            request_id.set(given if SANE_REQUEST_ID.match(given) else uuid.uuid4().hex),
            user_id.set(""),
            case.set(""),
        ]
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id.get()
            if settings.LOG_REQUESTS:
                requests_logger.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    },
                )
            return response
        finally:
            for variable, token in zip((request_id, user_id, case), tokens, strict=True):
                variable.reset(token)

    def process_view(self, request: HttpRequest, *args) -> None:
        # By now the session middleware has run: the user can be read (and is, by the view).
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            user_id.set(str(user.pk))


@signals.before_task_publish.connect
def _carry_context(headers: dict | None = None, **kwargs) -> None:
    """A task sent while handling a request carries its request id, user and case."""
    if headers is None:
        return
    for name in ("request_id", "user_id", "case"):
        value = FIELDS[name].get()
        if value:
            headers.setdefault(HEADER_PREFIX + name, value)


@signals.task_prerun.connect
def _enter_task(task_id: str | None = None, task=None, **kwargs) -> None:
    request = getattr(task, "request", None)
    # A worker puts a message's headers on the request itself; an eager apply() keeps them
    # in request.headers.
    headers = getattr(request, "headers", None) or {}
    FIELDS["task_id"].set(task_id or "")
    for name in ("request_id", "user_id", "case"):
        key = HEADER_PREFIX + name
        FIELDS[name].set(str(getattr(request, key, None) or headers.get(key) or ""))


@signals.task_postrun.connect
def _leave_task(**kwargs) -> None:
    for variable in FIELDS.values():
        variable.set("")
