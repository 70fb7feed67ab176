"""Checkpoint reports: the manufacturer's figures, checked and evaluated against the plan."""

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from airlock.models import User
from airlock.queue import enqueue_on_commit
from devices.models import (
    ApplicationState,
    CheckpointReport,
    contributor_refusal,
    may_contribute,
)
from devices.services import TransitionRefused, lock_application, transition_locked
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    Comparator,
    Metric,
    MetricThreshold,
    SafetySignal,
    SignalSeverity,
    SignalSource,
    TestingPlan,
)
from reviews.monitoring import SWEEP_BATCH, SWEEP_GRACE, TESTING
from reviews.monitoring.signals import signal_notify

logger = logging.getLogger(__name__)

# Metric values are proportions, except the calibration slope (ideal 1.0, can exceed it).
METRIC_RANGES = {Metric.CALIBRATION_SLOPE: (Decimal("0"), Decimal("10"))}
PROPORTION = (Decimal("0"), Decimal("1"))
# States in which the device is, or has just been, in use in the sandbox.
REPORTING_STATES = {TESTING, ApplicationState.SUSPENDED}


def metric_range_message(metric: str) -> str:
    """Why a figure is out of range, saying what the figure is ("Ensure this value is less than
    or equal to 1" says neither)."""
    label = Metric(metric).label
    low, high = METRIC_RANGES.get(metric, PROPORTION)
    if (low, high) == PROPORTION:
        return f"{label} is a proportion between 0 and 1, such as 0.92."
    return f"{label} is a figure between {low} and {high}, such as 1.02."


def metric_value_error(metric: str, value: object) -> str | None:
    """Why `value` cannot be a figure for `metric`, in words; None if it can."""
    if metric not in Metric.values:
        return f"“{metric}” is not a metric Airlock records."
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return f"{Metric(metric).label} must be a number."
    if isinstance(value, bool) or not number.is_finite():
        return f"{Metric(metric).label} must be a number."
    low, high = METRIC_RANGES.get(metric, PROPORTION)
    if not low <= number <= high:
        return metric_range_message(metric)
    return None


