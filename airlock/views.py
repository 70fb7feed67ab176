import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from airlock.queue import broker_reachable
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


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": "ok" if _database_ok() else "unavailable",
        "broker": "ok" if _broker_ok() else "unavailable",
    }
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {}
    if user.has_perm("airlock.access_review_workspace") and not user.is_superuser:
        return redirect("reviews:home")
    if user.is_manufacturer:
        membership = getattr(user, "membership", None)
        if membership is not None:
            return redirect("devices:home")
        context["organisation"] = None
    return render(request, "airlock/home.html", context)


@require_GET
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
