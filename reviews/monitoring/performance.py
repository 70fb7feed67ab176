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
from reviews.monitoring.trends import metric_slide
from reviews.statistics import Interval, wilson_interval


@dataclass(frozen=True)
class MetricPoint:
    checkpoint: Checkpoint
    value: Decimal | None
    # Words, never colour alone: "Met", "Breach", "Critical", "Too small to judge",
    # "Not reported".
    status: str
    interval: Interval | None = None
    # The model version the report was about ("" when not reported).
    version: str = ""


@dataclass(frozen=True)
class VersionFigures:
    """One model version's figures pooled across its checkpoints, so versions compare."""

    version: str
    checkpoints: int
    interval: Interval | None


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
            # A change of model version is marked on the axis where the new version's first
            # figures are (Chart.js draws no vertical rules without a plugin; the label is
            # also what a screen reader hears).
            "labels": self.labels(),
            # Where drift detection first warned: drawn as a diamond, and named in the legend.
            "drift": next((i for i, p in enumerate(self.points) if p is self.drift_point), None),
            "values": [float(p.value) if p.value is not None else None for p in self.points],
            # The 95% interval of each figure reported with its counts, drawn as a whisker.
            "lower": [p.interval.lower if p.interval else None for p in self.points],
            "upper": [p.interval.upper if p.interval else None for p in self.points],
            "threshold": float(threshold.value),
            "critical": float(threshold.critical_value) if threshold.critical_value else None,
            "comparator": threshold.comparator,
        }

    @property
    def drift_point(self) -> MetricPoint | None:
        """The checkpoint at which drift detection (the plan's CUSUM) first warned."""
        reported = [p for p in self.points if p.value is not None]
        plan = self.threshold.plan
        slide = metric_slide(
            [p.value for p in reported],
            self.threshold.comparator,
            plan.drift_slack,
            plan.drift_limit,
        )
        return reported[slide.alarm_index] if slide else None

    def labels(self) -> list[str]:
        labels, previous = [], ""
        for point in self.points:
            label = f"Checkpoint {point.checkpoint.sequence}"
            if point.version and previous and point.version != previous:
                label += f" (model {point.version})"
            previous = point.version or previous
            labels.append(label)
        return labels

    def by_version(self) -> list[VersionFigures]:
        """Each model version's counts pooled over its checkpoints, with the 95% interval of
        the pooled proportion (None when no report of that version gave counts)."""
        pooled: dict[str, list[int]] = {}
        reported: dict[str, int] = {}
        for point in self.points:
            if not point.version or point.value is None:
                continue
            reported[point.version] = reported.get(point.version, 0) + 1
            if point.interval is not None:
                totals = pooled.setdefault(point.version, [0, 0])
                totals[0] += point.interval.successes
                totals[1] += point.interval.trials
        return [
            VersionFigures(
                version,
                count,
                wilson_interval(*pooled[version]) if version in pooled else None,
            )
            for version, count in reported.items()
        ]

    @property
    def summary(self) -> str:
        """The chart in one sentence, for screen readers (the table has every figure)."""
        reported = [p for p in self.points if p.value is not None]
        rule = f"{self.threshold.get_comparator_display()} {self.threshold.value.normalize()}"
        if not reported:
            return f"{self.threshold.get_metric_display()}: no figures reported yet ({rule})."
        misses = sum(1 for p in reported if p.status in ("Breach", "Critical"))
        drift = self.drift_point
        return (
            f"{self.threshold.get_metric_display()} across {len(reported)} reported "
            f"checkpoints against the requirement {rule}; latest {reported[-1].value}; "
            f"{misses} below requirement."
            + (
                f" Drift detection warned of a slide at checkpoint {drift.checkpoint.sequence}."
                if drift
                else ""
            )
        )


def performance_series(application: Application) -> list[MetricSeries]:
    """Each metric of the testing plan across the case's testing checkpoints, in two queries
    (a cleared device's monitoring checkpoints are judged by their own plan, on its page)."""
    thresholds = list(
        MetricThreshold.objects.filter(plan__application=application).select_related("plan")
    )
    checkpoints = list(
        Checkpoint.objects.filter(application=application, monitoring_plan__isnull=True)
        .select_related("report__model_version")
        .order_by("sequence")
    )
    series = []
    for threshold in thresholds:
        points = []
        for checkpoint in checkpoints:
            report = getattr(checkpoint, "report", None)
            figure = figure_of(report.metrics, report.counts, threshold.metric) if report else None
            judgement = judge(threshold, *(figure or (None, None)), threshold.plan.min_sample)
            version = report.model_version.label if report and report.model_version else ""
            points.append(
                MetricPoint(
                    checkpoint,
                    judgement.observed,
                    str(judgement.verdict),
                    judgement.interval,
                    version,
                )
            )
        series.append(MetricSeries(threshold, points))
    return series