def report_figures_clean(
    *, metrics: Mapping, subgroup_metrics: Mapping, required: Iterable[str]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Check reported figures; return them as JSON-ready numbers or raise a ValidationError
    keyed by field ("metrics", "subgroup_metrics")."""
    errors: dict[str, list[str]] = defaultdict(list)
    if not isinstance(metrics, Mapping):
        raise ValidationError({"metrics": "Give the metrics as names and values."})
    if not isinstance(subgroup_metrics, Mapping):
        raise ValidationError({"subgroup_metrics": "Give subgroup figures per subgroup."})
    for metric in required:
        if metric not in metrics:
            errors["metrics"].append(
                f"{Metric(metric).label} is required: the testing plan sets a threshold for it."
            )
    clean = {}
    for metric, value in metrics.items():
        error = metric_value_error(metric, value)
        if error:
            errors["metrics"].append(error)
        else:
            clean[metric] = float(value)
    clean_subgroups: dict[str, dict[str, float]] = {}
    for subgroup, figures in subgroup_metrics.items():
        name = str(subgroup).strip()
        # Printable: a NUL byte in a JSON key is refused by PostgreSQL's jsonb (a 500 otherwise).
        if not name or len(name) > 100 or not name.isprintable():
            errors["subgroup_metrics"].append(
                "Each subgroup needs a name of up to 100 printable characters."
            )
            continue
        if not isinstance(figures, Mapping) or not figures:
            errors["subgroup_metrics"].append(f"Give at least one metric for “{name}”.")
            continue
        for metric, value in figures.items():
            error = metric_value_error(metric, value)
            if error:
                errors["subgroup_metrics"].append(f"{name}: {error}")
            else:
                clean_subgroups.setdefault(name, {})[metric] = float(value)
    if errors:
        raise ValidationError(dict(errors))
    return clean, clean_subgroups


def checkpoint_report_submit(
    *,
    actor: User,
    checkpoint_id: int,
    cases_processed: int,
    metrics: Mapping,
    subgroup_metrics: Mapping | None = None,
    incidents_count: int = 0,
    narrative: str = "",
) -> CheckpointReport:
    """Record the manufacturer's figures for one of their checkpoints and evaluate them.

    Steps: lock the checkpoint; check it belongs to the actor's organisation, is not reported
    yet and the case is in (or suspended from) testing; check the figures; save the report and
    mark the checkpoint submitted, queueing the evaluation task; commit; then evaluate at once,
    so the person who reported sees any breach (and a suspension it caused) on the page they
    land on. The report is committed first: if evaluating fails, nothing they sent is lost, and
    the queued task (or, with the broker down, the evaluation sweep) evaluates it later.
    """
    with transaction.atomic():
        checkpoint = (
            Checkpoint.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(pk=checkpoint_id)
        )
        application = checkpoint.application
        if not may_contribute(actor, application.organisation_id):
            raise PermissionError(contributor_refusal(actor, application.organisation))
        if checkpoint.status == CheckpointStatus.SUBMITTED or hasattr(checkpoint, "report"):
            raise TransitionRefused(
                f"Checkpoint {checkpoint.sequence} has been reported already; a report cannot "
                "be replaced. Send a message to your reviewer to correct it."
            )
        if application.state not in REPORTING_STATES:
            raise TransitionRefused(
                "Checkpoint reports are taken during controlled testing; this application is "
                f"{application.state_enum.in_words}."
            )
        required = MetricThreshold.objects.filter(plan__application=application).values_list(
            "metric", flat=True
        )
        clean_metrics, clean_subgroups = report_figures_clean(
            metrics=metrics, subgroup_metrics=subgroup_metrics or {}, required=required
        )
        report = CheckpointReport.objects.create(
            checkpoint=checkpoint,
            submitted_by=actor,
            cases_processed=cases_processed,
            metrics=clean_metrics,
            subgroup_metrics=clean_subgroups,
            incidents_count=incidents_count,
            narrative=narrative.strip(),
        )
        checkpoint.status = CheckpointStatus.SUBMITTED
        checkpoint.save(update_fields=["status"])

        enqueue_on_commit("reviews.tasks.evaluate_checkpoint_report", report.pk)
    try:
        checkpoint_report_evaluate(report_id=report.pk)
    except Exception:
        # The task queued above and the evaluation sweep are there for exactly this.
        logger.exception("checkpoint report %s: evaluation left for the task", report.pk)
    return report


def breaches(comparator: str, limit: Decimal, value: Decimal) -> bool:
    return value < limit if comparator == Comparator.AT_LEAST else value > limit


@dataclass(frozen=True)
class Finding:
    severity: str
    title: str
    description: str
    observed: Decimal | None


def _assess(threshold: MetricThreshold, report: CheckpointReport) -> Finding | None:
    """Compare one metric of a report, overall and per subgroup, with its agreed threshold."""
    label = threshold.get_metric_display()
    rule = f"{threshold.get_comparator_display()} {threshold.value.normalize()}"
    checkpoint = report.checkpoint
    where = f"{checkpoint.application.reference}, checkpoint {checkpoint.sequence}"
    lines = []
    observed = None
    severity = None
    if threshold.metric in report.metrics:
        observed = Decimal(str(report.metrics[threshold.metric]))
        if breaches(threshold.comparator, threshold.value, observed):
            severity = SignalSeverity.HIGH
            lines.append(f"Overall {label.lower()} was {observed}; the plan requires {rule}.")
            critical = threshold.critical_value
            if critical is not None and breaches(threshold.comparator, critical, observed):
                severity = SignalSeverity.CRITICAL
                lines.append(f"That is beyond the critical limit of {critical.normalize()}.")
    subgroup_lines = []
    for subgroup, figures in sorted(report.subgroup_metrics.items()):
        if threshold.metric in figures:
            value = Decimal(str(figures[threshold.metric]))
            if breaches(threshold.comparator, threshold.value, value):
                subgroup_lines.append(f"{subgroup}: {value}")
    if subgroup_lines:
        severity = severity or SignalSeverity.MEDIUM
        lines.append(f"Subgroups below the requirement ({rule}): " + "; ".join(subgroup_lines))
    if severity is None:
        return None
    if observed is not None and severity != SignalSeverity.MEDIUM:
        title = f"{label} {observed} breaches its threshold ({where})"
    else:
        title = f"{label} breaches its threshold in a subgroup ({where})"
    return Finding(severity, title, "\n".join(lines), observed)


def checkpoint_report_evaluate(*, report_id: int) -> list[SafetySignal]:
    """Compare a report with the plan's thresholds, once.

    Steps: lock the report; stop if it was evaluated already (the task can be delivered twice);
    raise one signal per breached metric (unique per report and metric); stamp evaluated_at;
    on a critical breach, suspend testing automatically when the plan says so and the case is
    still in testing; tell the reviewer about new signals after commit. Returns new signals.
    """
    with transaction.atomic():
        report = (
            CheckpointReport.objects.select_for_update(of=("self",))
            .select_related("checkpoint__application__device")
            .get(pk=report_id)
        )
        if report.evaluated_at is not None:
            return []
        application = report.checkpoint.application
        plan = TestingPlan.objects.filter(application=application).first()
        thresholds = list(plan.thresholds.all()) if plan else []
        created_signals = []
        critical_reasons = []
        for threshold in thresholds:
            finding = _assess(threshold, report)
            if finding is None:
                continue
            signal, created = SafetySignal.objects.get_or_create(
                checkpoint_report=report,
                metric=threshold.metric,
                defaults={
                    "application": application,
                    "observed_value": finding.observed,
                    "severity": finding.severity,
                    "source": SignalSource.CHECKPOINT_BREACH,
                    "title": finding.title[:200],
                    "description": finding.description,
                },
            )
            if created:
                created_signals.append(signal)
            if signal.severity == SignalSeverity.CRITICAL:
                critical_reasons.append(
                    f"{threshold.get_metric_display()} {finding.observed} passed the critical "
                    f"limit of {threshold.critical_value.normalize()}"
                )
        report.evaluated_at = timezone.now()
        report.save(update_fields=["evaluated_at"])
        if critical_reasons and plan.suspend_on_critical_breach:
            locked = lock_application(application.pk)
            if locked.state == TESTING:
                application = locked
                transition_locked(
                    locked,
                    action="suspend",
                    actor=None,
                    reason=(
                        f"Suspended automatically at checkpoint {report.checkpoint.sequence}: "
                        + "; ".join(critical_reasons)
                        + ". The testing plan suspends testing on a critical breach."
                    ),
                )

        for signal in created_signals:
            signal.application = application
            signal_notify(signal)
    return created_signals


def pending_reports_evaluate() -> int:
    """Sweep: evaluate reports whose on-commit task never ran (broker down, lost message)."""
    cutoff = timezone.now() - SWEEP_GRACE
    pending = CheckpointReport.objects.filter(
        evaluated_at__isnull=True, submitted_at__lt=cutoff
    ).values_list("pk", flat=True)
    return sum(len(checkpoint_report_evaluate(report_id=pk)) for pk in list(pending[:SWEEP_BATCH]))
