from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

import airlock.queue
from airlock.celery import app as celery_app
from devices.models import ApplicationEvent, ApplicationState, IncidentReport, IncidentSeverity
from devices.services import TransitionRefused
from notifications.models import Notification
from notifications.services import notification_emails_send, pending_emails_send
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    Comparator,
    Metric,
    MetricThreshold,
    SafetySignal,
    SignalSeverity,
    SignalSource,
)
from reviews.monitoring import SWEEP_GRACE, incidents, reports, signals
from tests.factories import make_application

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = datetime(2026, 7, 1, 10, 0, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def tasks_inline(monkeypatch):
    """Run each task sent on commit in this process instead of sending it to a broker."""
    # Services send tasks by name; load every tasks module so each name resolves here.
    celery_app.autodiscover_tasks(force=True)

    def run(task_name, *args):
        celery_app.tasks[task_name].apply(args=args)
        return True

    monkeypatch.setattr(airlock.queue, "enqueue", run)


@pytest.fixture
def case(organisation, manufacturer, reviewer):
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    MetricThreshold.objects.create(
        plan=application.testing_plan, metric=Metric.SPECIFICITY, value="0.85"
    )
    return application


@pytest.fixture
def checkpoint(case):
    return Checkpoint.objects.create(application=case, sequence=1, due_on=date(2026, 7, 1))


def submit(manufacturer, checkpoint, **metrics):
    return reports.checkpoint_report_submit(
        actor=manufacturer,
        checkpoint_id=checkpoint.pk,
        cases_processed=1200,
        metrics={"sensitivity": 0.93, "specificity": 0.9, **metrics},
        narrative="Stable month.",
    )


def evaluate(report):
    return reports.checkpoint_report_evaluate(report_id=report.pk)


def raised(report) -> list[SafetySignal]:
    """The signals a report raised: submitting evaluates it there and then."""
    return list(report.signals.order_by("metric"))


@pytest.fixture
def unevaluated(monkeypatch):
    """Submit a report as if evaluating it in the request had failed (the task and the sweep
    are there for that)."""

    def submit_only(manufacturer, checkpoint, **metrics):
        with monkeypatch.context() as patch:
            patch.setattr(reports, "checkpoint_report_evaluate", lambda **kwargs: [])
            return submit(manufacturer, checkpoint, **metrics)

    return submit_only


# --- Submission ------------------------------------------------------------------------------


def test_it_saves_the_report_evaluates_it_and_still_queues_the_task_for_repair(
    manufacturer, checkpoint, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        report = submit(manufacturer, checkpoint)

    checkpoint.refresh_from_db()
    report.refresh_from_db()
    assert checkpoint.status == CheckpointStatus.SUBMITTED
    assert report.metrics == {"sensitivity": 0.93, "specificity": 0.9}
    assert report.cases_processed == 1200
    # Evaluated in the request, so whoever reported sees the outcome at once...
    assert report.evaluated_at is not None
    # ...and the task still goes, finding it done (it repairs a failed evaluation).
    assert len(callbacks) == 1
    assert evaluate(report) == []


def test_it_refuses_a_second_report_for_the_same_checkpoint(manufacturer, checkpoint):
    submit(manufacturer, checkpoint)

    with pytest.raises(TransitionRefused, match="reported already"):
        submit(manufacturer, checkpoint)


def test_it_refuses_a_report_from_another_organisation(other_manufacturer, checkpoint):
    with pytest.raises(PermissionError):
        submit(other_manufacturer, checkpoint)
    assert not hasattr(Checkpoint.objects.get(pk=checkpoint.pk), "report")


def test_it_refuses_a_report_once_testing_is_over(manufacturer, organisation):
    application = make_application(ApplicationState.EVIDENCE_REVIEW, organisation=organisation)
    checkpoint = Checkpoint.objects.create(
        application=application, sequence=1, due_on=date(2026, 7, 1)
    )

    with pytest.raises(TransitionRefused, match="evidence review"):
        submit(manufacturer, checkpoint)


def test_it_requires_every_metric_the_plan_sets_a_threshold_for(manufacturer, checkpoint):
    with pytest.raises(ValidationError) as error:
        reports.checkpoint_report_submit(
            actor=manufacturer,
            checkpoint_id=checkpoint.pk,
            cases_processed=10,
            metrics={"sensitivity": 0.93},
        )

    assert error.value.message_dict["metrics"] == [
        "Specificity is required: the testing plan sets a threshold for it."
    ]


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"sensitivity": 1.2}, "Sensitivity is a proportion between 0 and 1, such as 0.92."),
        ({"sensitivity": "high"}, "Sensitivity must be a number."),
        ({"sensitivity": float("nan")}, "Sensitivity must be a number."),
        ({"wellbeing": 0.5}, "“wellbeing” is not a metric Airlock records."),
    ],
)
def test_it_rejects_figures_that_cannot_be_right(manufacturer, checkpoint, metrics, message):
    with pytest.raises(ValidationError) as error:
        reports.checkpoint_report_submit(
            actor=manufacturer,
            checkpoint_id=checkpoint.pk,
            cases_processed=10,
            metrics={"sensitivity": 0.9, "specificity": 0.9, **metrics},
        )

    assert message in error.value.message_dict["metrics"]


