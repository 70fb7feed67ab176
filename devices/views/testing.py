"""The manufacturer's side of controlled testing: checkpoints, checkpoint reports, incidents."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from devices.model_versions import current_model_version
from devices.models import INCIDENT_REPORT_DAYS, ApplicationState, CheckpointReport
from devices.selectors import application_get
from devices.services import TransitionRefused
from devices.testing_forms import CheckpointReportForm, IncidentReportForm, add_service_errors
from devices.views.access import refuse_viewers
from postclearance.models import MonitoringStatus
from postclearance.selectors import monitoring_plans_of
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    PlanVersion,
    SignalSource,
    TestingPlan,
)
from reviews.monitoring import incidents, reports
from reviews.safety import checkpoint_figures

manufacturer_required = permission_required("devices.act_for_organisation", raise_exception=True)


@login_required
@manufacturer_required
@require_http_methods(["GET"])
def testing(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything the manufacturer does during testing: the plan's thresholds, each checkpoint
    with its report or a link to submit it, and the incidents reported."""
    application = application_get(request.user, pk)
    plan = (
        TestingPlan.objects.filter(application=application, agreed_at__isnull=False)
        .prefetch_related("thresholds")
        .first()
    )
    thresholds = list(plan.thresholds.all()) if plan else []
    return render(
        request,
        "devices/testing.html",
        {
            "application": application,
            "plan": plan,
            "thresholds": thresholds,
            # Each checkpoint with its figures, overall and per subgroup, against the plan:
            # a breach shows as one, whatever else the report says.
            "rows": checkpoint_figures(application, thresholds, plan.min_sample if plan else 0),
            "incidents": application.incidents.select_related("reported_by"),
            "can_report": application.state in reports.REPORTING_STATES,
            "monitoring": _monitoring_sections(application),
            # During testing and evidence review, and after clearance under a running
            # monitoring plan: the service's own rule, so the page offers what it takes.
            "can_report_incident": not incidents.incident_refusal(application),
            "plan_waiting": PlanVersion.objects.filter(
                application=application, reviewer_agreed_at__isnull=False
            )
            .open()
            .exists(),
            # Why testing stopped, so the manufacturer need not dig through the timeline.
            "suspension": (
                application.events.filter(to_state=ApplicationState.SUSPENDED).last()
                if application.state == ApplicationState.SUSPENDED
                else None
            ),
        },
    )


def _monitoring_sections(application) -> list[dict]:
    """Each post-clearance monitoring plan, newest first, with its checkpoints judged by its
    own terms; reports are taken until a plan is ended early."""
    return [
        {
            "plan": plan,
            "thresholds": list(plan.thresholds.all()),
            "rows": checkpoint_figures(
                application,
                list(plan.thresholds.all()),
                plan.min_sample,
                monitoring_plan_id=plan.pk,
            ),
            "can_report": plan.status != MonitoringStatus.ENDED_EARLY,
        }
        for plan in monitoring_plans_of(application)
    ]


