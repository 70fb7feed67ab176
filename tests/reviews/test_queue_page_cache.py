"""The review queue keeps each person's whole page (see reviews.views.queue.queue)."""

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from airlock.roles import Role, group_for
from devices.models import Application, ApplicationState
from reviews.models import ConflictOfInterest
from reviews.views.queue import CSRF_PLACEHOLDER
from tests.factories import make_application

S = ApplicationState
QUEUE = reverse("reviews:queue")
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# A CSRF token is masked afresh for every page.
ANY_TOKEN = re.compile(r"[A-Za-z0-9]{64}")


def test_a_repeat_view_is_read_from_the_cache(client, lead_reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(lead_reviewer)
    first = client.get(QUEUE).content.decode()

    with CaptureQueriesContext(connection) as repeat:
        response = client.get(QUEUE)

    # The session, the user, their permissions and the queue's version: nothing about the cases.
    assert len(repeat) == 4
    assert response.status_code == 200
    assert response.templates == []
    assert application.reference in response.content.decode()
    assert ANY_TOKEN.sub("", response.content.decode()) == ANY_TOKEN.sub("", first)


def test_a_change_to_any_application_shows_on_the_next_view(client, reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(reviewer)
    client.get(QUEUE)

    added = make_application(S.SUBMITTED)
    Application.objects.filter(pk=application.pk).update(
        assignee=reviewer, updated_at=added.updated_at
    )
    page = client.get(QUEUE).content.decode()

    assert added.reference in page
    assert "You" in page


def test_a_cached_page_is_never_served_to_another_reviewer(client, reviewer, lead_reviewer):
    application = make_application(S.SUBMITTED)
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=application.organisation, reason="Former employer."
    )
    client.force_login(lead_reviewer)
    lead_page = client.get(QUEUE).content.decode()
    client.force_login(reviewer)
    reviewer_page = client.get(QUEUE).content.decode()

    assert application.reference in lead_page
    assert "Assign the ticked applications" in lead_page
    assert application.reference not in reviewer_page
    assert "Assign the ticked applications" not in reviewer_page
    assert "Signed in as </span>Rachel Evans" in reviewer_page
    assert "Signed in as </span>Leo Okafor" in lead_page


def test_a_permission_taken_away_changes_the_page_at_once(client, lead_reviewer):
    client.force_login(lead_reviewer)
    assert "Assign the ticked applications" in client.get(QUEUE).content.decode()

    lead_reviewer.groups.set([group_for(Role.REVIEWER)])

    assert "Assign the ticked applications" not in client.get(QUEUE).content.decode()


def test_a_cached_page_carries_this_sessions_csrf_token(lead_reviewer, reviewer):
    application = make_application(S.SUBMITTED)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(lead_reviewer)
    second.force_login(lead_reviewer)
    first.get(QUEUE)

    page = second.get(QUEUE).content.decode()
    response = second.post(
        reverse("reviews:bulk-assign"),
        {
            "applications": [application.pk],
            "reviewer": reviewer.pk,
            "csrfmiddlewaretoken": TOKEN.search(page).group(1),
        },
    )

    assert CSRF_PLACEHOLDER not in page
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.assignee == reviewer


def test_a_message_is_shown_once_on_a_cached_page(client, lead_reviewer, reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(lead_reviewer)
    client.get(QUEUE)

    response = client.post(
        reverse("reviews:bulk-assign"),
        {"applications": [application.pk], "reviewer": reviewer.pk},
        follow=True,
    )
    again = client.get(QUEUE)

    assert f"Assigned 1 to {reviewer}" in response.content.decode()
    assert f"Assigned 1 to {reviewer}" not in again.content.decode()
