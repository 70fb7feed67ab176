"""The review queue keeps each person's whole page (see reviews.views.queue.queue)."""

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from airlock.roles import Role, group_for
from devices.models import Application, ApplicationState
from devices.services import application_transition
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

    # One: the session with its person, their permissions and the queue's version
    # (airlock.sessions.read_with_session). Nothing about the cases.
    assert len(repeat) == 1
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


# --- The queue's cost in each scenario (bench/server_time.py times the same ones) -----------


def _touch(application: Application) -> None:
    """A change to the case, as any edit, assignment or transition stamps it."""
    Application.objects.filter(pk=application.pk).update(updated_at=timezone.now())


def test_nothing_cached_costs_six_queries_and_counts_nothing(client, lead_reviewer):
    for _ in range(3):
        make_application(S.SCREENING)
    client.force_login(lead_reviewer)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(QUEUE)

    # The session with its person, their permissions and the queue's version; the kept
    # counts, the page's rows, the header's unread notifications, the cohort menu and the
    # reviewer menu (once, for both the assignee filter and the bulk-assignment form).
    assert len(queries) == 6
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [q for q in sql if "GROUP BY" in q and 'FROM "devices_application"' in q]
    assert len([q for q in sql if 'SELECT DISTINCT "airlock_user"' in q]) == 1
    rows = next(q for q in sql if q.startswith('SELECT "devices_application"."id"'))
    assert "password" not in rows
    assert "regulatory_challenge" not in rows
    assert len(response.context["page"]) == 3


def test_a_change_to_a_case_on_another_page_keeps_the_drawn_page(
    client, lead_reviewer, django_assert_num_queries
):
    first, second = make_application(S.SCREENING), make_application(S.SCREENING)
    client.force_login(lead_reviewer)
    page = client.get(QUEUE, {"per_page": 1}).content.decode()
    shown, elsewhere = (first, second) if first.reference in page else (second, first)

    _touch(elsewhere)
    # The version moved: the counts and the page's rows are read, and they say the page is
    # the same, so it is not drawn again. (With the session, its person and the version: 3.)
    with django_assert_num_queries(3):
        response = client.get(QUEUE, {"per_page": 1})
    assert response.templates == []
    assert shown.reference in response.content.decode()

    # From then on, until the next change, the cheap way again.
    with django_assert_num_queries(1):
        client.get(QUEUE, {"per_page": 1})


def test_a_change_to_a_case_on_the_page_redraws_it(client, reviewer, django_assert_num_queries):
    application = make_application(S.SCREENING)
    client.force_login(reviewer)
    assert "You" not in client.get(QUEUE).content.decode()

    Application.objects.filter(pk=application.pk).update(
        assignee=reviewer, updated_at=timezone.now()
    )
    # The session with the version, the counts, the rows and, drawing, the unread count.
    with django_assert_num_queries(4):
        response = client.get(QUEUE)

    assert response.templates != []
    assert "You" in response.content.decode()


def test_a_transition_shows_in_the_counts_at_once(client, lead_reviewer, reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(lead_reviewer)
    assert dict(client.get(QUEUE).context["state_counts"])[S.SUBMITTED] == 1

    application_transition(application_id=application.pk, action="start_screening", actor=reviewer)
    counts = dict(client.get(QUEUE).context["state_counts"])

    assert (counts[S.SUBMITTED], counts[S.SCREENING]) == (0, 1)


def test_a_team_at_work_keeps_each_reviewers_page_through_changes_elsewhere(
    client, reviewer, lead_reviewer, django_assert_num_queries
):
    shown = make_application(S.SCREENING, clock_due_on=timezone.localdate())
    conflicted = make_application(S.SCREENING)
    elsewhere = make_application(S.SUBMITTED)
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=conflicted.organisation, reason="Former employer."
    )
    team = [reviewer, lead_reviewer]
    pages, counts = {}, {}
    for person in team:
        client.force_login(person)
        first = client.get(QUEUE, {"per_page": 1})
        pages[person.pk] = first.content.decode()
        counts[person.pk] = dict(first.context["state_counts"])[S.SCREENING]

    _touch(elsewhere)
    for person in team:
        client.force_login(person)
        with django_assert_num_queries(3):
            response = client.get(QUEUE, {"per_page": 1})
        assert response.templates == []
        assert ANY_TOKEN.sub("", response.content.decode()) == ANY_TOKEN.sub("", pages[person.pk])
    # The conflicted reviewer's counts leave the organisation out; the lead's do not.
    assert shown.reference in pages[reviewer.pk]
    assert (counts[reviewer.pk], counts[lead_reviewer.pk]) == (1, 2)
