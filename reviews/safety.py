"""The safety record of a case: everything a decision must be taken in sight of.

The decision page, the countersign page and the exit report all show it before anyone acts:
every safety signal (open and closed, its severity and resolution), every threshold breach
evaluation found, each checkpoint report's figures, overall and per subgroup, against the
plan's thresholds, the serious incidents, and the checkpoints missed or reported late. A fixed
number of queries, however long the case ran.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from devices.models import Application, CheckpointReport, IncidentReport
from reviews.judging import Judgement, figure_of, judge
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    MetricThreshold,
    SafetySignal,
    SignalSource,
)
from reviews.statistics import Interval


@dataclass(frozen=True)
class MetricResult:
    threshold: MetricThreshold
    judgement: Judgement

    @property
    def observed(self) -> Decimal | None:
        return self.judgement.observed

    @property
    def interval(self) -> Interval | None:
        return self.judgement.interval

    @property
    def met(self) -> bool | None:
        return self.judgement.met

    @property
    def critical(self) -> bool:
        return self.judgement.critical

    @property
    def too_small(self) -> bool:
        return self.judgement.too_small


@dataclass(frozen=True)
class SubgroupFigures:
    name: str
    metrics: list[MetricResult]


@dataclass(frozen=True)
class CheckpointFigures:
    checkpoint: Checkpoint
    report: CheckpointReport | None
    metrics: list[MetricResult]
    subgroups: list[SubgroupFigures]

    @property
    def missed(self) -> bool:
        return self.report is None and self.checkpoint.status == CheckpointStatus.OVERDUE

    @property
    def late(self) -> bool:
        if self.report is None:
            return False
        return timezone.localtime(self.report.submitted_at).date() > self.checkpoint.due_on

    @property
    def critical(self) -> bool:
        return any(result.critical for result in self.metrics)

    @property
    def breached(self) -> bool:
        figures = [*self.metrics, *(m for group in self.subgroups for m in group.metrics)]
        return any(result.met is False for result in figures)


@dataclass(frozen=True)
class SafetyRecord:
    signals: list[SafetySignal]
    thresholds: list[MetricThreshold]
    checkpoints: list[CheckpointFigures]
    incidents: list[IncidentReport]

    @property
    def open_signals(self) -> list[SafetySignal]:
        return [signal for signal in self.signals if signal.is_open]

    @property
    def breaches(self) -> list[SafetySignal]:
        return [s for s in self.signals if s.source == SignalSource.CHECKPOINT_BREACH]

    @property
    def missed(self) -> list[CheckpointFigures]:
        return [row for row in self.checkpoints if row.missed]

    @property
    def late(self) -> list[CheckpointFigures]:
        return [row for row in self.checkpoints if row.late]

    @property
    def missed_or_late(self) -> list[CheckpointFigures]:
        return [row for row in self.checkpoints if row.missed or row.late]


def checkpoint_figures(
    application: Application,
    thresholds: list,
    min_sample: int = 0,
    *,
    monitoring_plan_id: int | None = None,
) -> list[CheckpointFigures]:
    """Each checkpoint with its report's figures, overall and per subgroup, against
    `thresholds` and the minimum sample of the plan in force: the testing checkpoints, or
    those of one post-clearance monitoring plan (each judged by its own plan's terms)."""

    def results(metrics, counts) -> list[MetricResult]:
        return [
            MetricResult(t, judge(t, *figure_of(metrics, counts, t.metric), min_sample))
            for t in thresholds
        ]

    rows = []
    for checkpoint in (
        Checkpoint.objects.filter(application=application, monitoring_plan_id=monitoring_plan_id)
        .select_related("report")
        .order_by("sequence")
    ):
        report = getattr(checkpoint, "report", None)
        metrics = report.metrics if report else {}
        counts = report.counts if report else {}
        subgroups = (
            report.subgroup_metrics if report and isinstance(report.subgroup_metrics, dict) else {}
        )
        subgroup_counts = report.subgroup_counts if report else {}
        if not isinstance(subgroup_counts, dict):
            subgroup_counts = {}
        rows.append(
            CheckpointFigures(
                checkpoint=checkpoint,
                report=report,
                metrics=results(metrics, counts),
                subgroups=[
                    SubgroupFigures(
                        name=str(name), metrics=results(figures, subgroup_counts.get(name, {}))
                    )
                    for name, figures in sorted(subgroups.items())
                ],
            )
        )
    return rows


def safety_record(application: Application) -> SafetyRecord:
    thresholds = list(
        MetricThreshold.objects.filter(plan__application=application).select_related("plan")
    )
    min_sample = thresholds[0].plan.min_sample if thresholds else 0
    return SafetyRecord(
        signals=list(
            SafetySignal.objects.filter(application=application)
            .select_related("checkpoint_report__checkpoint", "incident", "raised_by", "closed_by")
            .order_by("raised_at", "pk")
        ),
        thresholds=thresholds,
        checkpoints=checkpoint_figures(application, thresholds, min_sample),
        incidents=list(
            IncidentReport.objects.filter(application=application)
            .select_related("reported_by")
            .order_by("occurred_on", "pk")
        ),
    )
