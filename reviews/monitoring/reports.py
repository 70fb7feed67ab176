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
from devices.model_versions import model_version_named
from devices.models import (
    ApplicationState,
    CheckpointReport,
    contributor_refusal,
    may_contribute,
)
from devices.services import TransitionRefused, lock_application, transition_locked
from postclearance.models import MonitoringPlan, MonitoringStatus
from reviews.judging import COUNT_METRICS, Verdict, counts_clean, figure_of, judge, proportion
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    Comparator,
    JudgedOn,
    Metric,
    MetricThreshold,
    SafetySignal,
    SignalSeverity,
    SignalSource,
    TestingPlan,
)
from reviews.monitoring import SWEEP_BATCH, SWEEP_GRACE, TESTING
from reviews.monitoring.signals import signal_notify
from reviews.monitoring.trends import drift_findings, equity_findings

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


@dataclass(frozen=True)
class CleanFigures:
    """Reported figures, checked: proportions (computed from counts where counts were given)
    and the counts behind them, overall and per subgroup, all JSON-ready."""

    metrics: dict[str, float]
    counts: dict[str, list[int]]
    subgroup_metrics: dict[str, dict[str, float]]
    subgroup_counts: dict[str, dict[str, list[int]]]


def _figure_clean(metric: object, value: object) -> tuple[float, list[int] | None] | str:
    """One reported figure: a number, or counts {"successes", "trials"}, or a proportion with
    its denominator {"value", "trials"}. Returns (proportion, counts or None) or why not."""
    if metric not in Metric.values:
        return f"“{metric}” is not a metric Airlock records."
    if isinstance(value, Mapping):
        counts = counts_clean(metric, value)
        if isinstance(counts, str):
            return counts
        return proportion(counts), list(counts)
    error = metric_value_error(metric, value)
    return error if error else (float(value), None)


def report_figures_clean(
    *, metrics: Mapping, subgroup_metrics: Mapping, required: Iterable[str]
) -> CleanFigures:
    """Check reported figures; return them clean or raise a ValidationError keyed by field
    ("metrics", "subgroup_metrics")."""
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
    clean = CleanFigures({}, {}, {}, {})
    for metric, value in metrics.items():
        figure = _figure_clean(metric, value)
        if isinstance(figure, str):
            errors["metrics"].append(figure)
            continue
        clean.metrics[metric] = figure[0]
        if figure[1]:
            clean.counts[metric] = figure[1]
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
            figure = _figure_clean(metric, value)
            if isinstance(figure, str):
                errors["subgroup_metrics"].append(f"{name}: {figure}")
                continue
            clean.subgroup_metrics.setdefault(name, {})[metric] = figure[0]
            if figure[1]:
                clean.subgroup_counts.setdefault(name, {})[metric] = figure[1]
    if errors:
        raise ValidationError(dict(errors))
    return clean


