"""What a checkpoint report shows beyond its thresholds: subgroups left out or far apart
(GMLP principle 3), and a metric sliding across checkpoints before it crosses a threshold.

Each finding becomes a safety signal of its own source (equity, drift), one per report,
metric and source, raised by checkpoint evaluation (reviews.monitoring.reports).
"""

from dataclasses import dataclass
from decimal import Decimal

from devices.models import CheckpointReport
from reviews.judging import figure_of, judge
from reviews.models import Comparator, MetricThreshold, SignalSeverity, SignalSource, TestingPlan
from reviews.statistics import Slide, downward_slide


@dataclass(frozen=True)
class TrendFinding:
    source: str
    metric: str
    severity: str
    title: str
    description: str
    observed: Decimal | None = None


def required_subgroups(plan: TestingPlan) -> list[str]:
    return [line.strip() for line in plan.required_subgroups.splitlines() if line.strip()]


def equity_findings(
    plan: TestingPlan, thresholds: list[MetricThreshold], report: CheckpointReport, where: str
) -> list[TrendFinding]:
    """Required subgroups missing from the report; per metric, a gap between the best and
    worst subgroup beyond the plan's limit. Subgroups too small to judge are left out of the
    gap: their figures are noise, and they say so on the report already."""
    findings = []
    reported = {str(name).strip().lower() for name in report.subgroup_metrics}
    missing = [name for name in required_subgroups(plan) if name.lower() not in reported]
    if missing:
        findings.append(
            TrendFinding(
                SignalSource.EQUITY,
                "",
                SignalSeverity.LOW,
                f"Required subgroups missing ({where})",
                "The plan requires figures for these subgroups, and the report gives none: "
                + "; ".join(missing)
                + ".",
            )
        )
    limit = plan.equity_gap_limit
    if limit is None:
        return findings
    counts = report.subgroup_counts if isinstance(report.subgroup_counts, dict) else {}
    for threshold in thresholds:
        figures = {}
        for name, metrics in report.subgroup_metrics.items():
            result = judge(
                threshold,
                *figure_of(metrics, counts.get(name, {}), threshold.metric),
                plan.min_sample,
            )
            if result.observed is not None and not result.too_small:
                figures[name] = result.observed
        if len(figures) < 2:
            continue
        ranked = sorted(figures.items(), key=lambda item: item[1])
        if threshold.comparator == Comparator.AT_MOST:
            ranked.reverse()
        (worst, low), (best, high) = ranked[0], ranked[-1]
        gap = abs(high - low)
        if gap > limit:
            label = threshold.get_metric_display()
            findings.append(
                TrendFinding(
                    SignalSource.EQUITY,
                    threshold.metric,
                    SignalSeverity.MEDIUM,
                    f"{label} differs by {gap.normalize()} between subgroups ({where})",
                    f"{label}: best subgroup {best} {high}, worst {worst} {low}; a gap of "
                    f"{gap.normalize()}, beyond the plan's limit of {limit.normalize()} — "
                    "whether or not each subgroup meets the threshold.",
                    gap,
                )
            )
    return findings


def metric_slide(
    values: list[Decimal], comparator: str, slack: Decimal, limit: Decimal
) -> Slide | None:
    """A slide away from the first figure in the direction the threshold guards against
    (down for a minimum, up for a maximum), by the plan's CUSUM settings."""
    if len(values) < 2:
        return None
    sign = -1 if comparator == Comparator.AT_MOST else 1
    series = [sign * float(value) for value in values]
    return downward_slide(series, target=series[0], slack=float(slack), limit=float(limit))


def drift_findings(
    plan: TestingPlan, thresholds: list[MetricThreshold], report: CheckpointReport, where: str
) -> list[TrendFinding]:
    """A metric whose CUSUM first passes the plan's limit at this report: an early warning,
    raised once per slide, whatever the threshold says yet. One query for the case's
    earlier reports."""
    checkpoint = report.checkpoint
    history = list(
        CheckpointReport.objects.filter(
            checkpoint__application_id=checkpoint.application_id,
            checkpoint__sequence__lte=checkpoint.sequence,
            # Testing and each monitoring plan are series of their own: real-world figures
            # are compared with the first real-world figure, not with the sandbox's.
            checkpoint__monitoring_plan_id=checkpoint.monitoring_plan_id,
        )
        .order_by("checkpoint__sequence")
        .values_list("checkpoint__sequence", "metrics")
    )
    findings = []
    for threshold in thresholds:
        points = [
            (sequence, figure_of(metrics, {}, threshold.metric)[0]) for sequence, metrics in history
        ]
        points = [(sequence, value) for sequence, value in points if value is not None]
        if not points or points[-1][0] != checkpoint.sequence:
            continue
        slide = metric_slide(
            [value for _, value in points], threshold.comparator, plan.drift_slack, plan.drift_limit
        )
        if slide is None or slide.alarm_index != len(points) - 1:
            continue
        label = threshold.get_metric_display()
        figures = ", ".join(f"{value}" for _, value in points)
        started = points[slide.started_after][0] if slide.started_after >= 0 else points[0][0]
        findings.append(
            TrendFinding(
                SignalSource.DRIFT,
                threshold.metric,
                SignalSeverity.MEDIUM,
                f"{label} is sliding: early warning ({where})",
                f"{label} across checkpoints: {figures}. The CUSUM of its shortfall from the "
                f"first figure ({points[0][1]}) reached {slide.shortfall:.3f}, beyond the "
                f"plan's limit of {plan.drift_limit.normalize()}; the slide began after "
                f"checkpoint {started}. The threshold is "
                f"{threshold.get_comparator_display()} {threshold.value.normalize()}.",
                points[-1][1],
            )
        )
    return findings
