"""API keys an organisation's administrator manages: shown once, stored hashed, limited to
their scope and expiry, revocable, with their last use shown."""

import hashlib
import re
from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

import airlock.queue
from devices.models import ApplicationState, CheckpointReport
from reviews.models import Checkpoint
from teams.api_keys import api_key_create, api_key_revoke
from teams.models import ApiKey, TeamEvent, TeamEventKind
from teams.services import TeamRefused, membership_remove
from tests.factories import make_application, make_manufacturer

pytestmark = pytest.mark.django_db

REPORT = {"cases_processed": 1400, "metrics": {"sensitivity": 0.92}}


@pytest.fixture
def case(organisation, manufacturer):
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation
    )
    Checkpoint.objects.create(application=application, sequence=1, due_on=date.today())
    return application


@pytest.fixture(autouse=True)
def _queued(monkeypatch):
    monkeypatch.setattr(airlock.queue, "enqueue", lambda task_name, *args: None)


def _api(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def _key(manufacturer, scope="read", days=30):
    return api_key_create(actor=manufacturer, name="Monitoring", scope=scope, expires_in_days=days)


def test_it_stores_only_a_fingerprint_and_audits(manufacturer):
    key, secret = _key(manufacturer)

    assert secret.startswith("ak_")
    assert key.key_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.values().get())
    event = TeamEvent.objects.get()
    assert event.kind == TeamEventKind.API_KEY_CREATED
    assert secret not in event.detail


def test_a_read_key_reads_cases_and_records_its_use(manufacturer, case):
    key, secret = _key(manufacturer)

    response = _api(secret).get("/api/applications/")

    assert response.status_code == 200
    assert [row["reference"] for row in response.json()["results"]] == [case.reference]
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_a_read_key_cannot_report(manufacturer, case):
    _key_row, secret = _key(manufacturer, scope="read")

    response = _api(secret).post(
        f"/api/applications/{case.reference}/checkpoints/1/report/", REPORT, format="json"
    )

    assert response.status_code == 403
    assert "scope" in response.json()["detail"]
    assert not CheckpointReport.objects.exists()


def test_a_report_key_reports(manufacturer, case, django_capture_on_commit_callbacks):
    _key_row, secret = _key(manufacturer, scope="report")

    with django_capture_on_commit_callbacks(execute=True):
        response = _api(secret).post(
            f"/api/applications/{case.reference}/checkpoints/1/report/", REPORT, format="json"
        )

    assert response.status_code == 201
    assert CheckpointReport.objects.get().submitted_by == manufacturer


def test_an_expired_or_revoked_key_is_refused(manufacturer, case):
    key, secret = _key(manufacturer, days=1)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert _api(secret).get("/api/applications/").status_code == 401
    api_key_revoke(actor=manufacturer, key_id=key.pk)

    assert _api(secret).get("/api/applications/").status_code == 401
    assert TeamEvent.objects.filter(kind=TeamEventKind.API_KEY_REVOKED).count() == 1
    with pytest.raises(TeamRefused):
        api_key_revoke(actor=manufacturer, key_id=key.pk)


def test_a_wrong_key_is_refused(manufacturer):
    assert _api("ak_not-a-real-key").get("/api/applications/").status_code == 401


def test_another_organisation_s_case_is_not_found_with_a_key(manufacturer, other_manufacturer):
    other = make_application(
        ApplicationState.IN_CONTROLLED_TESTING,
        organisation=other_manufacturer.membership.organisation,
    )
    _key_row, secret = _key(manufacturer)

    assert _api(secret).get(f"/api/applications/{other.reference}/").status_code == 404


def test_removing_the_maker_revokes_their_keys(manufacturer, organisation, case):
    colleague = make_manufacturer(organisation)
    _key_row, secret = _key(colleague)

    membership_remove(actor=manufacturer, membership_id=colleague.membership.pk)

    assert _api(secret).get("/api/applications/").status_code == 401
    assert ApiKey.objects.get().revoked_by == manufacturer


@pytest.mark.parametrize("role", ["contributor", "viewer"])
def test_only_an_administrator_makes_keys(organisation, role, client):
    person = make_manufacturer(organisation, org_role=role)

    with pytest.raises(PermissionError):
        _key(person)
    client.force_login(person)
    assert client.get(reverse("teams:api-keys")).status_code == 403
    assert not ApiKey.objects.exists()


def test_the_account_token_command_s_tokens_still_work(manufacturer, case):
    token = Token.objects.create(user=manufacturer)

    assert _api(token.key).get("/api/applications/").status_code == 200


def test_the_page_shows_a_new_key_once(client, manufacturer):
    client.force_login(manufacturer)

    made = client.post(
        reverse("teams:api-keys"), {"name": "Monitoring", "scope": "report", "expires_in_days": 30}
    )

    page = made.content.decode()
    assert made.status_code == 200
    key = ApiKey.objects.get()
    secret = re.search(r'id="new-key"[^>]*value="([^"]+)"', page).group(1)
    assert hashlib.sha256(secret.encode()).hexdigest() == key.key_sha256
    again = client.get(reverse("teams:api-keys")).content.decode()
    assert secret not in again
    assert key.prefix in again
    assert "Never" in again


def test_the_page_shows_form_errors(client, manufacturer):
    client.force_login(manufacturer)

    response = client.post(
        reverse("teams:api-keys"), {"name": "", "scope": "admin", "expires_in_days": 9999}
    )

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_page_revokes_a_key(client, manufacturer, other_manufacturer):
    key, _secret = _key(manufacturer)
    client.force_login(other_manufacturer)
    assert client.post(reverse("teams:api-key-revoke", args=[key.pk])).status_code == 404
    client.force_login(manufacturer)

    client.post(reverse("teams:api-key-revoke", args=[key.pk]))

    key.refresh_from_db()
    assert key.revoked_at is not None
