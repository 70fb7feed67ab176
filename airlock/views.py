import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from airlock import storage
from airlock.models import Heartbeat
from airlock.queue import broker_reachable
from airlock.roles import Role
from devices.models import ApplicationState
from devices.selectors import STATE_EXPLANATIONS, transition_table

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("healthz: database check failed")
        return False
    return True


def _broker_ok() -> bool:
    # One quick attempt with short timeouts, skipped while the broker has lately not been
    # answering: a health check must answer fast, not wait out a hung Redis.
    return broker_reachable()


# require_safe: GET and HEAD, because uptime monitors ask with HEAD.
@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": "ok" if _database_ok() else "unavailable",
        "broker": "ok" if _broker_ok() else "unavailable",
    }
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)


def _heartbeats() -> dict[str, str]:
    """For beat and a worker on each queue: "ok", how long ago it was last heard from, or
    "never"."""
    names = ["beat", *(f"worker:{queue}" for queue in settings.CELERY_TASK_QUEUES)]
    try:
        seen = dict(Heartbeat.objects.filter(name__in=names).values_list("name", "at"))
    except DatabaseError:
        logger.exception("healthz: heartbeats unreadable")
        return dict.fromkeys(names, "unknown")
    now = timezone.now()
    limit = timedelta(seconds=settings.READY_HEARTBEAT_MAX_AGE)
    checks = {}
    for name in names:
        at = seen.get(name)
        if at is None:
            checks[name] = "never"
        elif now - at > limit:
            checks[name] = f"stale ({int((now - at).total_seconds())} s ago)"
        else:
            checks[name] = "ok"
    return checks


@require_safe
@never_cache
def healthz_ready(request: HttpRequest) -> JsonResponse:
    """Readiness, for a platform's probes and alerts: what /healthz/ checks, plus the private
    object store, that beat holds the scheduler lock and ran lately, and that a worker served
    each queue lately. Each is named; any one failing answers 503."""
    problem = storage.check()
    checks = {
        "database": "ok" if _database_ok() else "unavailable",
        "broker": "ok" if _broker_ok() else "unavailable",
        "storage": "ok" if problem is None else f"unavailable ({problem})",
        **_heartbeats(),
    }
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {}
    if user.has_perm("airlock.access_review_workspace") and not user.is_superuser:
        return redirect("reviews:home")
    if user.role == Role.OBSERVER:
        return redirect("observers:home")
    if user.is_manufacturer:
        membership = getattr(user, "membership", None)
        if membership is not None:
            return redirect("devices:home")
        context["organisation"] = None
    return render(request, "airlock/home.html", context)


@require_safe
def help_page(request: HttpRequest) -> HttpResponse:
    """How the sandbox works: the stages in plain words, the state diagram and every
    transition, all read from the state machine so the page cannot drift from the code."""
    return render(
        request,
        "airlock/help.html",
        {
            "states": [(state, STATE_EXPLANATIONS[state]) for state in ApplicationState],
            "transitions": transition_table(),
        },
    )


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says; send them to the real icon."""
    return redirect(static("favicon.svg"), permanent=True)
