"""Reads for the performance page: each metric of the plan across the checkpoints."""

from dataclasses import dataclass
from decimal import Decimal

from devices.models import (
    Application,
)
from reviews.judging import figure_of, judge
from reviews.models import (
    Checkpoint,
    MetricThreshold,
)
from reviews.statistics import Interval


@dataclass(frozen=True)
class MetricPoint:
    checkpoint: Checkpoint
    value: Decimal | None
    # Words, never colour alone: "Met", "Breach", "Critical", "Too small to judge",
    # "Not reported".
    status: str
    interval: Interval | None = None


@dataclass(frozen=True)
class MetricSeries:
    threshold: MetricThreshold
    points: list[MetricPoint]

    @property
    def slug(self) -> str:
        return self.threshold.metric.replace("_", "-")

    def chart_data(self) -> dict:
        """What static/js/performance.js draws for this metric."""
        threshold = self.threshold
        return {
            "canvas": f"chart-{self.slug}",
            "label": threshold.get_metric_display(),
            "labels": [f"Checkpoint {p.checkpoint.sequence}" for p in self.points],
            "values": [float(p.value) if p.value is not None else None for p in self.points],
            # The 95% interval of each figure reported with its counts, drawn as a whisker.
            "lower": [p.interval.lower if p.interval else None for p in self.points],
            "upper": [p.interval.upper if p.interval else None for p in self.points],
            "threshold": float(threshold.value),
            "critical": float(threshold.critical_value) if threshold.critical_value else None,
            "comparator": threshold.comparator,
        }

    @property
    def summary(self) -> str:
        """The chart in one sentence, for screen readers (the table has every figure)."""
        reported = [p for p in self.points if p.value is not None]
        rule = f"{self.threshold.get_comparator_display()} {self.threshold.value.normalize()}"
        if not reported:
            return f"{self.threshold.get_metric_display()}: no figures reported yet ({rule})."
        misses = sum(1 for p in reported if p.status in ("Breach", "Critical"))
        return (
            f"{self.threshold.get_metric_display()} across {len(reported)} reported "
            f"checkpoints against the requirement {rule}; latest {reported[-1].value}; "
            f"{misses} below requirement."
        )


def performance_series(application: Application) -> list[MetricSeries]:
    """Each metric of the plan across the case's checkpoints, in two queries."""
    thresholds = list(
        MetricThreshold.objects.filter(plan__application=application).select_related("plan")
    )
    checkpoints = list(
        Checkpoint.objects.filter(application=application)
        .select_related("report")
        .order_by("sequence")
    )
    series = []
    for threshold in thresholds:
        points = []
        for checkpoint in checkpoints:
            report = getattr(checkpoint, "report", None)
            figure = figure_of(report.metrics, report.counts, threshold.metric) if report else None
            judgement = judge(threshold, *(figure or (None, None)), threshold.plan.min_sample)
            points.append(
                MetricPoint(
                    checkpoint, judgement.observed, str(judgement.verdict), judgement.interval
                )
            )
        series.append(MetricSeries(threshold, points))
    return series
