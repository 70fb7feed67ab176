"""The safety record read directly (`reviews.safety.safety_record`): each checkpoint in order
with its figures judged by the plan's own terms, malformed stored figures tolerated, the
signals and incidents in the order they happened, and a report late only after its due day."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from devices.models import ApplicationState, CheckpointReport, IncidentReport, IncidentSeverity
from reviews.judging import Verdict
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    Metric,
    MetricThreshold,
    SafetySignal,
    SignalSeverity,
    SignalSource,
    TestingPlan,
)
from reviews.safety import safety_record
from reviews.statistics import wilson_interval
from tests.factories import make_application

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 7, 1)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(datetime(2026, 7, 1, 12, tzinfo=LONDON), tick=False):
        yield


@pytest.fixture
def case(organisation, reviewer):
    # The factory's plan: sensitivity at least 0.90, critical below 0.80; a minimum of 50.
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    TestingPlan.objects.filter(application=application).update(min_sample=50)
    return application


def checkpoint(case, sequence, **fields):
    return Checkpoint.objects.create(
        application=case, sequence=sequence, due_on=TODAY - timedelta(days=10 * sequence), **fields
    )


def report(checkpoint, manufacturer, **fields):
    values = {"cases_processed": 100, "metrics": {}} | fields
    return CheckpointReport.objects.create(
        checkpoint=checkpoint, submitted_by=manufacturer, **values
    )


def test_it_judges_each_checkpoint_in_order_by_the_plans_minimum_sample(case, manufacturer):
    second = checkpoint(case, 2, status=CheckpointStatus.SUBMITTED)
    first = checkpoint(case, 1, status=CheckpointStatus.SUBMITTED)
    report(
        second,
        manufacturer,
        metrics={"sensitivity": 0.85},
        counts={"sensitivity": [34, 40]},
        subgroup_metrics={"women": {"sensitivity": 0.95}, "men": {"sensitivity": 0.7}},
        subgroup_counts={"women": {"sensitivity": [57, 60]}},
    )
    report(first, manufacturer, metrics={"sensitivity": 0.95}, counts={"sensitivity": [57, 60]})

    record = safety_record(case)

    assert [row.checkpoint for row in record.checkpoints] == [first, second]
    assert [t.metric for t in record.thresholds] == [Metric.SENSITIVITY]
    [met] = record.checkpoints[0].metrics
    assert (met.observed, met.interval, met.met) == (Decimal("0.95"), wilson_interval(57, 60), True)
    assert record.checkpoints[0].subgroups == []
    # 40 cases are fewer than the plan's 50: too small to judge, never a pass or a breach.
    [small] = record.checkpoints[1].metrics
    assert small.judgement.verdict == Verdict.TOO_SMALL
    assert small.judgement.why == "40 cases, fewer than the plan's minimum of 50"
    men, women = record.checkpoints[1].subgroups
    assert (men.name, women.name) == ("men", "women")
    # Reported without counts where the plan needs a sample: too small, not critical.
    assert men.metrics[0].judgement.verdict == Verdict.TOO_SMALL
    assert (women.metrics[0].met, women.metrics[0].interval) == (True, wilson_interval(57, 60))
    assert not record.checkpoints[1].breached


def test_it_judges_figures_without_a_minimum_sample_too(case, manufacturer):
    TestingPlan.objects.filter(application=case).update(min_sample=0)
    row = checkpoint(case, 1, status=CheckpointStatus.SUBMITTED)
    report(
        row,
        manufacturer,
        metrics={"sensitivity": 0.75},
        subgroup_metrics={"women": {"sensitivity": 0.85}},
    )

    [figures] = safety_record(case).checkpoints

    assert figures.critical
    assert figures.breached
    assert figures.metrics[0].judgement.verdict == Verdict.CRITICAL
    assert figures.subgroups[0].metrics[0].judgement.verdict == Verdict.BREACH


def test_it_reads_malformed_stored_figures_as_not_reported(case, manufacturer):
    row = checkpoint(case, 1, status=CheckpointStatus.SUBMITTED)
    report(row, manufacturer, metrics=[0.9], counts=[], subgroup_metrics=[], subgroup_counts=[])
    other = checkpoint(case, 2, status=CheckpointStatus.SUBMITTED)
    report(
        other,
        manufacturer,
        metrics={"sensitivity": 0.95},
        counts={"sensitivity": [57, 60]},
        subgroup_metrics={"women": {"sensitivity": 0.95}},
        subgroup_counts=["women"],
    )

    first, second = safety_record(case).checkpoints

    assert first.metrics[0].judgement.verdict == Verdict.NOT_REPORTED
    assert first.subgroups == []
    assert second.metrics[0].met is True
    assert second.subgroups[0].metrics[0].judgement.verdict == Verdict.TOO_SMALL


def test_it_shows_a_checkpoint_without_a_report_as_not_reported_and_missed_once_overdue(case):
    checkpoint(case, 1, status=CheckpointStatus.OVERDUE)
    checkpoint(case, 2, status=CheckpointStatus.SCHEDULED)

    record = safety_record(case)

    overdue, scheduled = record.checkpoints
    assert overdue.report is None
    assert overdue.metrics[0].judgement.verdict == Verdict.NOT_REPORTED
    assert overdue.subgroups == []
    assert (overdue.missed, scheduled.missed) == (True, False)
    assert record.missed == [overdue]
    assert record.missed_or_late == [overdue]


@pytest.mark.parametrize(
    ("submitted", "late"),
    [
        (datetime(2026, 6, 21, 23, 59, tzinfo=LONDON), False),
        # 23:30 UTC on the due day is already the next day in London (BST).
        (datetime(2026, 6, 21, 23, 30, tzinfo=ZoneInfo("UTC")), True),
        (datetime(2026, 6, 22, 0, 0, tzinfo=LONDON), True),
        (datetime(2026, 6, 20, 9, 0, tzinfo=LONDON), False),
    ],
)
def test_it_counts_a_report_late_only_after_its_due_day(case, manufacturer, submitted, late):
    row = checkpoint(case, 1, status=CheckpointStatus.SUBMITTED)  # due 21 June
    report(row, manufacturer, submitted_at=submitted)

    record = safety_record(case)

    assert record.checkpoints[0].late is late
    assert record.late == ([record.checkpoints[0]] if late else [])


def test_it_lists_signals_and_incidents_in_the_order_they_happened(case, manufacturer):
    later = SafetySignal.objects.create(
        application=case,
        severity=SignalSeverity.HIGH,
        source=SignalSource.REVIEWER,
        title="Later",
        description="Seen second.",
        raised_at=datetime(2026, 6, 30, tzinfo=LONDON),
    )
    earlier = SafetySignal.objects.create(
        application=case,
        severity=SignalSeverity.MEDIUM,
        source=SignalSource.CHECKPOINT_BREACH,
        metric=Metric.SENSITIVITY,
        title="Earlier",
        description="Seen first.",
        raised_at=datetime(2026, 6, 1, tzinfo=LONDON),
    )
    SafetySignal.objects.create(
        application=make_application(ApplicationState.IN_CONTROLLED_TESTING),
        severity=SignalSeverity.HIGH,
        source=SignalSource.REVIEWER,
        title="Another case",
        description="Not this one.",
    )
    incidents = [
        IncidentReport.objects.create(
            application=case,
            reported_by=manufacturer,
            severity=IncidentSeverity.OTHER_SERIOUS,
            occurred_on=day,
            aware_on=day,
            description=f"On {day}.",
        )
        for day in (date(2026, 6, 20), date(2026, 6, 10))
    ]

    record = safety_record(case)

    assert record.signals == [earlier, later]
    assert record.breaches == [earlier]
    assert record.open_signals == [earlier, later]
    assert record.incidents == incidents[::-1]


def test_it_has_no_figures_for_a_case_without_a_plan(organisation):
    application = make_application(ApplicationState.SUBMITTED, organisation=organisation)
    Checkpoint.objects.create(application=application, sequence=1, due_on=TODAY)

    record = safety_record(application)

    assert record.thresholds == []
    assert record.checkpoints[0].metrics == []


def test_it_judges_every_threshold_of_the_plan(case, manufacturer):
    plan = TestingPlan.objects.get(application=case)
    MetricThreshold.objects.create(plan=plan, metric=Metric.AUROC, value="0.85")
    row = checkpoint(case, 1, status=CheckpointStatus.SUBMITTED)
    report(row, manufacturer, metrics={"sensitivity": 0.95, "auroc": 0.8})

    [figures] = safety_record(case).checkpoints

    verdicts = {result.threshold.metric: result.judgement.verdict for result in figures.metrics}
    assert verdicts == {Metric.SENSITIVITY: Verdict.TOO_SMALL, Metric.AUROC: Verdict.BREACH}
