from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from devices.models import ApplicationState, CheckpointReport, IncidentReport
from devices.services import application_transition
from reviews.models import Checkpoint, CheckpointStatus, SafetySignal, SignalSeverity
from reviews.monitoring import reports
from reviews.tasks import evaluate_pending_reports
from tests.factories import make_application

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 7, 1, 10, 0, tzinfo=LONDON)

VALID = {
    "cases_processed": "1200",
    "metric_sensitivity": "0.93",
    "subgroup_figures": "age 65+, sensitivity, 0.91\nage 65+, Specificity, 0.88",
    "incidents_count": "0",
    "narrative": "Stable month at both sites.",
}


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def case(organisation, manufacturer, reviewer):
    return make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )


@pytest.fixture
def checkpoint(case):
    return Checkpoint.objects.create(application=case, sequence=1, due_on=date(2026, 7, 1))


def report_url(application, sequence=1):
    return reverse("devices:checkpoint-report", args=[application.pk, sequence])


def page_url(application):
    return reverse("devices:testing", args=[application.pk])


# --- The testing page ------------------------------------------------------------------------


def test_it_shows_the_plan_checkpoints_and_incidents(
    client, manufacturer, case, checkpoint, django_assert_max_num_queries
):
    Checkpoint.objects.create(application=case, sequence=2, due_on=date(2026, 7, 29))
    client.force_login(manufacturer)

    with django_assert_max_num_queries(12):
        response = client.get(page_url(case))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Sensitivity" in page
    assert "at least 0.9" in page
    assert report_url(case, 1) in page
    assert report_url(case, 2) in page
    assert "Report a serious incident" in page


def test_it_tells_the_manufacturer_why_testing_is_suspended(client, manufacturer, reviewer, case):
    application_transition(
        application_id=case.pk,
        action="suspend",
        actor=reviewer,
        reason="Sensitivity fell below the critical limit at two sites.",
    )
    client.force_login(manufacturer)

    page = client.get(page_url(case)).content.decode()

    assert "Testing is suspended" in page
    assert "Sensitivity fell below the critical limit at two sites." in page


def test_the_testing_page_is_get_only(client, manufacturer, case):
    client.force_login(manufacturer)

    assert client.post(page_url(case)).status_code == 405


def test_another_organisation_cannot_see_the_testing_page(client, other_manufacturer, case):
    client.force_login(other_manufacturer)

    assert client.get(page_url(case)).status_code == 404
    assert client.get(report_url(case)).status_code == 404
    assert client.get(reverse("devices:incident-report", args=[case.pk])).status_code == 404


def test_reviewers_use_their_own_pages(client, reviewer, case):
    client.force_login(reviewer)

    assert client.get(page_url(case)).status_code == 403


def test_a_missing_application_or_checkpoint_is_not_found(client, manufacturer, case, checkpoint):
    client.force_login(manufacturer)

    assert client.get(page_url(case).replace(str(case.pk), "999999")).status_code == 404
    assert client.get(report_url(case, 7)).status_code == 404


def test_signing_in_is_required(client, case):
    response = client.get(page_url(case))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- Checkpoint report form ------------------------------------------------------------------


def test_the_form_asks_for_the_plan_metrics_first(client, manufacturer, case, checkpoint):
    client.force_login(manufacturer)

    response = client.get(report_url(case))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'for="id_metric_sensitivity"' in page
    assert page.index("Metrics in the testing plan") < page.index("Other metrics (optional)")
    assert "Due Wednesday 1 July 2026" in page


def test_it_saves_a_report_and_queues_its_evaluation(
    client, manufacturer, case, checkpoint, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("airlock.queue.enqueue", lambda task_name, *args: sent.append(task_name))
    client.force_login(manufacturer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(report_url(case), VALID)

    assert response.status_code == 302
    assert response.url == page_url(case)
    report = CheckpointReport.objects.get()
    assert report.metrics == {"sensitivity": 0.93}
    assert report.subgroup_metrics == {"age 65+": {"sensitivity": 0.91, "specificity": 0.88}}
    assert report.narrative == "Stable month at both sites."
    assert sent == ["reviews.tasks.evaluate_checkpoint_report"]
    checkpoint.refresh_from_db()
    assert checkpoint.status == CheckpointStatus.SUBMITTED
    followed = client.get(response.url).content.decode()
    assert "Checkpoint 1 report submitted." in followed


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"metric_sensitivity": ""},
            "metric_sensitivity",
            "Enter the sensitivity or its counts: the testing plan sets a threshold for it.",
        ),
        (
            {"metric_sensitivity": "1.5"},
            "metric_sensitivity",
            "Sensitivity is a proportion between 0 and 1, such as 0.92.",
        ),
        (
            {"metric_sensitivity": "lots"},
            "metric_sensitivity",
            "Sensitivity must be a number, such as 0.92.",
        ),
        ({"cases_processed": "-3"}, "cases_processed", "cannot be negative"),
        ({"subgroup_figures": "age 65+ sensitivity 0.9"}, "subgroup_figures", "Line 1: write"),
        ({"subgroup_figures": "women, joy, 0.9"}, "subgroup_figures", "“joy” is not a metric"),
        (
            {"subgroup_figures": "women, sensitivity, 7"},
            "subgroup_figures",
            "Sensitivity is a proportion between 0 and 1, such as 0.92.",
        ),
    ],
)
def test_bad_figures_are_shown_against_their_fields(
    client, manufacturer, case, checkpoint, changes, field, message
):
    client.force_login(manufacturer)

    response = client.post(report_url(case), {**VALID, **changes})

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert 'id="error-summary"' in response.content.decode()
    assert not CheckpointReport.objects.exists()