def test_a_calibration_slope_may_exceed_one(manufacturer, checkpoint):
    report = submit(manufacturer, checkpoint, calibration_slope=1.15)

    assert report.metrics["calibration_slope"] == 1.15


# --- Evaluation ------------------------------------------------------------------------------


def test_it_raises_nothing_when_every_threshold_is_met(manufacturer, checkpoint):
    report = submit(manufacturer, checkpoint)

    assert raised(report) == []
    report.refresh_from_db()
    assert report.evaluated_at is not None
    assert not SafetySignal.objects.exists()


def test_a_breach_raises_a_high_signal_and_testing_continues(manufacturer, checkpoint, case):
    report = submit(manufacturer, checkpoint, sensitivity=0.85)

    [signal] = raised(report)

    assert signal.severity == SignalSeverity.HIGH
    assert signal.source == SignalSource.CHECKPOINT_BREACH
    assert (signal.metric, signal.observed_value) == (Metric.SENSITIVITY, Decimal("0.85"))
    assert (
        signal.title == f"Sensitivity 0.85 breaches its threshold ({case.reference}, checkpoint 1)"
    )
    assert "the plan requires at least 0.9" in signal.description
    case.refresh_from_db()
    assert case.state == ApplicationState.IN_CONTROLLED_TESTING


def test_a_critical_breach_suspends_testing_as_the_scheduled_job(manufacturer, checkpoint, case):
    report = submit(manufacturer, checkpoint, sensitivity=0.75)

    [signal] = raised(report)

    assert signal.severity == SignalSeverity.CRITICAL
    case.refresh_from_db()
    assert case.state == ApplicationState.SUSPENDED
    event = ApplicationEvent.objects.get(application=case, transition="suspend")
    assert event.actor is None
    assert event.actor_label == "Airlock (automatically)"
    assert "Sensitivity 0.75 passed the critical limit of 0.8" in event.reason


def test_a_critical_breach_does_not_suspend_when_the_plan_says_not_to(
    manufacturer, checkpoint, case
):
    plan = case.testing_plan
    plan.suspend_on_critical_breach = False
    plan.save(update_fields=["suspend_on_critical_breach"])

    submit(manufacturer, checkpoint, sensitivity=0.75)

    case.refresh_from_db()
    assert case.state == ApplicationState.IN_CONTROLLED_TESTING


def test_a_critical_breach_on_a_suspended_case_changes_nothing_more(manufacturer, organisation):
    application = make_application(ApplicationState.SUSPENDED, organisation=organisation)
    checkpoint = Checkpoint.objects.create(
        application=application, sequence=1, due_on=date(2026, 7, 1)
    )
    report = reports.checkpoint_report_submit(
        actor=manufacturer,
        checkpoint_id=checkpoint.pk,
        cases_processed=5,
        metrics={"sensitivity": 0.5},
    )

    [signal] = raised(report)

    assert signal.severity == SignalSeverity.CRITICAL
    assert not ApplicationEvent.objects.filter(application=application).exists()


