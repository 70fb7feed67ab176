"""The pages where lead reviewers and administrators set up and change calls: who may open
them, field errors that keep what was typed, and the service's refusals shown at their field."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from airlock.roles import Role
from calls.models import Call
from tests.calls.call_helpers import NOW, open_call, scored
from tests.factories import (
    CallFactory,
    CohortFactory,
    UserFactory,
    make_manufacturer,
)

pytestmark = pytest.mark.django_db


# --- The pages ------------------------------------------------------------------------------


def _post(**changes) -> dict:
    data = {
        "title": "Phase 3: AI in diagnostics",
        "challenge_areas": "Drift in practice",
        "opens_on_day": "2",
        "opens_on_month": "6",
        "opens_on_year": "2026",
        "opens_time": "09:00",
        "closes_on_day": "31",
        "closes_on_month": "7",
        "closes_on_year": "2026",
        "closes_time": "17:30",
        "capacity": "7",
        "moderation_margin": "15",
        "cohort": str(CohortFactory(name="Phase 3 cohort").pk),
        "criteria-TOTAL_FORMS": "2",
        "criteria-INITIAL_FORMS": "0",
        "criteria-0-title": "Novel regulatory question",
        "criteria-0-weight": "3",
        "criteria-0-description": "",
        "criteria-1-title": "",
        "criteria-1-weight": "",
        "criteria-1-description": "",
    }
    return data | changes


def _persona(name: str, request):
    if name in {"contributor", "viewer"}:
        manufacturer = request.getfixturevalue("manufacturer")
        return make_manufacturer(manufacturer.membership.organisation, org_role=name)
    if name == "observer":
        return UserFactory(role=Role.OBSERVER)
    return request.getfixturevalue(name)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("manufacturer", 403),
        ("contributor", 403),
        ("viewer", 403),
        ("observer", 403),
        ("reviewer", 403),
        ("lead_reviewer", 200),
        ("admin_user", 200),
    ],
)
@pytest.mark.parametrize("route", ["calls:create", "calls:edit"])
def test_only_leads_and_administrators_open_the_call_pages(
    client, request, frozen, persona, status, route
):
    call = CallFactory(opens_at=NOW + timedelta(days=1))
    client.force_login(_persona(persona, request))
    url = reverse(route, args=[call.pk] if route == "calls:edit" else [])

    assert client.get(url).status_code == status
    assert client.post(url, _post()).status_code == (302 if status == 200 else status)
    assert Call.objects.filter(title="Phase 3: AI in diagnostics").exists() == (status == 200)


@pytest.mark.parametrize("route", ["calls:create", "calls:edit"])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, route):
    call = CallFactory()

    response = client.get(reverse(route, args=[call.pk] if route == "calls:edit" else []))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_lead_sets_up_a_call_on_the_page(client, frozen, lead_reviewer):
    client.force_login(lead_reviewer)

    response = client.post(reverse("calls:create"), _post())

    call = Call.objects.get(title="Phase 3: AI in diagnostics")
    assert response.url == reverse("calls:edit", args=[call.pk])
    assert timezone.localtime(call.opens_at).strftime("%d %m %Y %H:%M") == "02 06 2026 09:00"
    assert timezone.localtime(call.closes_at).strftime("%d %m %Y %H:%M") == "31 07 2026 17:30"
    assert [(c.title, c.weight) for c in call.selection_criteria.all()] == [
        ("Novel regulatory question", 3)
    ]
    page = client.get(response.url).content.decode()
    assert "The call “Phase 3: AI in diagnostics” is set up." in page
    assert "Call set up" in page


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"closes_on_month": "6", "closes_on_day": "1"}, "closes_on", "close after it opens"),
        ({"opens_time": "25:00"}, "opens_time", "Enter a real time"),
        ({"closes_on_day": "31", "closes_on_month": "2"}, "closes_on", "Enter a real date"),
        ({"capacity": "0"}, "capacity", "Offer at least 1 place"),
        ({"criteria-0-weight": "0"}, "criteria-0-weight", "weight from 1 to 10"),
        ({"criteria-0-weight": ""}, "criteria-0-weight", "weight from 1 to 10"),
        ({"criteria-0-title": "", "criteria-0-weight": ""}, "criteria", "at least one"),
    ],
)
def test_bad_input_shows_field_errors_and_keeps_what_was_typed(
    client, frozen, lead_reviewer, changes, field_id, message
):
    client.force_login(lead_reviewer)

    response = client.post(reverse("calls:create"), _post(**changes))

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert message in page
    assert 'value="Phase 3: AI in diagnostics"' in page
    assert not Call.objects.filter(title="Phase 3: AI in diagnostics").exists()


def test_an_empty_post_shows_what_is_required(client, lead_reviewer):
    client.force_login(lead_reviewer)

    response = client.post(reverse("calls:create"), {})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter title" in page
    assert "Enter closing date" in page


def test_a_refusal_of_the_service_shows_at_its_field(client, lead_reviewer, reviewer):
    with time_machine.travel(NOW, tick=False):
        call = open_call(lead_reviewer)
    client.force_login(lead_reviewer)
    url = reverse("calls:edit", args=[call.pk])

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        form = client.get(url).content.decode()
        response = client.post(
            url,
            _post(
                title=call.title,
                closes_on_day="5",
                closes_on_month="6",
                closes_time="12:00",
                **{
                    "criteria-TOTAL_FORMS": "4",
                    "criteria-INITIAL_FORMS": "2",
                    "criteria-1-title": "Patient and NHS benefit",
                    "criteria-1-weight": "1",
                    "criteria-1-description": "Measurable.",
                    "criteria-2-title": "",
                    "criteria-2-weight": "",
                    "criteria-3-title": "",
                    "criteria-3-weight": "",
                    "cohort": str(call.cohort_id),
                },
            ),
        )

    # Opened already: the opening date and time are shown fixed, with the reason.
    assert "Fixed: the call opened on 27 May 2026 at 12:00." in form
    assert response.status_code == 200
    assert "extended, not brought forward" in response.content.decode()
    call.refresh_from_db()
    assert call.closes_at == NOW + timedelta(days=5)


def test_once_scored_the_criteria_are_shown_not_offered(client, frozen, lead_reviewer, reviewer):
    call = open_call(lead_reviewer)
    scored(call, reviewer)
    client.force_login(lead_reviewer)

    page = client.get(reverse("calls:edit", args=[call.pk])).content.decode()

    assert "Fixed: applications have been scored against them." in page
    assert 'name="criteria-TOTAL_FORMS"' not in page


def test_the_calls_page_offers_leads_the_way_to_set_up_and_change_calls(
    client, lead_reviewer, reviewer
):
    call = CallFactory()
    client.force_login(reviewer)
    assert "Set up a call" not in client.get(reverse("calls:list")).content.decode()

    client.force_login(lead_reviewer)
    page = client.get(reverse("calls:list")).content.decode()

    assert reverse("calls:create") in page
    assert reverse("calls:edit", args=[call.pk]) in page
