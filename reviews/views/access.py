"""Who may open the review workspace, and the shared steps of its views."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest
from django.urls import reverse

from devices.models import Application, ApplicationState
from devices.selectors import application_get

REVIEW_PERMISSION = "airlock.access_review_workspace"
LEAD_PERMISSION = "airlock.lead_review"


def reviewer_required(view: Callable) -> Callable:
    """Signed-in reviewers only: others are sent to sign in, or refused with a 403."""
    return login_required(permission_required(REVIEW_PERMISSION, raise_exception=True)(view))


def lead_required(view: Callable) -> Callable:
    return login_required(
        permission_required([REVIEW_PERMISSION, LEAD_PERMISSION], raise_exception=True)(view)
    )


def case_get(request: HttpRequest, pk: int) -> Application:
    """The case, if this reviewer may see it. A conflicted reviewer gets a 404, as if it did
    not exist; so does everyone for a draft, which is still the manufacturer's own."""
    application = application_get(request.user, pk)
    if application.state == ApplicationState.DRAFT:
        raise Http404("No such application.")
    return application


def expected_state(request: HttpRequest) -> str | None:
    """The state the page showed when the person pressed the button (see TransitionRefused)."""
    return request.POST.get("expected_state") or None


def refused(request: HttpRequest, error: Exception) -> None:
    messages.error(request, str(error))


def case_url(application: Application, anchor: str = "") -> str:
    return reverse("reviews:application", args=[application.pk]) + anchor
