"""Post-clearance monitoring plans: the services' refusals (called directly), date boundaries,
the checkpoint sweep over monitored cases, and reports judged against the plan."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from airlock.roles import Role
from devices.models import ApplicationState
from devices.services import TransitionRefused
from notifications.models import Notification, NotificationKind
from postclearance.models import MonitoringPlan, MonitoringStatus
from postclearance.services import (
    MAX_MONITORING_DAYS,
    MonitoringTerms,
    monitoring_plan_end,
    monitoring_plan_set_up,
)
from reviews.models import (
    AuditAction,
    AuditEntry,
    Checkpoint,
    CheckpointStatus,
    ConflictOfInterest,
    Metric,
    SignalSeverity,
    SignalSource,
)
from reviews.monitoring import reports
from reviews.monitoring.checkpoints import checkpoints_sweep
from reviews.plan_terms import ThresholdSpec
from tests.factories import UserFactory, make_application

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 6, 1)


def at(day: date, hour: int = 6):
    return time_machine.travel(
        datetime(day.year, day.month, day.day, hour, tzinfo=LONDON), tick=False
    )


@pytest.fixture(autouse=True)
def _today():
    with at(TODAY):
        yield


def terms(**overrides) -> MonitoringTerms:
    values = {
        "starts_on": TODAY,
        "ends_on": TODAY + timedelta(days=365),
        "cadence_days": 28,
        "thresholds": [ThresholdSpec(Metric.SENSITIVITY, "gte", Decimal("0.90"), Decimal("0.80"))],
        "required_subgroups": "age 65+\nfemale",
        "equity_gap_limit": Decimal("0.08"),
    }
    return MonitoringTerms(**{**values, **overrides})


@pytest.fixture
def cleared(organisation, manufacturer, reviewer):
    return make_application(ApplicationState.CLEARED, organisation=organisation, assignee=reviewer)


@pytest.fixture
def plan(cleared, lead_reviewer):
    return monitoring_plan_set_up(actor=lead_reviewer, application_id=cleared.pk, terms=terms())


def test_it_sets_up_a_plan_audits_it_and_tells_both_sides(
    cleared, lead_reviewer, manufacturer, reviewer
):
    plan = monitoring_plan_set_up(actor=lead_reviewer, application_id=cleared.pk, terms=terms())

    assert plan.status == MonitoringStatus.ACTIVE
    assert plan.is_running
    assert [t.metric for t in plan.thresholds.all()] == [Metric.SENSITIVITY]
    entry = AuditEntry.objects.get(application=cleared)
    assert entry.action == AuditAction.MONITORING_SET_UP
    assert entry.actor == lead_reviewer
    assert "every 28 days" in entry.summary
    assert "Sensitivity at least" in entry.detail
    told = set(
        Notification.objects.filter(kind=NotificationKind.MONITORING_PLAN).values_list(
            "recipient", flat=True
        )
    )
    assert told == {manufacturer.pk, reviewer.pk}
    cleared.refresh_from_db()
    assert cleared.state == ApplicationState.CLEARED  # cleared stays final


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.MANUFACTURER, Role.OBSERVER, None])
def test_it_refuses_anyone_but_a_lead_reviewer(cleared, role):
    actor = UserFactory(role=role) if role else UserFactory()
    with pytest.raises(PermissionError, match="Only a lead reviewer"):
        monitoring_plan_set_up(actor=actor, application_id=cleared.pk, terms=terms())
    assert not MonitoringPlan.objects.exists()


def test_it_refuses_a_conflicted_lead_reviewer(cleared, lead_reviewer):
    ConflictOfInterest.objects.create(
        reviewer=lead_reviewer, organisation=cleared.organisation, reason="Former employer"
    )
    with pytest.raises(PermissionError, match="conflict of interest"):
        monitoring_plan_set_up(actor=lead_reviewer, application_id=cleared.pk, terms=terms())
    assert not MonitoringPlan.objects.exists()


@pytest.mark.parametrize(
    "state",
    [
        ApplicationState.IN_CONTROLLED_TESTING,
        ApplicationState.EVIDENCE_REVIEW,
        ApplicationState.NOT_CLEARED,
        ApplicationState.WITHDRAWN,
    ],
)
def test_it_refuses_a_device_that_is_not_cleared(organisation, lead_reviewer, state):
    application = make_application(state, organisation=organisation)
    with pytest.raises(TransitionRefused, match="Only a cleared device"):
        monitoring_plan_set_up(actor=lead_reviewer, application_id=application.pk, terms=terms())
    assert not MonitoringPlan.objects.exists()


def test_it_refuses_a_second_plan_while_one_is_running(cleared, lead_reviewer, plan):
    with pytest.raises(TransitionRefused, match="already running until 1 June 2027"):
        monitoring_plan_set_up(actor=lead_reviewer, application_id=cleared.pk, terms=terms())
    # Up to its last day it is still running.
    with at(plan.ends_on), pytest.raises(TransitionRefused, match="already running"):
        monitoring_plan_set_up(
            actor=lead_reviewer,
            application_id=cleared.pk,
            terms=terms(starts_on=plan.ends_on, ends_on=plan.ends_on + timedelta(days=90)),
        )
    assert MonitoringPlan.objects.count() == 1


def test_a_plan_past_its_end_is_finished_and_a_new_one_can_follow(cleared, lead_reviewer, plan):
    day_after = plan.ends_on + timedelta(days=1)
    with at(day_after):
        assert plan.status_label == "Finished"
        follow_on = monitoring_plan_set_up(
            actor=lead_reviewer,
            application_id=cleared.pk,
            terms=terms(starts_on=day_after, ends_on=day_after + timedelta(days=90)),
        )
    plan.refresh_from_db()
    assert plan.status == MonitoringStatus.FINISHED
    assert follow_on.status == MonitoringStatus.ACTIVE


@pytest.mark.parametrize(
    ("starts", "ends", "field"),
    [
        (-1, 90, "starts_on"),  # yesterday
        (366, 400, "starts_on"),  # more than a year ahead
        (10, 10, "ends_on"),  # ends the day it starts
        (10, 9, "ends_on"),  # before it starts
        (0, MAX_MONITORING_DAYS + 1, "ends_on"),  # longer than allowed
    ],
)
def test_it_refuses_dates_outside_the_rules_by_field(cleared, lead_reviewer, starts, ends, field):
    bad = terms(starts_on=TODAY + timedelta(days=starts), ends_on=TODAY + timedelta(days=ends))
    with pytest.raises(ValidationError) as refused:
        monitoring_plan_set_up(actor=lead_reviewer, application_id=cleared.pk, terms=bad)
    assert field in refused.value.message_dict
    assert not MonitoringPlan.objects.exists()


@pytest.mark.parametrize(
    ("starts", "ends"), [(0, 1), (365, 366), (0, MAX_MONITORING_DAYS), (365, 365 + 28)]
)
def test_it_accepts_dates_on_the_boundaries(cleared, lead_reviewer, starts, ends):
    good = terms(starts_on=TODAY + timedelta(days=starts), ends_on=TODAY + timedelta(days=ends))
    plan = monitoring_plan_set_up(actor=lead_reviewer, application_id=cleared.pk, terms=good)
    assert (plan.ends_on - plan.starts_on).days == ends - starts


def test_it_refuses_a_plan_without_thresholds_or_a_cadence(cleared, lead_reviewer):
    with pytest.raises(ValidationError) as refused:
        monitoring_plan_set_up(
            actor=lead_reviewer,
            application_id=cleared.pk,
            terms=terms(thresholds=[], cadence_days=0),
        )
    assert set(refused.value.message_dict) == {"thresholds", "cadence_days"}


def test_it_ends_a_plan_early_with_a_reason_dropping_checkpoints_not_yet_due(
    cleared, lead_reviewer, plan
):
    with at(TODAY + timedelta(days=50)):
        checkpoints_sweep()  # 29 June (overdue by now), 27 July (scheduled)
        ended = monitoring_plan_end(
            actor=lead_reviewer, plan_id=plan.pk, reason="Device withdrawn from the NHS market."
        )
    assert ended.status == MonitoringStatus.ENDED_EARLY
    assert ended.ended_by == lead_reviewer
    assert list(Checkpoint.objects.values_list("sequence", "status")) == [
        (1, CheckpointStatus.OVERDUE)
    ]
    entry = AuditEntry.objects.filter(action=AuditAction.MONITORING_ENDED).get()
    assert entry.detail == "Device withdrawn from the NHS market."
    assert "1 scheduled checkpoints dropped" in entry.summary


def test_ending_refuses_a_missing_reason_a_non_lead_and_a_conflicted_lead(
    cleared, lead_reviewer, reviewer, plan
):
    with pytest.raises(ValidationError, match="Say why"):
        monitoring_plan_end(actor=lead_reviewer, plan_id=plan.pk, reason="  ")
    with pytest.raises(PermissionError, match="Only a lead reviewer"):
        monitoring_plan_end(actor=reviewer, plan_id=plan.pk, reason="Done.")
    other_lead = UserFactory(role=Role.LEAD_REVIEWER)
    ConflictOfInterest.objects.create(
        reviewer=other_lead, organisation=cleared.organisation, reason="Shareholder"
    )
    with pytest.raises(PermissionError, match="conflict of interest"):
        monitoring_plan_end(actor=other_lead, plan_id=plan.pk, reason="Done.")
    plan.refresh_from_db()
    assert plan.status == MonitoringStatus.ACTIVE


def test_ending_refuses_a_plan_ended_already_or_finished(cleared, lead_reviewer, plan):
    with at(plan.ends_on + timedelta(days=1)), pytest.raises(TransitionRefused, match="ran to"):
        monitoring_plan_end(actor=lead_reviewer, plan_id=plan.pk, reason="Done.")
    # On its last day it can still be ended.
    with at(plan.ends_on):
        monitoring_plan_end(actor=lead_reviewer, plan_id=plan.pk, reason="Done.")
    with pytest.raises(TransitionRefused, match="ended already"):
        monitoring_plan_end(actor=lead_reviewer, plan_id=plan.pk, reason="Again.")
    assert AuditEntry.objects.filter(action=AuditAction.MONITORING_ENDED).count() == 1


# --- The sweep ---------------------------------------------------------------------------------


def test_the_sweep_schedules_a_monitored_case_from_the_plan_start_after_its_testing_ones(
    cleared, plan
):
    # Testing left checkpoints 1-3 (one never reported): monitoring follows on from 4.
    for sequence, status in [(1, "submitted"), (2, "submitted"), (3, "scheduled")]:
        Checkpoint.objects.create(
            application=cleared, sequence=sequence, due_on=date(2026, 3, sequence), status=status
        )
    with at(TODAY + timedelta(days=14)):
        first = checkpoints_sweep()
        again = checkpoints_sweep()
    assert (first.created, again.created) == (1, 0)
    new = Checkpoint.objects.get(monitoring_plan=plan)
    assert (new.sequence, new.due_on) == (4, TODAY + timedelta(days=28))
    # Catching up: every due checkpoint to the horizon, counted on from the plan's own last.
    with at(TODAY + timedelta(days=100)):
        assert checkpoints_sweep().created == 3
    assert list(
        Checkpoint.objects.filter(monitoring_plan=plan).values_list("sequence", "due_on")
    ) == [(4 + n, TODAY + timedelta(days=28 * (n + 1))) for n in range(4)]
    # The testing checkpoint left unreported chases no one after clearance.
    assert Checkpoint.objects.get(sequence=3).status == CheckpointStatus.SCHEDULED


def test_the_sweep_stops_at_the_plan_end_and_after_an_early_end(cleared, lead_reviewer):
    short = monitoring_plan_set_up(
        actor=lead_reviewer,
        application_id=cleared.pk,
        terms=terms(ends_on=TODAY + timedelta(days=60)),
    )
    with at(TODAY + timedelta(days=200)):
        assert checkpoints_sweep().created == 2  # 29 June and 27 July; 24 August is past the end
    other = make_application(ApplicationState.CLEARED, organisation=cleared.organisation)
    ended = monitoring_plan_set_up(actor=lead_reviewer, application_id=other.pk, terms=terms())
    monitoring_plan_end(actor=lead_reviewer, plan_id=ended.pk, reason="Market withdrawal.")
    with at(TODAY + timedelta(days=200)):
        assert checkpoints_sweep().created == 0
    assert not Checkpoint.objects.filter(monitoring_plan=ended).exists()
    assert Checkpoint.objects.filter(monitoring_plan=short).count() == 2


def test_the_sweep_reminds_and_marks_monitoring_checkpoints_overdue(cleared, plan):
    with at(TODAY + timedelta(days=21)):
        assert checkpoints_sweep().reminded_7_days == 1
    with at(TODAY + timedelta(days=29)):
        assert checkpoints_sweep().overdue == 1
    with at(TODAY + timedelta(days=31)):
        assert checkpoints_sweep().escalated == 1


# --- Reports under the plan ------------------------------------------------------------------


def report(manufacturer, checkpoint, sensitivity, subgroups=None):
    return reports.checkpoint_report_submit(
        actor=manufacturer,
        checkpoint_id=checkpoint.pk,
        cases_processed=400,
        metrics={"sensitivity": sensitivity},
        subgroup_metrics=subgroups
        if subgroups is not None
        else {"age 65+": {"sensitivity": 0.95}, "female": {"sensitivity": 0.95}},
    )


def test_a_cleared_device_reports_against_its_plan_and_raises_signals(cleared, plan, manufacturer):
    with at(TODAY + timedelta(days=100)):
        checkpoints_sweep()
        first, second, third, _ = Checkpoint.objects.filter(monitoring_plan=plan)
        report(manufacturer, first, 0.95)
        report(manufacturer, second, 0.93)
        drifted = report(manufacturer, third, 0.91)
    drift = drifted.signals.get(source=SignalSource.DRIFT)
    assert drift.severity == SignalSeverity.MEDIUM
    # No breach yet: the drift is the early warning.
    assert not drifted.signals.filter(source=SignalSource.CHECKPOINT_BREACH).exists()


def test_a_breach_under_monitoring_is_critical_and_suspends_nothing(cleared, plan, manufacturer):
    with at(TODAY + timedelta(days=20)):
        checkpoints_sweep()
        checkpoint = Checkpoint.objects.get(monitoring_plan=plan)
        breached = report(
            manufacturer,
            checkpoint,
            0.70,
            {"age 65+": {"sensitivity": 0.95}, "female": {"sensitivity": 0.80}},
        )
    assert breached.signals.get(source=SignalSource.CHECKPOINT_BREACH).severity == "critical"
    assert breached.signals.filter(source=SignalSource.EQUITY).exists()
    cleared.refresh_from_db()
    assert cleared.state == ApplicationState.CLEARED


def test_it_refuses_reports_after_an_early_end_and_for_testing_checkpoints(
    cleared, plan, manufacturer, lead_reviewer
):
    left_over = Checkpoint.objects.create(
        application=cleared, sequence=1, due_on=date(2026, 3, 1), status="overdue"
    )
    with pytest.raises(TransitionRefused, match="during controlled testing"):
        report(manufacturer, left_over, 0.95)
    with at(TODAY + timedelta(days=40)):
        checkpoints_sweep()
        overdue = Checkpoint.objects.get(monitoring_plan=plan, status=CheckpointStatus.OVERDUE)
        monitoring_plan_end(actor=lead_reviewer, plan_id=plan.pk, reason="Withdrawn.")
        with pytest.raises(TransitionRefused, match="was ended on 11 July 2026"):
            report(manufacturer, overdue, 0.95)
