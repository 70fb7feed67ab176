import hashlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

import airlock.queue
from devices.models import ApplicationState, CheckpointReport
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    IncomingAlert,
    PartnerRegulator,
    SafetySignal,
    SignalSeverity,
    SignalSource,
)
from tests.factories import make_application

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
PARTNER_TOKEN = "partner-inbound-token-1234567890"


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(datetime(2026, 7, 1, 10, 0, tzinfo=LONDON), tick=False):
        yield


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(airlock.queue, "enqueue", lambda task_name, *args: sent.append(task_name))
    return sent


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def api(manufacturer):
    return api_for(manufacturer)


@pytest.fixture
def case(organisation, manufacturer):
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation
    )
    Checkpoint.objects.create(application=application, sequence=1, due_on=date(2026, 7, 1))
    return application


@pytest.fixture
def other_case(other_manufacturer):
    return make_application(
        ApplicationState.IN_CONTROLLED_TESTING,
        organisation=other_manufacturer.membership.organisation,
    )


def report_path(application, sequence=1):
    return f"/api/applications/{application.reference}/checkpoints/{sequence}/report/"


REPORT = {
    "cases_processed": 1400,
    "metrics": {"sensitivity": 0.92},
    "subgroup_metrics": {"age 65+": {"sensitivity": 0.9}},
    "incidents_count": 0,
    "narrative": "Pushed by the manufacturer's monitoring system.",
}


# --- Manufacturer systems --------------------------------------------------------------------


def test_it_needs_a_token():
    response = APIClient().get("/api/applications/")

    assert response.status_code == 401


def test_it_lists_only_the_organisations_own_applications(api, case, other_case):
    response = api.get("/api/applications/")

    assert response.status_code == 200
    references = [row["reference"] for row in response.json()["results"]]
    assert references == [case.reference]
    assert response.json()["results"][0]["state_label"] == "In controlled testing"


def test_it_shows_one_application_with_its_clock_and_checkpoints(api, case):
    response = api.get(f"/api/applications/{case.reference}/")

    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["state_label"]) == (
        "in_controlled_testing",
        "In controlled testing",
    )
    assert body["clock"] is None  # no review clock runs during testing
    assert body["checkpoints"] == [
        {
            "sequence": 1,
            "due_on": "2026-07-01",
            "status": "scheduled",
            "status_label": "Scheduled",
            "report_submitted_at": None,
            # A testing checkpoint: no post-clearance monitoring plan.
            "monitoring_plan": None,
        }
    ]
    assert body["thresholds"][0]["metric"] == "sensitivity"
    assert body["monitoring_plans"] == []


def test_a_running_clock_is_reported(api, organisation):
    application = make_application(ApplicationState.DRAFT, organisation=organisation)
    type(application).objects.filter(pk=application.pk).update(
        state=ApplicationState.SCREENING, clock_stage="screening", clock_due_on=date(2026, 7, 3)
    )

    clock = api.get(f"/api/applications/{application.reference}/").json()["clock"]

    assert clock == {
        "stage": "screening",
        "stage_label": "Screening decision",
        "due_on": "2026-07-03",
        "paused_on": None,
        "status": "due_soon",
    }


def test_another_organisations_application_is_not_found(api, other_case):
    assert api.get(f"/api/applications/{other_case.reference}/").status_code == 404
    assert api.post(report_path(other_case), REPORT, format="json").status_code == 404


def test_a_missing_application_is_not_found(api):
    assert api.get("/api/applications/AIA-2099-9999/").status_code == 404


def test_reviewer_accounts_cannot_use_the_manufacturer_api(reviewer):
    assert api_for(reviewer).get("/api/applications/").status_code == 403


