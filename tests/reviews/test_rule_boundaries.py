"""Each comparison with a threshold, a limit or a date, at the value itself and either side.

A rule such as "sensitivity at least 0.90" is one operator away from "more than 0.90"; only a
test at exactly 0.90 tells the two apart. The checkpoint insert is also checked without the
ON CONFLICT that would otherwise hide a sweep re-inserting sequences it already has.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from devices.models import ApplicationState
from reviews.judging import Verdict, judge
from reviews.models import Checkpoint, Comparator, Metric, MetricThreshold, SignalSeverity
from reviews.monitoring import checkpoints, reports
from reviews.monitoring.checkpoints import checkpoint_due_dates, checkpoints_sweep
from tests.factories import make_application

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
START = date(2026, 6, 1)
STEP = Decimal("0.0001")  # the thresholds' precision (four decimal places)


def at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 6, tzinfo=LONDON), tick=False)


# --- Metric thresholds -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comparator", "offset", "breached"),
    [
        (Comparator.AT_LEAST, -STEP, True),
        (Comparator.AT_LEAST, 0, False),
        (Comparator.AT_LEAST, STEP, False),
        (Comparator.AT_MOST, -STEP, False),
        (Comparator.AT_MOST, 0, False),
        (Comparator.AT_MOST, STEP, True),
    ],
)
def test_it_breaches_a_threshold_only_beyond_its_value(comparator, offset, breached):
    limit = Decimal("0.90")
    threshold = MetricThreshold(metric=Metric.AUROC, comparator=comparator, value=limit)

    verdict = judge(threshold, limit + offset, None, 0).verdict

    assert verdict == (Verdict.BREACH if breached else Verdict.MET)


@pytest.fixture
def case(organisation):
    # The factory's plan: sensitivity at least 0.90, critical below 0.80.
    with at(START):
        return make_application(ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation)


def report_with(manufacturer, case, sensitivity, subgroups=None):
    checkpoint = Checkpoint.objects.create(application=case, sequence=1, due_on=START)
    with at(START):
        return reports.checkpoint_report_submit(
            actor=manufacturer,
            checkpoint_id=checkpoint.pk,
            cases_processed=100,
            metrics={"sensitivity": sensitivity},
            subgroup_metrics=subgroups or {},
        )


@pytest.mark.parametrize(
    ("sensitivity", "severity"),
    [
        (0.9001, None),
        (0.90, None),
        (0.8999, SignalSeverity.HIGH),
        (0.8001, SignalSeverity.HIGH),
        (0.80, SignalSeverity.HIGH),
        (0.7999, SignalSeverity.CRITICAL),
    ],
)
def test_it_raises_a_signal_only_beyond_each_limit(manufacturer, case, sensitivity, severity):
    report = report_with(manufacturer, case, sensitivity)

    assert [signal.severity for signal in report.signals.all()] == ([severity] if severity else [])
    case.refresh_from_db()
    suspended = severity == SignalSeverity.CRITICAL
    assert (case.state == ApplicationState.SUSPENDED) is suspended


@pytest.mark.parametrize(("value", "breached"), [(0.8999, True), (0.90, False)])
def test_it_holds_subgroups_to_the_same_limit(manufacturer, case, value, breached):
    report = report_with(manufacturer, case, 0.95, subgroups={"over 65": {"sensitivity": value}})

    assert [signal.severity for signal in report.signals.all()] == (
        [SignalSeverity.MEDIUM] if breached else []
    )


# --- Checkpoint dates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ends_on", "last"),
    [
        (date(2026, 8, 23), date(2026, 7, 27)),
        (date(2026, 8, 24), date(2026, 8, 24)),
        (date(2026, 8, 25), date(2026, 8, 24)),
    ],
)
def test_it_schedules_a_checkpoint_on_the_plans_last_day_but_not_after(ends_on, last):
    dates = checkpoint_due_dates(starts_on=START, ends_on=ends_on, cadence_days=28)

    assert dates[0] == date(2026, 6, 29)
    assert dates[-1] == last


@pytest.mark.parametrize(
    ("today", "created"),
    [(date(2026, 6, 14), 0), (date(2026, 6, 15), 1), (date(2026, 6, 16), 1)],
)
def test_it_creates_a_checkpoint_exactly_fourteen_days_ahead(case, today, created):
    # The first checkpoint falls due on 29 June.
    with at(today):
        assert checkpoints_sweep().created == created


@pytest.fixture
def without_on_conflict(monkeypatch):
    """The sweep's insert with its ON CONFLICT taken away: a sweep that re-inserted a sequence
    it already has would then fail, rather than have the database quietly drop the row."""
    statement = checkpoints._CREATE_CHECKPOINTS_SQL
    assert "ON CONFLICT DO NOTHING" in statement
    monkeypatch.setattr(
        checkpoints,
        "_CREATE_CHECKPOINTS_SQL",
        statement.replace("ON CONFLICT DO NOTHING", ""),
    )


def test_it_inserts_only_the_sequences_a_case_does_not_have(case, without_on_conflict):
    with at(date(2026, 6, 15)):
        assert checkpoints_sweep().created == 1
    with at(date(2026, 8, 12)):
        assert checkpoints_sweep().created == 2
        assert checkpoints_sweep().created == 0

    assert list(Checkpoint.objects.filter(application=case).values_list("sequence", "due_on")) == [
        (1, date(2026, 6, 29)),
        (2, date(2026, 7, 27)),
        (3, date(2026, 8, 24)),
    ]


def test_it_counts_on_from_the_last_checkpoint_after_the_cadence_changes(case, without_on_conflict):
    with at(date(2026, 7, 14)):
        assert checkpoints_sweep().created == 2  # 29 June and 27 July
    plan = case.testing_plan
    plan.cadence_days = 14
    plan.save(update_fields=["cadence_days"])

    with at(date(2026, 8, 1)):
        assert checkpoints_sweep().created == 1

    assert list(Checkpoint.objects.filter(application=case).values_list("sequence", "due_on")) == [
        (1, date(2026, 6, 29)),
        (2, date(2026, 7, 27)),
        (3, date(2026, 7, 27) + timedelta(days=14)),
    ]
