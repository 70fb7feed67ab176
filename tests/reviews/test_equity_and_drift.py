"""Subgroup equity and drift: a required subgroup left out, a gap between subgroups beyond
the plan's limit, and a slide caught by the CUSUM before the threshold is crossed."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from devices.models import ApplicationState
from reviews.models import Checkpoint, SignalSeverity, SignalSource
from reviews.monitoring import reports
from tests.factories import make_application

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def case(organisation, reviewer):
    # The factory's plan: sensitivity at least 0.90, critical below 0.80.
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    plan = application.testing_plan
    plan.required_subgroups = "age 65+\nfemale"
    plan.equity_gap_limit = Decimal("0.05")
    plan.save()
    return application


def submit(manufacturer, case, sequence, sensitivity, subgroups=None):
    checkpoint = Checkpoint.objects.create(
        application=case, sequence=sequence, due_on=date(2026, 6, 1) + timedelta(days=sequence)
    )
    return reports.checkpoint_report_submit(
        actor=manufacturer,
        checkpoint_id=checkpoint.pk,
        cases_processed=500,
        metrics={"sensitivity": sensitivity},
        subgroup_metrics=subgroups
        if subgroups is not None
        else {"age 65+": {"sensitivity": 0.95}, "female": {"sensitivity": 0.95}},
    )


def by_source(report, source):
    return list(report.signals.filter(source=source))


def test_it_finds_a_required_subgroup_missing(manufacturer, case):
    report = submit(manufacturer, case, 1, 0.95, {"age 65+": {"sensitivity": 0.95}})

    (signal,) = by_source(report, SignalSource.EQUITY)
    assert signal.severity == SignalSeverity.LOW
    assert "female" in signal.description


def test_it_raises_an_equity_signal_for_a_gap_even_when_every_subgroup_passes(manufacturer, case):
    report = submit(
        manufacturer,
        case,
        1,
        0.95,
        {"age 65+": {"sensitivity": 0.91}, "female": {"sensitivity": 0.99}},
    )

    (signal,) = by_source(report, SignalSource.EQUITY)
    assert signal.metric == "sensitivity"
    assert signal.observed_value == Decimal("0.08")
    assert "best subgroup female 0.99, worst age 65+ 0.91" in signal.description
    assert not by_source(report, SignalSource.CHECKPOINT_BREACH)


def test_it_leaves_subgroups_too_small_to_judge_out_of_the_gap(manufacturer, case):
    case.testing_plan.min_sample = 50
    case.testing_plan.save()

    report = submit(
        manufacturer,
        case,
        1,
        {"successes": 950, "trials": 1000},
        {
            "age 65+": {"sensitivity": {"successes": 3, "trials": 5}},
            "female": {"sensitivity": {"successes": 95, "trials": 100}},
        },
    )

    assert not by_source(report, SignalSource.EQUITY)


def test_it_warns_of_a_slide_before_the_threshold_is_crossed(manufacturer, case):
    first = submit(manufacturer, case, 1, 0.95)
    second = submit(manufacturer, case, 2, 0.93)
    third = submit(manufacturer, case, 3, 0.91)
    fourth = submit(manufacturer, case, 4, 0.89)

    assert not by_source(first, SignalSource.DRIFT)
    assert not by_source(second, SignalSource.DRIFT)
    (signal,) = by_source(third, SignalSource.DRIFT)
    assert not by_source(third, SignalSource.CHECKPOINT_BREACH)
    assert "began after checkpoint 1" in signal.description
    # Once warned, the same slide is not raised again; the breach has its own signal.
    assert not by_source(fourth, SignalSource.DRIFT)
    assert by_source(fourth, SignalSource.CHECKPOINT_BREACH)


def test_it_does_not_warn_of_noise(manufacturer, case):
    for sequence, value in enumerate([0.95, 0.94, 0.96, 0.94, 0.95], start=1):
        report = submit(manufacturer, case, sequence, value)
        assert not by_source(report, SignalSource.DRIFT)


def test_the_chart_shows_where_drift_was_found(client, manufacturer, reviewer, case):
    for sequence, value in enumerate([0.95, 0.93, 0.91], start=1):
        submit(manufacturer, case, sequence, value)
    client.force_login(reviewer)

    response = client.get(reverse("reviews:performance", args=[case.pk]))

    (series,) = response.context["series"]
    assert series.chart_data()["drift"] == 2
    assert "found sensitivity sliding at checkpoint 3" in response.content.decode()