def test_an_at_most_threshold_is_breached_from_above(manufacturer, checkpoint, case):
    MetricThreshold.objects.create(
        plan=case.testing_plan,
        metric=Metric.OVERRIDE_RATE,
        comparator=Comparator.AT_MOST,
        value="0.20",
        critical_value="0.40",
    )
    report = submit(manufacturer, checkpoint, override_rate=0.3)

    [signal] = raised(report)

    assert (signal.metric, signal.severity) == (Metric.OVERRIDE_RATE, SignalSeverity.HIGH)
    assert "the plan requires at most 0.2" in signal.description


def test_a_subgroup_below_threshold_raises_a_medium_signal(manufacturer, checkpoint):
    report = reports.checkpoint_report_submit(
        actor=manufacturer,
        checkpoint_id=checkpoint.pk,
        cases_processed=1200,
        metrics={"sensitivity": 0.93, "specificity": 0.9},
        subgroup_metrics={"age 65+": {"sensitivity": 0.84}, "female": {"sensitivity": 0.95}},
    )

    [signal] = raised(report)

    assert signal.severity == SignalSeverity.MEDIUM
    assert "age 65+: 0.84" in signal.description
    assert "female" not in signal.description


def test_evaluating_twice_raises_each_signal_once(manufacturer, checkpoint, unevaluated):
    report = unevaluated(manufacturer, checkpoint, sensitivity=0.85, specificity=0.7)

    first = evaluate(report)
    second = evaluate(report)
    # Even if the outbox stamp were lost, the unique (report, metric) constraint holds.
    type(report).objects.filter(pk=report.pk).update(evaluated_at=None)
    third = evaluate(report)

    assert (len(first), second, third) == (2, [], [])
    assert SafetySignal.objects.count() == 2


def test_the_sweep_evaluates_reports_a_lost_message_left_behind(
    manufacturer, checkpoint, unevaluated
):
    report = unevaluated(manufacturer, checkpoint, sensitivity=0.85)
    assert reports.pending_reports_evaluate() == 0  # too recent: its task may be running

    with time_machine.travel(TODAY + timedelta(minutes=5), tick=False):
        raised = reports.pending_reports_evaluate()
        again = reports.pending_reports_evaluate()

    assert (raised, again) == (1, 0)
    report.refresh_from_db()
    assert report.evaluated_at is not None


@pytest.mark.parametrize(
    ("after", "evaluated"),
    [(SWEEP_GRACE, 0), (SWEEP_GRACE + timedelta(microseconds=1), 1)],
)
def test_the_sweep_leaves_a_report_to_its_task_until_the_grace_has_passed(
    manufacturer, checkpoint, unevaluated, after, evaluated
):
    report = unevaluated(manufacturer, checkpoint, sensitivity=0.85)

    with time_machine.travel(report.submitted_at + after, tick=False):
        assert reports.pending_reports_evaluate() == evaluated


