"""Completing controlled testing, on a page of its own that says what it does and, when it is
early, makes the reviewer say why and confirm it."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from devices.models import Application, ApplicationState
from devices.services import TransitionRefused, application_transition, refusal_reason, warnings
from reviews.forms import CompleteTestingForm
from reviews.safety import safety_record
from reviews.selectors import testing_plan_of
from reviews.views.access import case_get, case_url, expected_state, refused, reviewer_required


def _render(request: HttpRequest, application: Application, form: CompleteTestingForm):
    return render(
        request,
        "reviews/complete_testing.html",
        {
            "application": application,
            "form": form,
            "plan": testing_plan_of(application),
            "safety": safety_record(application),
            "refusal": refusal_reason(application, "complete_testing", request.user),
        },
    )


@reviewer_required
@require_http_methods(["GET", "POST"])
def complete_testing(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    shortfalls = (
        warnings(application, "complete_testing")
        if application.state == ApplicationState.IN_CONTROLLED_TESTING
        else []
    )
    if request.method == "GET":
        return _render(request, application, CompleteTestingForm(shortfalls=shortfalls))
    form = CompleteTestingForm(request.POST, shortfalls=shortfalls)
    if not form.is_valid():
        return _render(request, application, form)
    try:
        application_transition(
            application_id=application.pk,
            action="complete_testing",
            actor=request.user,
            reason=form.cleaned_data["reason"],
            confirmed=form.cleaned_data.get("confirm", False),
            expected_state=expected_state(request),
        )
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
        return redirect("reviews:complete-testing", pk=application.pk)
    application.refresh_from_db()
    messages.success(
        request,
        f"{application} is now {application.state_enum.in_words}. The evidence review clock "
        "has started.",
    )
    return redirect(case_url(application))
