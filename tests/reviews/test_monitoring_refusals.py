"""Refusals and limits of the monitoring services, asked of the services themselves: incident
reports, safety signals, the performance chart's points and the notification centre."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from devices.models import ApplicationState, IncidentReport, IncidentSeverity
from devices.services import TransitionRefused
from notifications.models import Notification
from notifications.services import notifications_mark_read
from reviews.judging import judge
from reviews.models import (
    Comparator,
    ConflictOfInterest,
    Metric,
    MetricThreshold,
    SafetySignal,
    SignalSeverity,
    SignalStatus,
)
from reviews.monitoring.incidents import incident_report_submit
from reviews.monitoring.signals import safety_signal_raise, safety_signal_status_set
from tests.factories import make_application

pytestmark = pytest.mark.django_db

S = ApplicationState
LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 7, 1)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(datetime(2026, 7, 1, 10, tzinfo=LONDON), tick=False):
        yield


@pytest.fixture
def case(organisation, reviewer):
    return make_application(S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer)


def report(actor, application, *, occurred_on=TODAY, aware_on=TODAY, severity=None):
    return incident_report_submit(
        actor=actor,
        application_id=application.pk,
        severity=severity or IncidentSeverity.OTHER_SERIOUS,
        occurred_on=occurred_on,
        aware_on=aware_on,
        description="Missed nodule on a follow-up scan.",
    )


# --- Incidents -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "taken"),
    [(state, state in {S.IN_CONTROLLED_TESTING, S.SUSPENDED, S.EVIDENCE_REVIEW}) for state in S],
)
def test_it_takes_incidents_only_from_testing_to_the_decision(
    organisation, manufacturer, state, taken
):
    """And after clearance only under a monitoring plan (tests/postclearance): a cleared
    case with none is refused with where to report instead."""
    application = make_application(state, organisation=organisation)
    why = (
        "while a post-clearance monitoring plan covers it"
        if state == S.CLEARED
        else "once controlled testing has begun"
    )

    if taken:
        report(manufacturer, application)
    else:
        with pytest.raises(TransitionRefused, match=why):
            report(manufacturer, application)

    assert IncidentReport.objects.exists() is taken


def test_it_refuses_an_incident_from_a_reviewer(case, reviewer):
    with pytest.raises(PermissionError, match="own team can"):
        report(reviewer, case)

    assert not IncidentReport.objects.exists()


@pytest.mark.parametrize(
    ("occurred_on", "aware_on", "field"),
    [
        (TODAY, TODAY, None),
        (TODAY + timedelta(days=1), TODAY + timedelta(days=1), "occurred_on"),
        (TODAY - timedelta(days=3), TODAY - timedelta(days=3), None),
        (TODAY - timedelta(days=3), TODAY - timedelta(days=4), "aware_on"),
        (TODAY - timedelta(days=3), TODAY + timedelta(days=1), "aware_on"),
    ],
)
def test_it_takes_incident_dates_up_to_today_and_awareness_from_the_incident_on(
    manufacturer, case, occurred_on, aware_on, field
):
    if field is None:
        report(manufacturer, case, occurred_on=occurred_on, aware_on=aware_on)
        assert IncidentReport.objects.count() == 1
    else:
        with pytest.raises(ValidationError) as error:
            report(manufacturer, case, occurred_on=occurred_on, aware_on=aware_on)
        assert field in error.value.message_dict
        assert not IncidentReport.objects.exists()


@pytest.mark.parametrize(("aware_days_ago", "late"), [(1, False), (2, False), (3, True)])
def test_it_calls_a_report_late_only_after_its_due_day(manufacturer, case, aware_days_ago, late):
    # A public health threat is due within 2 days of awareness.
    aware_on = TODAY - timedelta(days=aware_days_ago)
    incident = report(
        manufacturer,
        case,
        occurred_on=aware_on,
        aware_on=aware_on,
        severity=IncidentSeverity.PUBLIC_HEALTH_THREAT,
    )

    assert incident.report_due_on == aware_on + timedelta(days=2)
    assert incident.reported_late is late


# --- Safety signals --------------------------------------------------------------------------


def raise_signal(actor, application):
    return safety_signal_raise(
        actor=actor,
        application_id=application.pk,
        severity=SignalSeverity.HIGH,
        title="Drift at one site",
        description="Specificity fell at Bradford.",
    )


def test_it_refuses_a_signal_raised_by_a_manufacturer(case, manufacturer):
    with pytest.raises(PermissionError):
        raise_signal(manufacturer, case)

    assert not SafetySignal.objects.exists()


def test_it_refuses_a_signal_raised_by_a_conflicted_reviewer(case, lead_reviewer, organisation):
    ConflictOfInterest.objects.create(reviewer=lead_reviewer, organisation=organisation, reason="X")

    with pytest.raises(PermissionError, match="conflict of interest"):
        raise_signal(lead_reviewer, case)

    assert not SafetySignal.objects.exists()


def test_it_refuses_a_signal_without_a_summary_or_a_description(case, reviewer):
    with pytest.raises(ValidationError) as error:
        safety_signal_raise(
            actor=reviewer, application_id=case.pk, severity="high", title=" ", description=" "
        )

    assert set(error.value.message_dict) == {"title", "description"}


def test_it_refuses_a_manufacturer_closing_a_signal(case, reviewer, manufacturer):
    signal = raise_signal(reviewer, case)

    with pytest.raises(PermissionError):
        safety_signal_status_set(
            actor=manufacturer,
            signal_id=signal.pk,
            status=SignalStatus.CLOSED,
            findings="Nothing.",
            actions="Nothing.",
        )

    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN


@pytest.mark.parametrize(("findings", "actions"), [("", "Retrained."), ("Drift.", " ")])
def test_it_refuses_to_close_a_signal_without_a_resolution(case, reviewer, findings, actions):
    signal = raise_signal(reviewer, case)

    with pytest.raises(ValidationError):
        safety_signal_status_set(
            actor=reviewer,
            signal_id=signal.pk,
            status=SignalStatus.CLOSED,
            findings=findings,
            actions=actions,
        )

    signal.refresh_from_db()
    assert signal.status == SignalStatus.OPEN


def test_it_refuses_a_status_that_does_not_exist(case, reviewer):
    signal = raise_signal(reviewer, case)

    with pytest.raises(ValidationError):
        safety_signal_status_set(actor=reviewer, signal_id=signal.pk, status="forgotten")


# --- Performance chart -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comparator", "value", "status"),
    [
        (Comparator.AT_LEAST, None, "Not reported"),
        (Comparator.AT_LEAST, "0.9001", "Met"),
        (Comparator.AT_LEAST, "0.9000", "Met"),
        (Comparator.AT_LEAST, "0.8999", "Breach"),
        (Comparator.AT_LEAST, "0.8000", "Breach"),
        (Comparator.AT_LEAST, "0.7999", "Critical"),
        (Comparator.AT_MOST, "0.9000", "Met"),
        (Comparator.AT_MOST, "0.9001", "Breach"),
        (Comparator.AT_MOST, "0.9500", "Breach"),
        (Comparator.AT_MOST, "0.9501", "Critical"),
    ],
)
def test_it_marks_each_chart_point_against_both_limits(case, comparator, value, status):
    critical = "0.80" if comparator == Comparator.AT_LEAST else "0.95"
    threshold = MetricThreshold(
        plan=case.testing_plan,
        metric=Metric.SPECIFICITY,
        comparator=comparator,
        value=Decimal("0.90"),
        critical_value=Decimal(critical),
    )

    verdict = judge(threshold, Decimal(value) if value else None, None, 0).verdict

    assert verdict == status


def test_it_marks_a_point_without_a_critical_limit_as_a_breach_at_worst(case):
    threshold = MetricThreshold(
        plan=case.testing_plan, metric=Metric.SPECIFICITY, value=Decimal("0.90")
    )

    assert judge(threshold, Decimal("0.01"), None, 0).verdict == "Breach"


# --- Notifications ---------------------------------------------------------------------------


def test_it_marks_read_only_the_actors_own_notifications(case, reviewer, lead_reviewer):
    def notice(recipient):
        return Notification.objects.create(
            recipient=recipient, application=case, kind="safety_signal", key="k", title="A", url="/"
        )

    mine, theirs = notice(reviewer), notice(lead_reviewer)

    assert notifications_mark_read(actor=reviewer, ids=[mine.pk, theirs.pk]) == 1

    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.read_at is None
    assert mine.read_at is not None
