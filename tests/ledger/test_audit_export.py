"""The audit export: lead reviewers and administrators download the audit rows an inspection
asks for, by case, person and period, as CSV or JSON."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from airlock.models import SecurityEvent, SecurityEventKind
from devices.models import ApplicationState
from devices.services import application_transition
from ledger.models import ChainLink
from reviews.models import ConflictOfInterest
from tests.factories import make_application

URL = reverse("ledger:audit-export")


@pytest.fixture
def case(reviewer, manufacturer, organisation):
    application = make_application(
        ApplicationState.SUBMITTED, organisation=organisation, created_by=manufacturer
    )
    application_transition(application_id=application.pk, action="start_screening", actor=reviewer)
    application_transition(
        application_id=application.pk,
        action="withdraw",
        actor=manufacturer,
        reason="No longer needed.",
    )
    SecurityEvent.objects.create(user=manufacturer, kind=SecurityEventKind.TWO_FACTOR_SET_UP)
    return application


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_it_shows_the_form_to_a_lead_reviewer(client, lead_reviewer):
    client.force_login(lead_reviewer)
    response = client.get(URL)
    assert response.status_code == 200
    assert b"Export the audit trail" in response.content
    assert b'name="case"' in response.content


@pytest.mark.parametrize("persona", ["reviewer", "manufacturer"])
def test_it_refuses_everyone_but_leads_and_administrators(client, persona, request, case):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(URL, {"case": case.reference, "format": "csv"}).status_code == 403


def test_it_sends_visitors_to_sign_in(client):
    assert client.get(URL)["Location"].startswith(reverse("login"))


def test_it_exports_a_case_as_csv_with_formulas_defused(
    client, lead_reviewer, case, django_assert_max_num_queries
):
    client.force_login(lead_reviewer)
    with django_assert_max_num_queries(20):
        response = client.get(URL, {"case": case.reference.lower(), "format": "csv"})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:3] == ["Link", "Table", "Row"]
    assert {row[4] for row in rows[1:]} == {case.reference}
    withdrawal = next(row for row in rows[1:] if row[6] == "Transition: withdraw")
    assert withdrawal[7] == "screening → withdrawn. No longer needed."
    links = [int(row[0]) for row in rows[1:]]
    assert links == sorted(links)
    link = ChainLink.objects.get(seq=links[-1])
    assert rows[-1][9] == link.hash
    assert not any(row[1] == "airlock.securityevent" for row in rows)


def test_it_defuses_a_cell_that_starts_like_a_formula(client, lead_reviewer, case, reviewer):
    reviewer.full_name = "=cmd|' /C calc'!A0"
    reviewer.save()
    client.force_login(lead_reviewer)
    rows = _csv(client.get(URL, {"case": case.reference, "format": "csv"}))
    people = [row[5] for row in rows[1:] if row[6] == "Transition: start_screening"]
    assert people == ["'=cmd|' /C calc'!A0"]


def test_it_exports_a_person_over_a_period_as_json(client, admin_user, case, manufacturer):
    client.force_login(admin_user)
    today = timezone.localdate()
    response = client.get(
        URL,
        {
            "person": manufacturer.email.upper(),
            "since": (today - timedelta(days=1)).isoformat(),
            "until": today.isoformat(),
            "format": "json",
        },
    )
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["filters"]["person"] == manufacturer.email
    tables = {row["table"] for row in body["rows"]}
    # The administrator also sees sign-in security events, which name no case.
    assert "airlock.securityevent" in tables
    assert "devices.applicationevent" in tables
    assert all(manufacturer.full_name in row["people"] for row in body["rows"])


def test_it_finds_nothing_before_the_period(client, lead_reviewer, case):
    client.force_login(lead_reviewer)
    since = (timezone.localdate() + timedelta(days=1)).isoformat()
    body = json.loads(client.get(URL, {"since": since, "format": "json"}).content)
    assert body["rows"] == []


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"case": "AIA-1999-0001"}, b"No case has this reference"),
        ({"person": "nobody@example.test"}, b"Nobody in Airlock has this email"),
        ({"person": "not an email"}, b"valid email"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, b"on or after its start"),
        ({"since": "yesterday"}, b"Enter a real date"),
        ({"format": "xml"}, b"Select a valid choice"),
    ],
)
def test_it_explains_bad_filters_on_the_form(client, lead_reviewer, case, query, error):
    client.force_login(lead_reviewer)
    response = client.get(URL, {"format": "csv", **query})
    assert response.status_code == 200
    assert error in response.content
    assert b"There is a problem" in response.content


def test_it_hides_a_case_the_lead_is_conflicted_with(client, lead_reviewer, case):
    ConflictOfInterest.objects.create(
        reviewer=lead_reviewer, organisation=case.organisation, reason="Former employer."
    )
    client.force_login(lead_reviewer)
    response = client.get(URL, {"case": case.reference, "format": "csv"})
    assert b"No case has this reference" in response.content
    body = json.loads(client.get(URL, {"format": "json"}).content)
    assert body["rows"] == []


def test_it_refuses_a_post(client, lead_reviewer):
    client.force_login(lead_reviewer)
    assert client.post(URL).status_code == 405
