"""The manufacturer's side of the testing plan: every version, and the one waiting for their
agreement, which they agree or return with comments."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from devices.models import Application
from devices.selectors import application_get
from devices.services import TransitionRefused
from devices.testing_forms import add_service_errors
from devices.views.access import manufacturer_required
from reviews.models import PlanVersionStatus, TestingPlan
from reviews.plan_forms import AgreePlanForm, ReturnPlanForm
from reviews.plan_terms import Terms, open_version, plan_changes, plan_history
from reviews.plans import plan_version_agree, plan_version_return


def _render(
    request: HttpRequest,
    application: Application,
    *,
    agree_form: AgreePlanForm | None = None,
    return_form: ReturnPlanForm | None = None,
) -> HttpResponse:
    in_force = (
        TestingPlan.objects.filter(application=application).prefetch_related("thresholds").first()
    )
    version = open_version(application)
    waiting = version is not None and version.reviewer_agreed_at is not None
    shown = {}
    if waiting:
        shown = {
            "number": version.number,
            "revision": version.revision,
            "expected_state": application.state,
        }
    context = {
        "application": application,
        "page_title": "Testing plan",
        "plan": in_force,
        "waiting": version if waiting else None,
        "changes": (
            plan_changes(Terms.of(in_force), Terms.of(version)) if waiting and in_force else []
        ),
        "history": [
            row for row in plan_history(application) if row.status != PlanVersionStatus.DRAFT
        ],
        "agree_form": agree_form or AgreePlanForm(initial=shown),
        "return_form": return_form or ReturnPlanForm(initial=shown),
    }
    return render(request, "devices/testing_plan.html", context)


@require_GET
@manufacturer_required
def testing_plan(request: HttpRequest, pk: int) -> HttpResponse:
    return _render(request, application_get(request.user, pk))


@require_POST
@manufacturer_required
def plan_agree(request: HttpRequest, pk: int) -> HttpResponse:
    application = application_get(request.user, pk)
    form = AgreePlanForm(request.POST)
    if not form.is_valid():
        return _render(request, application, agree_form=form)
    try:
        version = plan_version_agree(
            application_id=application.pk,
            actor=request.user,
            number=form.cleaned_data["number"],
            revision=form.cleaned_data["revision"],
            expected_state=form.cleaned_data["expected_state"],
        )
    except (TransitionRefused, PermissionError) as error:
        messages.error(request, str(error))
        return redirect("devices:testing-plan", pk=application.pk)
    what = "The testing plan" if version.number == 1 else f"Amendment {version.number - 1}"
    messages.success(
        request, f"{what} is agreed and in force from now. The regulator has been told."
    )
    return redirect("devices:testing-plan", pk=application.pk)


@require_POST
@manufacturer_required
def plan_return(request: HttpRequest, pk: int) -> HttpResponse:
    application = application_get(request.user, pk)
    form = ReturnPlanForm(request.POST)
    if not form.is_valid():
        return _render(request, application, return_form=form)
    try:
        plan_version_return(
            application_id=application.pk,
            actor=request.user,
            number=form.cleaned_data["number"],
            revision=form.cleaned_data["revision"],
            comments=form.cleaned_data["comments"],
            expected_state=form.cleaned_data["expected_state"],
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return _render(request, application, return_form=form)
    except (TransitionRefused, PermissionError) as error:
        messages.error(request, str(error))
        return redirect("devices:testing-plan", pk=application.pk)
    messages.success(
        request,
        "Returned with your comments. The regulator has been told; the plan comes back to you "
        "when they have revised it.",
    )
    return redirect("devices:testing-plan", pk=application.pk)
