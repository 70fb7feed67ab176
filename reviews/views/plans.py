"""The testing plan: drafted and agreed by reviewers before controlled testing begins."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from devices.models import ApplicationState
from devices.services import TransitionRefused, refusal_reason
from reviews.forms import TestingPlanForm, ThresholdFormSet, decimal_text, plan_details
from reviews.models import TestingPlan
from reviews.selectors import testing_plan_of
from reviews.services import PLAN_EDITABLE_STATES, testing_plan_agree, testing_plan_save
from reviews.views.access import case_get, case_url, expected_state, refused, reviewer_required

S = ApplicationState


@reviewer_required
@require_http_methods(["GET", "POST"])
def testing_plan(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    plan = testing_plan_of(application)
    if plan is None:
        # Start from what the manufacturer asked for.
        instance = TestingPlan(
            application=application,
            environment=application.sandbox_environment,
            nhs_sites=application.nhs_sites,
        )
        initial_thresholds = []
    else:
        instance = plan
        initial_thresholds = [
            {
                "metric": t.metric,
                "comparator": t.comparator,
                "value": decimal_text(t.value),
                "critical_value": decimal_text(t.critical_value),
            }
            for t in plan.thresholds.all()
        ]
    data = request.POST if request.method == "POST" else None
    form = TestingPlanForm(data, instance=instance)
    # A bound formset gets no initial rows: a posted row that matches the saved threshold
    # must still count as a row, not as an untouched spare.
    formset = ThresholdFormSet(
        data, initial=None if data else initial_thresholds, prefix="thresholds"
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        was_agreed = plan is not None and plan.agreed_at is not None
        try:
            saved = testing_plan_save(
                application_id=application.pk,
                actor=request.user,
                details=plan_details(form, formset),
                expected_state=expected_state(request),
            )
        except (TransitionRefused, PermissionError) as error:
            refused(request, error)
            return redirect("reviews:testing-plan", pk=application.pk)
        if saved.agreed_at is None and was_agreed:
            messages.warning(request, "Plan saved. It changed, so it needs agreeing again.")
        else:
            messages.success(request, "Testing plan saved.")
        return redirect("reviews:testing-plan", pk=application.pk)
    context = {
        "application": application,
        "plan": plan,
        "form": form,
        "formset": formset,
        "editable": application.state in PLAN_EDITABLE_STATES,
        "may_agree": application.state == S.ACCEPTED and plan is not None and not plan.agreed_at,
        "begin_refusal": refusal_reason(application, "begin_testing", request.user),
    }
    return render(request, "reviews/testing_plan.html", context)


@reviewer_required
@require_POST
def agree(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    try:
        testing_plan_agree(
            application_id=application.pk,
            actor=request.user,
            expected_state=expected_state(request),
        )
    except (TransitionRefused, PermissionError) as error:
        refused(request, error)
        return redirect("reviews:testing-plan", pk=application.pk)
    messages.success(request, "Testing plan agreed. Controlled testing can begin.")
    return redirect(case_url(application))
