"""The safety record of a case: everything a decision must be taken in sight of.

The decision page, the countersign page and the exit report all show it before anyone acts:
every safety signal (open and closed, its severity and resolution), every threshold breach
evaluation found, each checkpoint report's figures, overall and per subgroup, against the
plan's thresholds, the serious incidents, and the checkpoints missed or reported late. A fixed
number of queries, however long the case ran.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from devices.models import Application, CheckpointReport, IncidentReport
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    Comparator,
    MetricThreshold,
    SafetySignal,
    SignalSource,
)


@dataclass(frozen=True)
class MetricResult:
    threshold: MetricThreshold
    observed: Decimal | None

    @property
    def met(self) -> bool | None:
        if self.observed is None:
            return None
        if self.threshold.comparator == Comparator.AT_LEAST:
            return self.observed >= self.threshold.value
        return self.observed <= self.threshold.value

    @property
    def critical(self) -> bool:
        critical = self.threshold.critical_value
        if self.observed is None or critical is None:
            return False
        if self.threshold.comparator == Comparator.AT_LEAST:
            return self.observed < critical
        return self.observed > critical


def observed(metrics: object, metric: str) -> Decimal | None:
    """A reported figure as a Decimal, or None when it was not reported (or is not a number)."""
    if not isinstance(metrics, dict):
        return None
    try:
        return Decimal(str(metrics[metric]))
    except (KeyError, InvalidOperation, TypeError, ValueError):
        return None


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


def checkpoint_figures(application: Application, thresholds: list) -> list[CheckpointFigures]:
    """Each checkpoint with its report's figures, overall and per subgroup, against
    `thresholds` (the plan in force)."""
    rows = []
    for checkpoint in (
        Checkpoint.objects.filter(application=application)
        .select_related("report")
        .order_by("sequence")
    ):
        report = getattr(checkpoint, "report", None)
        metrics = report.metrics if report else {}
        subgroups = (
            report.subgroup_metrics if report and isinstance(report.subgroup_metrics, dict) else {}
        )
        rows.append(
            CheckpointFigures(
                checkpoint=checkpoint,
                report=report,
                metrics=[MetricResult(t, observed(metrics, t.metric)) for t in thresholds],
                subgroups=[
                    SubgroupFigures(
                        name=str(name),
                        metrics=[MetricResult(t, observed(figures, t.metric)) for t in thresholds],
                    )
                    for name, figures in sorted(subgroups.items())
                ],
            )
        )
    return rows


def safety_record(application: Application) -> SafetyRecord:
    thresholds = list(MetricThreshold.objects.filter(plan__application=application))
    return SafetyRecord(
        signals=list(
            SafetySignal.objects.filter(application=application)
            .select_related("checkpoint_report__checkpoint", "incident", "raised_by", "closed_by")
            .order_by("raised_at", "pk")
        ),
        thresholds=thresholds,
        checkpoints=checkpoint_figures(application, thresholds),
        incidents=list(
            IncidentReport.objects.filter(application=application)
            .select_related("reported_by")
            .order_by("occurred_on", "pk")
        ),
    )