def test_a_reported_checkpoint_cannot_be_reported_again(client, manufacturer, case, checkpoint):
    client.force_login(manufacturer)
    client.post(report_url(case), VALID)

    response = client.post(report_url(case), VALID, follow=True)

    assert "has been reported already" in response.content.decode()
    assert CheckpointReport.objects.count() == 1


def test_a_refusal_is_shown_as_a_message(client, manufacturer, organisation):
    application = make_application(ApplicationState.EVIDENCE_REVIEW, organisation=organisation)
    Checkpoint.objects.create(application=application, sequence=1, due_on=date(2026, 7, 1))
    client.force_login(manufacturer)

    response = client.post(report_url(application), VALID, follow=True)

    assert "Checkpoint reports are taken during controlled testing" in response.content.decode()
    assert not CheckpointReport.objects.exists()


def test_the_report_form_refuses_other_methods(client, manufacturer, case, checkpoint):
    client.force_login(manufacturer)

    assert client.put(report_url(case)).status_code == 405


def test_a_report_is_evaluated_in_the_request_so_the_page_shows_the_breach(
    client, manufacturer, case, checkpoint, dead_broker, django_capture_on_commit_callbacks
):
    client.force_login(manufacturer)

    # The broker is down, too: the evaluation does not wait for it.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(report_url(case), {**VALID, "metric_sensitivity": "0.75"})
    page = client.get(response.url).content.decode()

    report = CheckpointReport.objects.get()
    assert report.evaluated_at is not None
    assert SafetySignal.objects.get().severity == SignalSeverity.CRITICAL
    case.refresh_from_db()
    assert case.state == ApplicationState.SUSPENDED
    assert "It breaches the agreed thresholds: sensitivity 0.75 (critical)." in page
    assert "Testing is suspended; your reviewer has been told" in page
    assert "Testing is suspended" in page  # the banner, with the suspension's reason
    assert "Critical breach" in page
    assert "Reported, thresholds met" not in page


def test_a_report_whose_evaluation_fails_is_kept_and_evaluated_by_the_sweep(
    client,
    manufacturer,
    case,
    checkpoint,
    dead_broker,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    real = reports.checkpoint_report_evaluate

    def fails(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(reports, "checkpoint_report_evaluate", fails)
    client.force_login(manufacturer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(report_url(case), {**VALID, "metric_sensitivity": "0.85"})

    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "the figures are being checked against the agreed thresholds" in page
    report = CheckpointReport.objects.get()
    assert report.evaluated_at is None
    assert not SafetySignal.objects.exists()

    monkeypatch.setattr(reports, "checkpoint_report_evaluate", real)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        evaluate_pending_reports()

    report.refresh_from_db()
    assert report.evaluated_at is not None
    assert SafetySignal.objects.get().severity == SignalSeverity.HIGH


# --- Incident report form --------------------------------------------------------------------

INCIDENT = {
    "severity": "death_or_deterioration",
    "occurred_on": "2026-06-28",
    "aware_on": "2026-06-29",
    "description": "A missed pneumothorax; the patient deteriorated before review.",
    "actions_taken": "Site paused use of the tool for urgent cases.",
}


def test_it_records_an_incident_with_its_statutory_deadline(client, manufacturer, case):
    client.force_login(manufacturer)

    response = client.post(reverse("devices:incident-report", args=[case.pk]), INCIDENT)

    assert response.status_code == 302
    incident = IncidentReport.objects.get()
    assert incident.report_due_on == date(2026, 7, 9)
    assert SafetySignal.objects.get(incident=incident).severity == SignalSeverity.CRITICAL
    page = client.get(response.url).content.decode()
    assert "Incident reported. Your reviewer has been told." in page
    assert "9 Jul 2026" in page


def test_a_late_incident_is_accepted_with_a_warning(client, manufacturer, case):
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:incident-report", args=[case.pk]),
        {**INCIDENT, "severity": "public_health_threat", "aware_on": "2026-06-28"},
        follow=True,
    )

    assert (
        "It was due by 30 June 2026: the record shows it arrived late." in response.content.decode()
    )


def test_impossible_incident_dates_are_field_errors(client, manufacturer, case):
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:incident-report", args=[case.pk]),
        {**INCIDENT, "aware_on": "2026-06-01"},
    )

    assert response.status_code == 200
    assert "before the incident happened" in response.context["form"].errors["aware_on"][0]
    assert not IncidentReport.objects.exists()


def test_a_blank_incident_form_shows_every_missing_field(client, manufacturer, case):
    client.force_login(manufacturer)

    response = client.post(reverse("devices:incident-report", args=[case.pk]), {})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {
        "severity",
        "occurred_on",
        "aware_on",
        "description",
    }
