"""The performance chart's series (`reviews.monitoring.performance.MetricSeries`), built from
plain points: what the chart draws, where a model version changes, each version's pooled
figures and where drift detection warned. The page itself is tested in
`test_monitoring_views.py`."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from devices.models import ApplicationState, CheckpointReport, ModelVersion
from postclearance.models import MonitoringPlan
from reviews.models import Checkpoint, Comparator, Metric, MetricThreshold, TestingPlan
from reviews.monitoring.performance import (
    MetricPoint,
    MetricSeries,
    VersionFigures,
    performance_series,
)
from reviews.statistics import wilson_interval
from tests.factories import make_application


@dataclass
class Threshold:
    """The fields of a MetricThreshold that a series reads."""

    metric: str = Metric.CALIBRATION_SLOPE
    comparator: str = Comparator.AT_LEAST
    value: Decimal = Decimal("0.90")
    critical_value: Decimal | None = Decimal("0.80")
    plan: SimpleNamespace = field(
        default_factory=lambda: SimpleNamespace(
            drift_slack=Decimal("0.01"), drift_limit=Decimal("0.03")
        )
    )

    def get_metric_display(self):
        return Metric(self.metric).label

    def get_comparator_display(self):
        return Comparator(self.comparator).label


def point(sequence, value, version="", counts=None, status="Met"):
    return MetricPoint(
        SimpleNamespace(sequence=sequence),
        None if value is None else Decimal(value),
        status,
        wilson_interval(*counts) if counts else None,
        version,
    )


def test_it_gives_the_chart_every_figure_whisker_and_limit():
    points = [point(1, "0.95", counts=(95, 100)), point(2, None), point(3, "0.93")]
    series = MetricSeries(Threshold(), points)

    assert series.chart_data() == {
        "canvas": "chart-calibration-slope",
        "label": "Calibration slope",
        "labels": ["Checkpoint 1", "Checkpoint 2", "Checkpoint 3"],
        "drift": None,
        "values": [0.95, None, 0.93],
        "lower": [wilson_interval(95, 100).lower, None, None],
        "upper": [wilson_interval(95, 100).upper, None, None],
        "threshold": 0.9,
        "critical": 0.8,
        "comparator": "gte",
    }


def test_it_draws_no_critical_line_for_a_threshold_without_one():
    series = MetricSeries(Threshold(critical_value=None, comparator=Comparator.AT_MOST), [])

    data = series.chart_data()

    assert (data["critical"], data["comparator"], data["values"]) == (None, "lte", [])


def test_it_marks_where_drift_detection_first_warned_among_the_reported_points():
    # 0.95, 0.93, 0.91: the lower CUSUM (slack 0.01 below 0.95) is 0, 0.01, 0.04 > 0.03, so
    # the third reported figure warns; it is the fourth point, after one not reported.
    points = [point(1, "0.95"), point(2, None), point(3, "0.93"), point(4, "0.91")]
    series = MetricSeries(Threshold(), points)

    assert series.drift_point is points[3]
    assert series.chart_data()["drift"] == 3


def test_it_names_a_model_version_where_it_changes():
    points = [
        point(1, "0.95", ""),
        point(2, "0.95", "1.0"),
        point(3, "0.95", "1.0"),
        point(4, None, ""),
        point(5, "0.95", "1.0"),
        point(6, "0.94", "1.1"),
        point(7, "0.94", "1.1"),
        point(8, "0.95", "1.0"),
    ]

    assert MetricSeries(Threshold(), points).labels() == [
        "Checkpoint 1",
        "Checkpoint 2",
        "Checkpoint 3",
        "Checkpoint 4",
        "Checkpoint 5",
        "Checkpoint 6 (model 1.1)",
        "Checkpoint 7",
        "Checkpoint 8 (model 1.0)",
    ]


def test_it_pools_each_versions_counts_across_its_checkpoints():
    points = [
        point(1, "0.93", "1.0", counts=(93, 100)),
        point(2, "0.95", "", counts=(95, 100)),
        point(3, None, "1.1"),
        point(4, "0.9", "1.0", counts=(45, 50)),
        point(5, "0.95", "1.1"),
        point(6, "0.96", "1.0"),
        point(7, "0.97", "1.2", counts=(97, 100)),
    ]

    assert MetricSeries(Threshold(), points).by_version() == [
        VersionFigures("1.0", 3, wilson_interval(138, 150)),
        VersionFigures("1.1", 1, None),
        VersionFigures("1.2", 1, wilson_interval(97, 100)),
    ]


def test_it_says_in_words_what_the_chart_shows():
    points = [
        point(1, "0.95"),
        point(2, "0.93", status="Met"),
        point(3, "0.89", status="Breach"),
        point(4, "0.79", status="Critical"),
    ]

    assert MetricSeries(Threshold(), points).summary == (
        "Calibration slope across 4 reported checkpoints against the requirement at least 0.9; "
        "latest 0.79; 2 below requirement. Drift detection warned of a slide at checkpoint 3."
    )
    assert MetricSeries(Threshold(), [point(1, None)]).summary == (
        "Calibration slope: no figures reported yet (at least 0.9)."
    )


@pytest.mark.django_db
def test_it_reads_each_metric_across_the_testing_checkpoints_in_two_queries(
    manufacturer, reviewer, django_assert_num_queries
):
    # The factory's plan: sensitivity at least 0.90, critical below 0.80.
    case = make_application(ApplicationState.IN_CONTROLLED_TESTING)
    plan = TestingPlan.objects.get(application=case)
    TestingPlan.objects.filter(pk=plan.pk).update(min_sample=50)
    MetricThreshold.objects.create(plan=plan, metric=Metric.AUROC, value="0.85")
    today = timezone.localdate()
    version = ModelVersion.objects.create(device=case.device, label="2.1", released_on=today)
    second = Checkpoint.objects.create(application=case, sequence=2, due_on=today)
    first = Checkpoint.objects.create(application=case, sequence=1, due_on=today)
    third = Checkpoint.objects.create(application=case, sequence=3, due_on=today)
    CheckpointReport.objects.create(
        checkpoint=first,
        submitted_by=manufacturer,
        cases_processed=60,
        metrics={"sensitivity": 0.95, "auroc": 0.9},
        counts={"sensitivity": [57, 60]},
        model_version=version,
    )
    CheckpointReport.objects.create(
        checkpoint=second,
        submitted_by=manufacturer,
        cases_processed=40,
        metrics={"sensitivity": 0.75, "auroc": 0.8},
        counts={"sensitivity": [30, 40]},
    )
    # A cleared device's monitoring checkpoints belong to their own plan's page.
    monitoring = MonitoringPlan.objects.create(
        application=case,
        starts_on=today,
        ends_on=today + timedelta(days=90),
        cadence_days=28,
        set_up_by=reviewer,
    )
    Checkpoint.objects.create(
        application=case, sequence=4, due_on=today, monitoring_plan=monitoring
    )
    other = make_application(ApplicationState.IN_CONTROLLED_TESTING)
    Checkpoint.objects.create(application=other, sequence=1, due_on=today)

    with django_assert_num_queries(2):
        series = performance_series(case)
        points = {s.threshold.metric: s.points for s in series}
        versions = {s.threshold.metric: [p.version for p in s.points] for s in series}

    assert set(points) == {Metric.SENSITIVITY, Metric.AUROC}
    assert points[Metric.SENSITIVITY] == [
        MetricPoint(first, Decimal("0.95"), "Met", wilson_interval(57, 60), "2.1"),
        MetricPoint(second, Decimal("0.75"), "Too small to judge", wilson_interval(30, 40), ""),
        MetricPoint(third, None, "Not reported", None, ""),
    ]
    assert [(p.value, p.status) for p in points[Metric.AUROC]] == [
        (Decimal("0.9"), "Met"),
        (Decimal("0.8"), "Breach"),
        (None, "Not reported"),
    ]
    assert versions[Metric.AUROC] == ["2.1", "", ""]