def checkpoint_report_submit(
    *,
    actor: User,
    checkpoint_id: int,
    cases_processed: int,
    metrics: Mapping,
    subgroup_metrics: Mapping | None = None,
    incidents_count: int = 0,
    narrative: str = "",
    model_version: str = "",
) -> CheckpointReport:
    """Record the manufacturer's figures for one of their checkpoints and evaluate them.

    Steps: lock the checkpoint; check it belongs to the actor's organisation, is not reported
    yet and the case is in (or suspended from) testing — or the checkpoint is one of a
    post-clearance monitoring plan not ended early; check the figures; save the report and
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
        if checkpoint.monitoring_plan_id is not None:
            monitoring = checkpoint.monitoring_plan
            if monitoring.status == MonitoringStatus.ENDED_EARLY:
                raise TransitionRefused(
                    "Post-clearance monitoring of this device was ended on "
                    f"{monitoring.ended_at:%-d %B %Y}: its checkpoints take no more reports."
                )
        elif application.state not in REPORTING_STATES:
            raise TransitionRefused(
                "Checkpoint reports are taken during controlled testing; this application is "
                f"{application.state_enum.in_words}."
            )
        _, thresholds = plan_for_checkpoint(checkpoint)
        required = [threshold.metric for threshold in thresholds]
        figures = report_figures_clean(
            metrics=metrics, subgroup_metrics=subgroup_metrics or {}, required=required
        )
        version = model_version_named(application.device, model_version)
        report = CheckpointReport.objects.create(
            checkpoint=checkpoint,
            submitted_by=actor,
            cases_processed=cases_processed,
            metrics=figures.metrics,
            counts=figures.counts,
            subgroup_metrics=figures.subgroup_metrics,
            subgroup_counts=figures.subgroup_counts,
            model_version=version,
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


def plan_for_checkpoint(checkpoint: Checkpoint) -> tuple[object | None, list]:
    """The plan a checkpoint is reported and judged against, with its thresholds: its
    post-clearance monitoring plan if it has one, else the case's testing plan in force.
    Both carry the same terms (minimum sample, subgroups, equity and drift settings)."""
    if checkpoint.monitoring_plan_id is not None:
        plan = MonitoringPlan.objects.get(pk=checkpoint.monitoring_plan_id)
    else:
        plan = TestingPlan.objects.filter(application_id=checkpoint.application_id).first()
    return plan, list(plan.thresholds.all()) if plan else []


@dataclass(frozen=True)
class Finding:
    severity: str
    title: str
    description: str
    observed: Decimal | None


def _figure_words(judgement) -> str:
    interval = judgement.interval
    if interval is None:
        return f"{judgement.observed}"
    return (
        f"{judgement.observed} ({interval.successes} of {interval.trials}; 95% CI "
        f"{interval.lower:.3f} to {interval.upper:.3f})"
    )


def _assess(
    threshold: MetricThreshold, report: CheckpointReport, min_sample: int
) -> Finding | None:
    """Compare one metric of a report, overall and per subgroup, with its agreed threshold.
    A figure too small to judge is neither a pass nor a breach (the record says so)."""
    label = threshold.get_metric_display()
    rule = f"{threshold.get_comparator_display()} {threshold.value.normalize()}"
    if threshold.judged_on == JudgedOn.INTERVAL and threshold.metric in COUNT_METRICS:
        bound = "lower" if threshold.comparator == Comparator.AT_LEAST else "upper"
        rule += f" (the {bound} bound of the 95% confidence interval)"
    checkpoint = report.checkpoint
    where = f"{checkpoint.application.reference}, checkpoint {checkpoint.sequence}"
    lines = []
    severity = None
    overall = judge(
        threshold, *figure_of(report.metrics, report.counts, threshold.metric), min_sample
    )
    if overall.verdict in (Verdict.BREACH, Verdict.CRITICAL):
        severity = SignalSeverity.HIGH
        lines.append(
            f"Overall {label.lower()} was {_figure_words(overall)}; the plan requires {rule}."
        )
        if overall.critical:
            severity = SignalSeverity.CRITICAL
            lines.append(
                f"That is beyond the critical limit of {threshold.critical_value.normalize()}."
            )
    subgroup_lines = []
    subgroup_counts = report.subgroup_counts if isinstance(report.subgroup_counts, dict) else {}
    for subgroup, figures in sorted(report.subgroup_metrics.items()):
        result = judge(
            threshold,
            *figure_of(figures, subgroup_counts.get(subgroup, {}), threshold.metric),
            min_sample,
        )
        if result.verdict in (Verdict.BREACH, Verdict.CRITICAL):
            subgroup_lines.append(f"{subgroup}: {_figure_words(result)}")
    if subgroup_lines:
        severity = severity or SignalSeverity.MEDIUM
        lines.append(f"Subgroups below the requirement ({rule}): " + "; ".join(subgroup_lines))
    if severity is None:
        return None
    if severity != SignalSeverity.MEDIUM:
        title = f"{label} {overall.observed} breaches its threshold ({where})"
    else:
        title = f"{label} breaches its threshold in a subgroup ({where})"
    return Finding(severity, title, "\n".join(lines), overall.observed)


def too_small_to_judge(report: CheckpointReport) -> list[str]:
    """The metrics of a report too small to judge overall, in words ("sensitivity: 12 cases,
    fewer than the plan's minimum of 50"), so no one reads silence as a pass."""
    plan, thresholds = plan_for_checkpoint(report.checkpoint)
    words = []
    for threshold in thresholds:
        figure = figure_of(report.metrics, report.counts, threshold.metric)
        judgement = judge(threshold, *figure, plan.min_sample)
        if judgement.too_small:
            words.append(f"{threshold.get_metric_display().lower()}: {judgement.why}")
    return words


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
        plan, thresholds = plan_for_checkpoint(report.checkpoint)
        created_signals = []
        critical_reasons = []
        for threshold in thresholds:
            finding = _assess(threshold, report, plan.min_sample)
            if finding is None:
                continue
            signal, created = SafetySignal.objects.get_or_create(
                checkpoint_report=report,
                metric=threshold.metric,
                source=SignalSource.CHECKPOINT_BREACH,
                defaults={
                    "application": application,
                    "observed_value": finding.observed,
                    "severity": finding.severity,
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
        if plan is not None:
            where = f"{application.reference}, checkpoint {report.checkpoint.sequence}"
            for trend in [
                *equity_findings(plan, thresholds, report, where),
                *drift_findings(plan, thresholds, report, where),
            ]:
                signal, created = SafetySignal.objects.get_or_create(
                    checkpoint_report=report,
                    metric=trend.metric,
                    source=trend.source,
                    defaults={
                        "application": application,
                        "observed_value": trend.observed,
                        "severity": trend.severity,
                        "title": trend.title[:200],
                        "description": trend.description,
                    },
                )
                if created:
                    created_signals.append(signal)
        report.evaluated_at = timezone.now()
        report.save(update_fields=["evaluated_at"])
        # A monitoring plan suspends nothing: a cleared device has no testing to suspend, and
        # its critical signal goes to the regulator (and, shared, to the partners).
        if critical_reasons and isinstance(plan, TestingPlan) and plan.suspend_on_critical_breach:
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
