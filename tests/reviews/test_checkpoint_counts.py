"""Checkpoint figures that carry their sample size: counts, Wilson intervals, a threshold
judged on the interval, and a minimum sample below which a figure is too small to judge."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from reviews.models import Checkpoint, JudgedOn, Metric, MetricThreshold, SignalSeverity
from reviews.monitoring import reports
from reviews.safety import safety_record
from tests.factories import make_application

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def case(organisation, manufacturer, reviewer):
    # The factory's plan requires sensitivity at least 0.90.
    from devices.models import ApplicationState

    return make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )


@pytest.fixture
def checkpoint(case):
    return Checkpoint.objects.create(application=case, sequence=1, due_on=date(2026, 7, 1))


def sensitivity(case) -> MetricThreshold:
    return MetricThreshold.objects.get(plan__application=case, metric=Metric.SENSITIVITY)


def submit(manufacturer, checkpoint, figure, **subgroups):
    return reports.checkpoint_report_submit(
        actor=manufacturer,
        checkpoint_id=checkpoint.pk,
        cases_processed=1200,
        metrics={"sensitivity": figure},
        subgroup_metrics=subgroups,
    )


def test_it_computes_the_proportion_from_counts_and_keeps_them(manufacturer, checkpoint):
    report = submit(manufacturer, checkpoint, {"successes": 93, "trials": 100})

    report.refresh_from_db()
    assert report.metrics == {"sensitivity": 0.93}
    assert report.counts == {"sensitivity": [93, 100]}


def test_it_takes_a_proportion_with_its_denominator(manufacturer, checkpoint):
    report = submit(manufacturer, checkpoint, {"value": 0.9333, "trials": 15})

    report.refresh_from_db()
    assert report.counts == {"sensitivity": [14, 15]}
    assert report.metrics == {"sensitivity": 0.9333}


@pytest.mark.parametrize(
    ("figure", "words"),
    [
        ({"value": 0.93, "trials": 15}, "not a whole number of true positives out of 15"),
        ({"successes": 16, "trials": 15}, "between 0 and the positives"),
        ({"successes": 3}, "as counts"),
        ({"successes": 3, "trials": 0}, "at least 1"),
        ({"successes": 3, "value": 0.2, "trials": 15}, "as counts"),
        ({"successes": True, "trials": 15}, "whole number"),
    ],
)
def test_it_refuses_counts_that_cannot_be(manufacturer, checkpoint, figure, words):
    with pytest.raises(ValidationError, match=words):
        submit(manufacturer, checkpoint, figure)


def test_it_refuses_counts_for_a_metric_that_is_not_a_proportion_of_cases(manufacturer, checkpoint):
    with pytest.raises(ValidationError, match="not a proportion of cases"):
        reports.checkpoint_report_submit(
            actor=manufacturer,
            checkpoint_id=checkpoint.pk,
            cases_processed=10,
            metrics={"sensitivity": 0.95, "auroc": {"successes": 9, "trials": 10}},
        )


def test_it_judges_on_the_lower_bound_when_the_plan_says_so(manufacturer, case, checkpoint):
    threshold = sensitivity(case)
    threshold.judged_on = JudgedOn.INTERVAL
    threshold.save()

    # 0.93 looks fine, but from 30 cases its 95% interval reaches down to 0.787.
    report = submit(manufacturer, checkpoint, {"successes": 28, "trials": 30})

    (signal,) = report.signals.all()
    assert signal.severity == SignalSeverity.HIGH
    assert "28 of 30; 95% CI 0.787 to 0.982" in signal.description
    assert "lower bound of the 95% confidence interval" in signal.description


def test_it_passes_the_same_figure_from_a_large_sample(manufacturer, case, checkpoint):
    threshold = sensitivity(case)
    threshold.judged_on = JudgedOn.INTERVAL
    threshold.save()

    report = submit(manufacturer, checkpoint, {"successes": 2800, "trials": 3000})

    assert not report.signals.exists()


def test_it_says_too_small_to_judge_instead_of_breaching(manufacturer, case, checkpoint):
    plan = case.testing_plan
    plan.min_sample = 50
    plan.save()

    report = submit(
        manufacturer,
        checkpoint,
        {"successes": 10, "trials": 12},
        **{"age 65+": {"sensitivity": {"successes": 1, "trials": 4}}},
    )

    assert not report.signals.exists()
    assert reports.too_small_to_judge(report) == [
        "sensitivity: 12 cases, fewer than the plan's minimum of 50"
    ]
    row = safety_record(case).checkpoints[0]
    assert row.metrics[0].too_small
    assert row.metrics[0].met is None
    assert row.subgroups[0].metrics[0].too_small
    assert not row.breached


def test_it_cannot_judge_a_bare_figure_against_a_minimum_sample(manufacturer, case, checkpoint):
    plan = case.testing_plan
    plan.min_sample = 50
    plan.save()

    report = submit(manufacturer, checkpoint, 0.5)

    assert not report.signals.exists()
    assert reports.too_small_to_judge(report) == [
        "sensitivity: reported without the number of cases"
    ]


def test_it_still_judges_a_bare_figure_when_the_plan_needs_no_sample(manufacturer, checkpoint):
    # Reports from before counts were taken, and clients that send bare figures, keep working.
    report = submit(manufacturer, checkpoint, 0.5)

    assert report.signals.get().observed_value == 0.5


def test_it_shows_counts_and_interval_on_the_testing_page(client, manufacturer, case, checkpoint):
    submit(manufacturer, checkpoint, {"successes": 93, "trials": 100})
    client.force_login(manufacturer)

    response = client.get(reverse("devices:testing", args=[case.pk]))

    assert "93 of 100; 95% CI 0.863 to 0.966" in response.content.decode()


def test_it_takes_counts_from_the_web_form(client, manufacturer, case, checkpoint):
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:checkpoint-report", args=[case.pk, 1]),
        {
            "cases_processed": "300",
            "successes_sensitivity": "140",
            "trials_sensitivity": "150",
            "subgroup_figures": "age 65+, sensitivity, 44/50",
            "incidents_count": "0",
        },
    )

    assert response.status_code == 302
    report = checkpoint.__class__.objects.get(pk=checkpoint.pk).report
    assert report.counts == {"sensitivity": [140, 150]}
    assert report.subgroup_counts == {"age 65+": {"sensitivity": [44, 50]}}


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"successes_sensitivity": "10"}, "trials_sensitivity", "Give the number of positives"),
        ({"trials_sensitivity": "10"}, "metric_sensitivity", "or the true positives"),
        ({}, "metric_sensitivity", "or its counts"),
        (
            {"metric_sensitivity": "0.9", "successes_sensitivity": "9", "trials_sensitivity": "10"},
            "metric_sensitivity",
            "not both",
        ),
    ],
)
def test_it_explains_what_the_form_needs(
    client, manufacturer, case, checkpoint, data, field, words
):
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:checkpoint-report", args=[case.pk, 1]),
        {"cases_processed": "300", "incidents_count": "0", **data},
    )

    assert response.status_code == 200
    assert words in " ".join(response.context["form"].errors[field])
    assert not hasattr(Checkpoint.objects.get(pk=checkpoint.pk), "report")


def test_it_refuses_an_interval_for_a_metric_without_counts():
    from decimal import Decimal

    from reviews.plan_terms import threshold_problem

    problem = threshold_problem(
        metric=Metric.AUROC,
        comparator="gte",
        value=Decimal("0.8"),
        critical_value=None,
        judged_on=JudgedOn.INTERVAL,
    )

    assert problem[0] == "judged_on"
    assert "no confidence interval" in problem[1]


def test_it_says_what_an_amendment_changes_in_the_sample_and_judging(case):
    from reviews.plan_terms import Terms, plan_changes

    plan = case.testing_plan
    before = Terms.of(plan)
    plan.min_sample = 50
    plan.save()
    threshold = sensitivity(case)
    threshold.judged_on = JudgedOn.INTERVAL
    threshold.save()

    changes = plan_changes(before, Terms.of(plan))

    assert "Minimum sample per checkpoint: 0 → 50 cases." in changes
    assert any("judged on its 95% interval" in change for change in changes)
