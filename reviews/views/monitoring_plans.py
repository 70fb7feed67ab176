"""Post-clearance monitoring of a cleared device: the lead reviewer sets up the plan and may
end it early; every reviewer of the case sees it with its checkpoints' figures."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from devices.models import Application, ApplicationState
from devices.services import TransitionRefused
from devices.testing_forms import add_service_errors
from postclearance.forms import EndMonitoringForm, MonitoringPlanForm
from postclearance.models import MonitoringPlan, MonitoringStatus
from postclearance.selectors import monitoring_plans_of, running_plan
from postclearance.services import lead_refusal, monitoring_plan_end, monitoring_plan_set_up
from reviews.plan_forms import ThresholdFormSet, threshold_initial
from reviews.safety import checkpoint_figures
from reviews.selectors import testing_plan_of
from reviews.views.access import case_get, refused, reviewer_required


def _render(request: HttpRequest, application: Application, *, form=None, formset=None):
    plans = monitoring_plans_of(application)
    current = running_plan(plans)
    may_set_up = (
        application.state == ApplicationState.CLEARED
        and current is None
        and lead_refusal(application, request.user) is None
    )
    if may_set_up and form is None:
        # The testing plan's terms are the natural start for real-world monitoring.
        testing = testing_plan_of(application)
        today = timezone.localdate()
        form = MonitoringPlanForm(
            initial={
                "starts_on": today,
                "ends_on": today + timedelta(days=365),
                "required_subgroups": testing.required_subgroups if testing else "",
                "equity_gap_limit": testing.equity_gap_limit if testing else None,
                "min_sample": testing.min_sample if testing else None,
            }
        )
        formset = ThresholdFormSet(
            initial=threshold_initial(testing.thresholds.all()) if testing else [],
            prefix="thresholds",
        )
    sections = [
        {
            "plan": plan,
            "thresholds": list(plan.thresholds.all()),
            "rows": checkpoint_figures(
                application,
                list(plan.thresholds.all()),
                plan.min_sample,
                monitoring_plan_id=plan.pk,
            ),
        }
        for plan in plans
    ]
    return render(
        request,
        "reviews/monitoring_plan.html",
        {
            "application": application,
            "sections": sections,
            "current": current,
            "may_set_up": may_set_up,
            "may_end": current is not None and lead_refusal(application, request.user) is None,
            "form": form,
            "formset": formset,
        },
    )


@reviewer_required
@require_http_methods(["GET", "POST"])
def monitoring_plan(request: HttpRequest, pk: int) -> HttpResponse:
    application = case_get(request, pk)
    if request.method == "GET":
        return _render(request, application)
    form = MonitoringPlanForm(request.POST)
    formset = ThresholdFormSet(request.POST, prefix="thresholds")
    if form.is_valid() and formset.is_valid():
        try:
            plan = monitoring_plan_set_up(
                actor=request.user, application_id=application.pk, terms=form.terms(formset)
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except (TransitionRefused, PermissionError) as error:
            refused(request, error)
            return redirect("reviews:monitoring-plan", pk=application.pk)
        else:
            messages.success(
                request,
                f"{application.reference} is under post-clearance monitoring until "
                f"{plan.ends_on:%-d %B %Y}. The manufacturer has been told; checkpoints appear "
                "two weeks before each falls due.",
            )
            return redirect("reviews:monitoring-plan", pk=application.pk)
    return _render(request, application, form=form, formset=formset)


@reviewer_required
@require_http_methods(["GET", "POST"])
def monitoring_plan_end_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Ending monitoring early: a page that says what will happen, then the reason."""
    application = case_get(request, pk)
    plan = get_object_or_404(
        MonitoringPlan, application=application, status=MonitoringStatus.ACTIVE
    )
    form = EndMonitoringForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            monitoring_plan_end(
                actor=request.user, plan_id=plan.pk, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except (TransitionRefused, PermissionError) as error:
            refused(request, error)
            return redirect("reviews:monitoring-plan", pk=application.pk)
        else:
            messages.success(request, "Post-clearance monitoring has ended. Both sides were told.")
            return redirect("reviews:monitoring-plan", pk=application.pk)
    return render(
        request,
        "reviews/monitoring_plan_end.html",
        {"application": application, "plan": plan, "form": form},
    )