def test_the_assigned_reviewer_is_emailed_about_a_breach(
    manufacturer, checkpoint, case, reviewer, tasks_inline, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(manufacturer, checkpoint, sensitivity=0.75)

    signal = SafetySignal.objects.get()
    notice = Notification.objects.get(key=f"signal:{signal.pk}")
    assert (notice.recipient, notice.emailed_at is not None) == (reviewer, True)
    [email] = [m for m in mail.outbox if m.to == [reviewer.email] and "signal" in m.subject]
    assert email.subject == f"Critical safety signal: {signal.title}"
    assert f"raised on application {case.reference}" in email.body
    assert "Overall sensitivity was 0.75; the plan requires at least 0.9." in email.body
    assert "Controlled testing is now suspended." in email.body
    assert reverse("reviews:signal-detail", args=[signal.pk]) in email.body
    assert "Controlled testing is now suspended." in email.alternatives[0][0]


def test_a_signal_is_emailed_once(manufacturer, checkpoint, reviewer):
    report = submit(manufacturer, checkpoint, sensitivity=0.85)
    [signal] = raised(report)
    key = f"signal:{signal.pk}"

    assert notification_emails_send(key=key) == 1
    assert notification_emails_send(key=key) == 0
    with time_machine.travel(TODAY + timedelta(minutes=5), tick=False):
        assert pending_emails_send() == 0
    assert len(mail.outbox) == 1


def test_a_signal_a_reviewer_raises_reaches_the_others_but_not_them(case, reviewer, lead_reviewer):
    signal = signals.safety_signal_raise(
        actor=lead_reviewer,
        application_id=case.pk,
        severity=SignalSeverity.HIGH,
        title="Drift at site B",
        description="Override rate doubled.",
    )

    assert list(
        Notification.objects.filter(key=f"signal:{signal.pk}").values_list("recipient", flat=True)
    ) == [reviewer.pk]


# --- Incidents -------------------------------------------------------------------------------


def report_incident(manufacturer, case, severity, aware_days_ago=0, **kwargs):
    today = TODAY.date()
    return incidents.incident_report_submit(
        actor=manufacturer,
        application_id=case.pk,
        severity=severity,
        occurred_on=kwargs.pop("occurred_on", today - timedelta(days=aware_days_ago + 1)),
        aware_on=kwargs.pop("aware_on", today - timedelta(days=aware_days_ago)),
        description="Missed nodule on a chest X-ray; patient recalled.",
        **kwargs,
    )


@pytest.mark.parametrize(
    ("severity", "days", "signal_severity"),
    [
        (IncidentSeverity.PUBLIC_HEALTH_THREAT, 2, SignalSeverity.CRITICAL),
        (IncidentSeverity.DEATH_OR_DETERIORATION, 10, SignalSeverity.CRITICAL),
        (IncidentSeverity.OTHER_SERIOUS, 15, SignalSeverity.HIGH),
    ],
)
def test_an_incident_carries_its_statutory_clock_and_raises_a_signal(
    manufacturer, case, severity, days, signal_severity
):
    incident = report_incident(manufacturer, case, severity)

    assert incident.report_due_on == TODAY.date() + timedelta(days=days)
    assert not incident.reported_late
    signal = SafetySignal.objects.get(incident=incident)
    assert (signal.source, signal.severity) == (SignalSource.INCIDENT, signal_severity)
    assert f"Reported within the {days}-day statutory period." in signal.description


def test_a_late_incident_report_is_accepted_and_says_so(manufacturer, case):
    incident = report_incident(
        manufacturer, case, IncidentSeverity.PUBLIC_HEALTH_THREAT, aware_days_ago=5
    )

    assert incident.reported_late
    signal = SafetySignal.objects.get(incident=incident)
    assert "Reported late: due within 2 days of awareness, by 28 June 2026." in signal.description


@pytest.mark.parametrize(
    ("dates", "field", "message"),
    [
        ({"occurred_on": date(2026, 7, 2)}, "occurred_on", "cannot be in the future"),
        ({"aware_on": date(2026, 7, 2)}, "aware_on", "cannot be in the future"),
        (
            {"occurred_on": date(2026, 6, 20), "aware_on": date(2026, 6, 19)},
            "aware_on",
            "before the incident happened",
        ),
    ],
)
def test_it_rejects_impossible_incident_dates(manufacturer, case, dates, field, message):
    with pytest.raises(ValidationError) as error:
        report_incident(manufacturer, case, IncidentSeverity.OTHER_SERIOUS, **dates)

    assert message in error.value.message_dict[field][0]
    assert not IncidentReport.objects.exists()


def test_incidents_are_taken_only_once_testing_has_begun(manufacturer, organisation):
    application = make_application(ApplicationState.ACCEPTED, organisation=organisation)

    with pytest.raises(TransitionRefused, match="once controlled testing has begun"):
        report_incident(manufacturer, application, IncidentSeverity.OTHER_SERIOUS)


def test_another_organisation_cannot_report_an_incident(other_manufacturer, case):
    with pytest.raises(PermissionError):
        report_incident(other_manufacturer, case, IncidentSeverity.OTHER_SERIOUS)
