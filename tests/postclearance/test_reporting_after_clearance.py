"""Serious incidents and model changes on a cleared device: taken while a post-clearance
monitoring plan covers it (set up, and not past its end date or ended early), refused with
where to report instead otherwise; held changes are accepted or refused, never "suspend
testing". The services are called directly, at each boundary of the plan's dates."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from airlock.roles import Role
from devices.model_versions import current_model_version
from devices.models import Application, ApplicationState, IncidentReport, OrganisationRole
from devices.selectors import timeline
from devices.services import TransitionRefused
from notifications.models import Notification, NotificationKind
from postclearance.services import monitoring_plan_end
from reviews.model_changes import (
    ChangeDetails,
    decisions_open,
    model_change_decide,
    model_change_notify,
)
from reviews.models import (
    AlertDelivery,
    ChangeDecision,
    ChangeKind,
    ConflictOfInterest,
    ModelChange,
    ModelChangeStatus,
    PartnerRegulator,
    SafetySignal,
    SignalSeverity,
    SignalSource,
)
from reviews.monitoring.incidents import incident_report_submit
from reviews.monitoring.signals import safety_signal_share
from tests.factories import UserFactory, make_manufacturer
from tests.postclearance.reporting_helpers import cleared_adaptive
from tests.postclearance.reporting_helpers import set_up as set_up_plan

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 6, 1)
GOOD = {"sensitivity": {"successes": 960, "trials": 1000}}


def at(day: date, hour: int = 10):
    return time_machine.travel(
        datetime(day.year, day.month, day.day, hour, tzinfo=LONDON), tick=False
    )


@pytest.fixture(autouse=True)
def _today():
    with at(TODAY):
        yield


@pytest.fixture
def cleared(organisation, manufacturer, reviewer) -> Application:
    return cleared_adaptive(organisation, reviewer)


def set_up(application, lead, *, starts_on=TODAY):
    return set_up_plan(application, lead, starts_on=starts_on)


@pytest.fixture
def monitored(cleared, lead_reviewer):
    return set_up(cleared, lead_reviewer)


def report_incident(actor, application, **changes):
    values = {
        "severity": "death_or_deterioration",
        "occurred_on": TODAY - timedelta(days=1),
        "aware_on": TODAY - timedelta(days=1),
        "description": "The triage score missed a deteriorating patient at one site.",
    }
    return incident_report_submit(
        actor=actor, application_id=application.pk, **{**values, **changes}
    )


def details(**changes) -> ChangeDetails:
    values = {
        "kind": ChangeKind.RETRAINING,
        "version_label": "3.0",
        "released_on": TODAY,
        "description": "Retrained on the first quarter of real-world data.",
        "validation_metrics": GOOD,
        "evidence": {"Validation report": "Evidence document VR-9"},
    }
    return ChangeDetails(**{**values, **changes})


def notify(actor, application, **changes):
    return model_change_notify(
        actor=actor, application_id=application.pk, details=details(**changes)
    )


# Serious incidents


def test_an_incident_under_a_plan_starting_today_raises_a_signal_and_tells_the_reviewer(
    manufacturer, reviewer, monitored
):
    incident = report_incident(manufacturer, monitored.application)

    signal = SafetySignal.objects.get(incident=incident)
    assert (signal.source, signal.severity) == (SignalSource.INCIDENT, SignalSeverity.CRITICAL)
    assert "Reported within the 10-day statutory period." in signal.description
    assert incident.report_due_on == TODAY - timedelta(days=1) + timedelta(days=10)
    assert Notification.objects.filter(
        recipient=reviewer, kind=NotificationKind.SAFETY_SIGNAL
    ).exists()
    entries = [e for e in timeline(monitored.application) if e.kind == "incident"]
    assert [e.title for e in entries] == [
        "Serious incident reported: death or unanticipated serious deterioration in health"
    ]


def test_an_incident_signal_after_clearance_is_shared_with_partners_like_any_other(
    manufacturer, reviewer, monitored, django_capture_on_commit_callbacks
):
    PartnerRegulator.objects.create(
        name="Partner", country="Elsewhere", webhook_url="https://partner.example/hook"
    )
    signal = report_incident(manufacturer, monitored.application).signals.get()
    with django_capture_on_commit_callbacks():
        queued = safety_signal_share(actor=reviewer, signal_id=signal.pk)
    assert queued == 1
    assert AlertDelivery.objects.filter(signal=signal).count() == 1


def test_a_late_incident_after_clearance_is_taken_and_marked_late(manufacturer, monitored):
    incident = report_incident(
        manufacturer,
        monitored.application,
        severity="public_health_threat",
        occurred_on=TODAY - timedelta(days=5),
        aware_on=TODAY - timedelta(days=5),
    )
    assert incident.reported_late
    assert "Reported late: due within 2 days" in incident.signals.get().description


def test_an_incident_on_the_plans_last_day_is_taken(manufacturer, monitored):
    with at(monitored.ends_on, hour=23):
        report_incident(manufacturer, monitored.application)
    assert IncidentReport.objects.count() == 1


def test_an_incident_the_day_after_the_plan_ended_is_refused_with_where_to_report(
    manufacturer, monitored
):
    with (
        at(monitored.ends_on + timedelta(days=1), hour=0),
        pytest.raises(TransitionRefused) as refused,
    ):
        report_incident(manufacturer, monitored.application)
    message = str(refused.value)
    assert f"monitoring plan finished on {monitored.ends_on:%-d %B %Y}" in message
    assert "Manufacturer's Online Reporting Environment (MORE)" in message
    assert not IncidentReport.objects.exists()
    assert not SafetySignal.objects.exists()


def test_an_incident_after_monitoring_was_ended_early_is_refused(
    manufacturer, lead_reviewer, monitored
):
    monitoring_plan_end(actor=lead_reviewer, plan_id=monitored.pk, reason="Device withdrawn.")
    with pytest.raises(TransitionRefused, match="monitoring was ended on 1 June 2026"):
        report_incident(manufacturer, monitored.application)
    assert not IncidentReport.objects.exists()


def test_an_incident_on_a_cleared_device_with_no_plan_is_refused(manufacturer, cleared):
    with pytest.raises(TransitionRefused) as refused:
        report_incident(manufacturer, cleared)
    assert "this device is not under one" in str(refused.value)
    assert "MORE" in str(refused.value)
    assert not IncidentReport.objects.exists()


def test_a_plan_not_yet_started_already_covers_the_device(manufacturer, cleared, lead_reviewer):
    set_up(cleared, lead_reviewer, starts_on=TODAY + timedelta(days=10))
    report_incident(manufacturer, cleared)
    assert IncidentReport.objects.filter(application=cleared).count() == 1


def test_only_the_organisations_contributors_report_incidents_after_clearance(
    organisation, other_manufacturer, monitored
):
    viewer = make_manufacturer(organisation, org_role=OrganisationRole.VIEWER)
    for actor in (other_manufacturer, viewer):
        with pytest.raises(PermissionError):
            report_incident(actor, monitored.application)
    assert not IncidentReport.objects.exists()


# Model changes


def test_a_change_within_the_protocol_after_clearance_is_recorded_and_in_use(
    manufacturer, reviewer, monitored
):
    change = notify(manufacturer, monitored.application)

    assert change.status == ModelChangeStatus.RECORDED
    assert current_model_version(monitored.application.device).label == "3.0"
    assert Notification.objects.filter(
        recipient=reviewer, kind=NotificationKind.MODEL_CHANGE
    ).exists()
    assert any("Model change to 3.0" in e.title for e in timeline(monitored.application))


def test_a_change_outside_the_protocol_after_clearance_is_held(manufacturer, monitored):
    change = notify(manufacturer, monitored.application, kind=ChangeKind.NEW_USE)
    assert change.status == ModelChangeStatus.HELD
    assert any("is not a change the protocol allows" in p for p in change.problems)
    assert current_model_version(monitored.application.device).label != "3.0"


def test_a_change_without_its_evidence_after_clearance_is_refused(manufacturer, monitored):
    change = notify(manufacturer, monitored.application, evidence={})
    assert change.status == ModelChangeStatus.REFUSED
    assert change.problems[0] == "Evidence missing: Validation report."


@pytest.mark.parametrize(
    ("when", "words"),
    [
        ("no plan", "this device is not under one"),
        ("ended yesterday", "monitoring plan finished on"),
    ],
)
def test_a_change_with_no_plan_covering_the_device_is_refused(
    manufacturer, cleared, lead_reviewer, when, words
):
    day = TODAY
    if when == "ended yesterday":
        plan = set_up(cleared, lead_reviewer)
        day = plan.ends_on + timedelta(days=1)
    with at(day), pytest.raises(TransitionRefused) as refused:
        notify(manufacturer, cleared)
    assert words in str(refused.value)
    assert "Tell the MHRA about a significant change" in str(refused.value)
    assert not ModelChange.objects.exists()


def test_a_change_on_the_plans_last_day_is_taken(manufacturer, monitored):
    with at(monitored.ends_on):
        change = notify(manufacturer, monitored.application)
    assert change.status == ModelChangeStatus.RECORDED


# Deciding a held change after clearance


@pytest.fixture
def held(manufacturer, monitored):
    return notify(manufacturer, monitored.application, kind=ChangeKind.NEW_USE)


def test_a_cleared_case_offers_accept_or_refuse_but_not_suspend(monitored):
    assert decisions_open(monitored.application) == [ChangeDecision.ACCEPT, ChangeDecision.REFUSE]


def test_suspending_testing_on_a_cleared_device_is_refused_and_changes_nothing(reviewer, held):
    with pytest.raises(TransitionRefused, match="A cleared device has no testing to suspend"):
        model_change_decide(
            actor=reviewer, change_id=held.pk, decision=ChangeDecision.SUSPEND, reason="Unsafe."
        )
    held.refresh_from_db()
    held.application.refresh_from_db()
    assert held.status == ModelChangeStatus.HELD
    assert held.application.state == ApplicationState.CLEARED


def test_any_reviewer_free_of_a_conflict_decides_a_held_change_after_clearance(manufacturer, held):
    # Not the assigned reviewer: the REVIEWER rule is any reviewer without a conflict.
    other = UserFactory(role=Role.REVIEWER)
    change = model_change_decide(
        actor=other, change_id=held.pk, decision=ChangeDecision.ACCEPT, reason="Evidence holds."
    )
    assert change.status == ModelChangeStatus.ACCEPTED
    assert current_model_version(change.application.device).label == "3.0"
    assert Notification.objects.filter(
        recipient=manufacturer, kind=NotificationKind.MODEL_CHANGE, title__contains="accepted"
    ).exists()


def test_a_conflicted_reviewer_cannot_decide_a_held_change_after_clearance(
    organisation, reviewer, held
):
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=organisation, reason="Former adviser."
    )
    with pytest.raises(PermissionError, match="conflict of interest"):
        model_change_decide(
            actor=reviewer, change_id=held.pk, decision=ChangeDecision.REFUSE, reason="No."
        )
    held.refresh_from_db()
    assert held.status == ModelChangeStatus.HELD


def test_a_change_held_under_a_plan_since_ended_can_still_be_decided(
    reviewer, lead_reviewer, monitored, held
):
    monitoring_plan_end(actor=lead_reviewer, plan_id=monitored.pk, reason="Device withdrawn.")
    change = model_change_decide(
        actor=reviewer, change_id=held.pk, decision=ChangeDecision.REFUSE, reason="Not shown safe."
    )
    assert change.status == ModelChangeStatus.REFUSED
    assert not change.suspended_testing
