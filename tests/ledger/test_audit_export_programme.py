"""The audit export's rows about no case: observer invitations (and their cancelling and
joining), calls, themes and programme reports are the programme's own, in every export that
names no case and alone under "Only the rows about no case"; sign-in security, teams and
revoked documents stay for administrators."""

import json

import pytest
from django.urls import reverse

from airlock.models import SecurityEvent, SecurityEventKind
from devices.models import ApplicationState
from devices.selectors import applications_for
from devices.services import application_transition
from findings.services import theme_create
from ledger.export import audit_rows
from ledger.models import ChainLink
from observers.invitations import observer_invitation_cancel, observer_invite
from reviews.models import ConflictOfInterest
from tests.factories import make_application

URL = reverse("ledger:audit-export")
INVITEE = "observer@nhs.example"


@pytest.fixture
def trail(reviewer, lead_reviewer, manufacturer, organisation):
    """A case screened, an observer invited and the invitation cancelled, a theme, and a
    sign-in security event: rows about a case, the programme's, and an administrator's."""
    application = make_application(
        ApplicationState.SUBMITTED, organisation=organisation, created_by=manufacturer
    )
    application_transition(application_id=application.pk, action="start_screening", actor=reviewer)
    invitation = observer_invite(actor=lead_reviewer, email=INVITEE, body="NHS North")
    observer_invitation_cancel(actor=lead_reviewer, invitation_id=invitation.pk)
    theme_create(actor=lead_reviewer, name="Drift in practice")
    SecurityEvent.objects.create(user=manufacturer, kind=SecurityEventKind.TWO_FACTOR_SET_UP)
    return application


def _rows(client, **query) -> list[dict]:
    response = client.get(URL, {"format": "json", **query})
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)["rows"]


def test_an_export_of_every_case_includes_the_observer_invitations(client, lead_reviewer, trail):
    client.force_login(lead_reviewer)

    rows = _rows(client)

    actions = [row["action"] for row in rows]
    assert "Invited to observe" in actions
    assert "Invitation cancelled" in actions
    invited = next(row for row in rows if row["action"] == "Invited to observe")
    assert invited["case"] == ""
    assert INVITEE in invited["detail"]
    assert lead_reviewer.full_name in invited["people"]
    # Each with its place in the chain, so it can be checked against verify_audit's walk.
    link = ChainLink.objects.get(seq=invited["seq"])
    assert (link.source, link.hash) == ("observers.observationevent", invited["link_hash"])
    assert {row["case"] for row in rows} == {"", trail.reference}
    assert "airlock.securityevent" not in {row["table"] for row in rows}


def test_only_the_rows_about_no_case_when_asked(client, lead_reviewer, trail):
    client.force_login(lead_reviewer)

    rows = _rows(client, scope="programme")

    assert {row["table"] for row in rows} == {
        "observers.observationevent",
        "findings.programmeevent",
    }
    assert all(row["case"] == "" for row in rows)
    seqs = [row["seq"] for row in rows]
    assert seqs == sorted(seqs)


def test_an_administrator_also_gets_the_sign_in_security_rows(client, admin_user, trail):
    client.force_login(admin_user)

    tables = {row["table"] for row in _rows(client, scope="programme")}

    assert {"observers.observationevent", "airlock.securityevent"} <= tables
    assert "devices.applicationevent" not in tables


def test_an_export_of_one_case_leaves_the_programme_out(client, lead_reviewer, trail):
    client.force_login(lead_reviewer)

    rows = _rows(client, case=trail.reference)

    assert rows
    assert {row["case"] for row in rows} == {trail.reference}


def test_a_case_and_only_the_rows_about_no_case_is_explained_on_the_form(
    client, lead_reviewer, trail
):
    client.force_login(lead_reviewer)

    response = client.get(URL, {"format": "csv", "scope": "programme", "case": trail.reference})

    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert b"Leave the case reference empty for the rows about no case" in response.content


def test_a_conflicted_lead_gets_the_programme_but_not_the_organisation_s_case(
    client, lead_reviewer, trail
):
    ConflictOfInterest.objects.create(
        reviewer=lead_reviewer, organisation=trail.organisation, reason="Former employer."
    )
    client.force_login(lead_reviewer)

    rows = _rows(client)

    assert rows
    assert {row["case"] for row in rows} == {""}
    assert "Invited to observe" in {row["action"] for row in rows}


def test_the_export_reads_the_programme_rows_in_a_fixed_number_of_queries(
    client, lead_reviewer, trail, django_assert_max_num_queries
):
    for n in range(5):
        observer_invite(actor=lead_reviewer, email=f"more-{n}@nhs.example", body="NHS South")
    client.force_login(lead_reviewer)

    with django_assert_max_num_queries(25):
        rows = _rows(client)

    assert sum(row["action"] == "Invited to observe" for row in rows) == 6


def test_the_service_leaves_the_cases_out_for_rows_about_no_case(lead_reviewer, trail):
    rows = audit_rows(
        cases=applications_for(lead_reviewer), include_caseless=False, about_no_case=True
    )

    assert rows
    assert all(row.case == "" for row in rows)
    assert "airlock.securityevent" not in {row.table for row in rows}