@login_required
@manufacturer_required
@require_http_methods(["GET", "POST"])
def checkpoint_report(request: HttpRequest, pk: int, sequence: int) -> HttpResponse:
    refuse_viewers(request)
    application = application_get(request.user, pk)
    checkpoint = Checkpoint.objects.filter(application=application, sequence=sequence).first()
    if checkpoint is None:
        raise Http404("No such checkpoint.")
    if checkpoint.status == CheckpointStatus.SUBMITTED:
        messages.info(request, f"Checkpoint {sequence} has been reported already.")
        return redirect("devices:testing", pk=application.pk)
    # The plan this checkpoint is judged against: testing, or post-clearance monitoring.
    required = [threshold.metric for threshold in reports.plan_for_checkpoint(checkpoint)[1]]
    form = CheckpointReportForm(
        request.POST if request.method == "POST" else None,
        required_metrics=required,
        model_versions=[
            current_model_version(application.device).label,
            *application.device.model_versions.order_by("-recorded_at", "-pk").values_list(
                "label", flat=True
            )[1:],
        ],
    )
    if request.method == "POST" and form.is_valid():
        try:
            reports.checkpoint_report_submit(
                actor=request.user,
                checkpoint_id=checkpoint.pk,
                cases_processed=form.cleaned_data["cases_processed"],
                metrics=form.metrics(),
                subgroup_metrics=form.cleaned_data["subgroup_figures"],
                incidents_count=form.cleaned_data["incidents_count"],
                narrative=form.cleaned_data["narrative"],
                model_version=form.cleaned_data["model_version"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except (TransitionRefused, PermissionError) as exc:
            messages.error(request, str(exc))
            return redirect("devices:testing", pk=application.pk)
        else:
            _report_outcome(request, application, sequence)
            return redirect("devices:testing", pk=application.pk)
    return render(
        request,
        "devices/checkpoint_report_form.html",
        {"application": application, "checkpoint": checkpoint, "form": form},
    )


def _breach_words(signal) -> str:
    """ "sensitivity 0.78 (critical)", or "sensitivity in a subgroup (medium)"."""
    metric = signal.get_metric_display().lower()
    severity = signal.get_severity_display().lower()
    if signal.severity == "medium" or signal.observed_value is None:
        return f"{metric} in a subgroup ({severity})"
    return f"{metric} {signal.observed_value.normalize()} ({severity})"


def _report_outcome(request: HttpRequest, application, sequence: int) -> None:
    """Say what the figures showed: they were checked against the plan as the report was
    saved, so a breach, and a suspension it caused, are known now."""
    application.refresh_from_db(fields=["state"])
    report = CheckpointReport.objects.get(
        checkpoint__application=application, checkpoint__sequence=sequence
    )
    signals = list(report.signals.order_by("metric"))
    breached = [s for s in signals if s.source == SignalSource.CHECKPOINT_BREACH]
    # Equity and drift findings are told as such: neither is a breach of a threshold.
    for signal in signals:
        if signal not in breached:
            messages.warning(request, f"{signal.get_source_display()}: {signal.title}.")
    if report.evaluated_at is None:
        messages.success(
            request,
            f"Checkpoint {sequence} report submitted. Your reviewer can see it now; the figures "
            "are being checked against the agreed thresholds.",
        )
        return
    too_small = reports.too_small_to_judge(report)
    if not breached and too_small:
        messages.warning(
            request,
            f"Checkpoint {sequence} report submitted. No figure breaches the agreed thresholds, "
            f"but some are too small to judge — {'; '.join(too_small)}. Your reviewer can see "
            "it now.",
        )
        return
    if not breached:
        messages.success(
            request,
            f"Checkpoint {sequence} report submitted. Every figure meets the agreed thresholds; "
            "your reviewer can see it now.",
        )
        return
    what = "; ".join(_breach_words(signal) for signal in breached)
    if application.state == ApplicationState.SUSPENDED:
        messages.error(
            request,
            f"Checkpoint {sequence} report submitted. It breaches the agreed thresholds: "
            f"{what}. Testing is suspended; your reviewer has been told and will say what is "
            "needed to resume.",
        )
    else:
        messages.warning(
            request,
            f"Checkpoint {sequence} report submitted. It breaches the agreed thresholds: "
            f"{what}. Your reviewer has been told.",
        )


@login_required
@manufacturer_required
@require_http_methods(["GET", "POST"])
def incident_report(request: HttpRequest, pk: int) -> HttpResponse:
    refuse_viewers(request)
    application = application_get(request.user, pk)
    refusal = incidents.incident_refusal(application)
    if refusal:
        # Say where the report goes instead, before anyone fills in a form for nothing.
        messages.error(request, refusal)
        return redirect("devices:testing", pk=application.pk)
    form = IncidentReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            incident = incidents.incident_report_submit(
                actor=request.user,
                application_id=application.pk,
                **{name: form.cleaned_data[name] for name in form.Meta.fields},
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except (TransitionRefused, PermissionError) as exc:
            messages.error(request, str(exc))
            return redirect("devices:testing", pk=application.pk)
        else:
            if incident.reported_late:
                messages.warning(
                    request,
                    "Incident reported. It was due by "
                    f"{incident.report_due_on:%-d %B %Y}: the record shows it arrived late.",
                )
            else:
                messages.success(request, "Incident reported. Your reviewer has been told.")
            return redirect("devices:testing", pk=application.pk)
    return render(
        request,
        "devices/incident_report_form.html",
        {
            "application": application,
            "form": form,
            "deadlines": [
                (severity.label, days) for severity, days in INCIDENT_REPORT_DAYS.items()
            ],
        },
    )