def test_it_accepts_a_checkpoint_report_through_the_same_service(
    api, case, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(report_path(case), REPORT, format="json")

    assert response.status_code == 201
    assert response.json()["sequence"] == 1
    report = CheckpointReport.objects.get()
    assert report.metrics == {"sensitivity": 0.92}
    assert report.subgroup_metrics == {"age 65+": {"sensitivity": 0.9}}
    assert Checkpoint.objects.get().status == CheckpointStatus.SUBMITTED
    assert queued == ["reviews.tasks.evaluate_checkpoint_report"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**REPORT, "metrics": {}}, "metrics"),
        ({**REPORT, "metrics": {"sensitivity": 3}}, "metrics"),
        ({**REPORT, "metrics": {"sensitivity": "high"}}, "metrics"),
        ({**REPORT, "metrics": ["sensitivity"]}, "metrics"),
        ({**REPORT, "subgroup_metrics": {"age 65+": {"sensitivity": -1}}}, "subgroup_metrics"),
        ({**REPORT, "subgroup_metrics": {"age 65+": 0.9}}, "subgroup_metrics"),
        ({**REPORT, "cases_processed": -1}, "cases_processed"),
        ({"metrics": {"sensitivity": 0.9}}, "cases_processed"),
    ],
)
def test_bad_reports_get_field_errors(api, case, body, field):
    response = api.post(report_path(case), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not CheckpointReport.objects.exists()


def test_a_body_that_is_not_json_is_a_bad_request(api, case):
    response = api.post(report_path(case), "{not json", content_type="application/json")

    assert response.status_code == 400


def test_a_second_report_is_a_conflict(api, case, queued):
    api.post(report_path(case), REPORT, format="json")

    response = api.post(report_path(case), REPORT, format="json")

    assert response.status_code == 409
    assert "reported already" in response.json()["detail"]


def test_an_unknown_checkpoint_is_not_found(api, case):
    assert api.post(report_path(case, 9), REPORT, format="json").status_code == 404


def test_the_report_endpoint_only_takes_posts(api, case):
    assert api.get(report_path(case)).status_code == 405


# --- Partner regulators ----------------------------------------------------------------------


@pytest.fixture
def partner():
    return PartnerRegulator.objects.create(
        name="Health Canada",
        country="Canada",
        inbound_token_sha256=hashlib.sha256(PARTNER_TOKEN.encode()).hexdigest(),
    )


@pytest.fixture
def partner_api(partner):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {PARTNER_TOKEN}")
    return client


@pytest.fixture
def shared_signals(case):
    def make(title, shared_at):
        return SafetySignal.objects.create(
            application=case,
            severity=SignalSeverity.HIGH,
            source=SignalSource.REVIEWER,
            title=title,
            description="-",
            shared_at=shared_at,
        )

    now = timezone.now()
    return [
        make("Shared last week", now - timedelta(days=7)),
        make("Shared today", now),
        make("Never shared", None),
    ]


def test_the_feed_lists_shared_alerts_newest_first(partner_api, shared_signals):
    response = partner_api.get("/api/alerts/feed/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [alert["title"] for alert in results] == ["Shared today", "Shared last week"]
    assert results[0]["id"] == f"airlock-signal-{shared_signals[1].pk}"
    assert results[0]["device"]["manufacturer"] == "Demo Diagnostics Ltd"


def test_the_feed_filters_by_time(partner_api, shared_signals):
    response = partner_api.get("/api/alerts/feed/", {"since": "2026-06-30T00:00:00Z"})

    assert [alert["title"] for alert in response.json()["results"]] == ["Shared today"]
    bad = partner_api.get("/api/alerts/feed/", {"since": "last tuesday"})
    assert bad.status_code == 400
    assert "since" in bad.json()


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", "Bearer", "Token abc", f"Bearer {PARTNER_TOKEN} extra"],
)
def test_the_feed_refuses_anyone_without_a_partner_token(partner, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get("/api/alerts/feed/").status_code == 401


def test_an_inactive_partner_is_refused(partner, partner_api):
    partner.is_active = False
    partner.save()

    assert partner_api.get("/api/alerts/feed/").status_code == 401


def test_a_manufacturer_token_does_not_open_the_feed(api):
    assert api.get("/api/alerts/feed/").status_code == 401


ALERT = {
    "id": "HC-2026-17",
    "title": "Drift in a chest X-ray triage model",
    "severity": "medium",
    "summary": "Specificity fell from 0.92 to 0.81 after a scanner upgrade.",
    "device_name": "ChestView 3",
}


def test_a_partner_pushes_an_alert_once_however_often_it_retries(partner_api, partner):
    first = partner_api.post("/api/alerts/incoming/", ALERT, format="json")
    again = partner_api.post("/api/alerts/incoming/", ALERT, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    alert = IncomingAlert.objects.get()
    assert (alert.partner, alert.external_id, alert.device_name) == (
        partner,
        "HC-2026-17",
        "ChestView 3",
    )
    assert alert.payload["summary"] == ALERT["summary"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"severity": "apocalyptic"}, "severity"),
        ({"id": ""}, "id"),
        ({"title": "x" * 201}, "title"),
        ({"summary": None}, "summary"),
    ],
)
def test_a_malformed_alert_gets_field_errors(partner_api, changes, field):
    response = partner_api.post("/api/alerts/incoming/", {**ALERT, **changes}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not IncomingAlert.objects.exists()


def test_an_alert_with_a_nul_anywhere_is_refused(partner_api):
    # The whole document is stored, and PostgreSQL's jsonb cannot hold a NUL character.
    response = partner_api.post(
        "/api/alerts/incoming/", {**ALERT, "extra": {"note": "a\x00b"}}, format="json"
    )

    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert not IncomingAlert.objects.exists()


def test_pushing_an_alert_needs_a_partner_token(api):
    assert api.post("/api/alerts/incoming/", ALERT, format="json").status_code == 401


# --- Schema ----------------------------------------------------------------------------------


def test_the_openapi_schema_describes_every_endpoint():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) >= {
        "/api/applications/",
        "/api/applications/{reference}/",
        "/api/applications/{reference}/checkpoints/{sequence}/report/",
        "/api/alerts/feed/",
        "/api/alerts/incoming/",
    }


def test_the_api_docs_load_nothing_from_a_cdn():
    page = APIClient().get("/api/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()
