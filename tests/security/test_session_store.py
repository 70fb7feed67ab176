"""The session store (airlock.sessions) reads the session, its person and their permissions
in one query, and keeps nothing between requests: every way a session ends still ends it
from the very next request."""

from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from airlock.models import Session, User
from airlock.roles import Role, group_for
from airlock.sessions import page_read
from devices.models import ApplicationState as S
from reviews.models import ConflictOfInterest
from reviews.selectors import queue_version
from tests.factories import UserFactory, make_application

QUEUE = reverse("reviews:queue")
CASES = reverse("devices:home")


def _second_browser(client: Client) -> Client:
    """Another browser holding the same session cookie (a stolen or copied cookie)."""
    other = Client()
    other.cookies = client.cookies
    return other


def _is_signed_out(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_session_its_person_and_their_permissions_are_one_query(client, lead_reviewer):
    client.force_login(lead_reviewer)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("help"))
        user = response.wsgi_request.user
        assert (user, user.role) == (lead_reviewer, Role.LEAD_REVIEWER)
        assert user.has_perm("airlock.lead_review")

    assert response.status_code == 200
    sql = [query["sql"] for query in queries.captured_queries]
    assert "airlock_session" in sql[0]
    # Nothing else about the person: the rest (if any) is the page's own.
    assert not [q for q in sql[1:] if "airlock_session" in q or "auth_" in q]
    assert not [q for q in sql[1:] if 'FROM "airlock_user"' in q]


def test_a_page_read_with_the_session_is_what_the_page_reads_itself(client, reviewer):
    """The queue's version, made in the session's query (read_with_session), names the same
    data as when the queue reads it itself, so a page kept under one is found under both."""
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=make_application(S.SUBMITTED).organisation, reason="x"
    )
    client.force_login(reviewer)

    request = client.get(QUEUE).wsgi_request
    rows = page_read(request)

    assert rows is not None
    assert len(rows) == 2
    assert queue_version(reviewer, rows=rows) == queue_version(reviewer)


def test_the_session_row_names_its_person(client, reviewer):
    client.force_login(reviewer)

    assert Session.objects.get(session_key=client.session.session_key).user_id == reviewer.pk


def test_a_session_before_signing_in_names_no_one(client, db):
    session = client.session
    session["seen"] = 1
    session.save()

    assert Session.objects.get(session_key=session.session_key).user_id is None
    assert _is_signed_out(client.get(CASES))


def test_signing_out_ends_the_session_for_a_copied_cookie_too(client, reviewer):
    client.force_login(reviewer)
    copy = _second_browser(client)
    assert copy.get(QUEUE).status_code == 200

    client.post(reverse("logout"))

    assert not Session.objects.filter(user=reviewer).exists()
    assert _is_signed_out(copy.get(QUEUE))


def test_a_session_deleted_on_the_server_ends_at_the_next_request(client, reviewer):
    client.force_login(reviewer)
    assert client.get(QUEUE).status_code == 200

    Session.objects.filter(user=reviewer).delete()

    assert _is_signed_out(client.get(QUEUE))


def test_a_deactivated_account_is_signed_out_at_the_next_request(client, reviewer):
    client.force_login(reviewer)
    assert client.get(QUEUE).status_code == 200

    User.objects.filter(pk=reviewer.pk).update(is_active=False)

    assert _is_signed_out(client.get(QUEUE))


def test_a_changed_password_ends_the_other_sessions(client, reviewer):
    client.force_login(reviewer)
    assert client.get(QUEUE).status_code == 200

    reviewer.set_password("a new and long passphrase")
    reviewer.save()

    assert _is_signed_out(client.get(QUEUE))


def test_a_permission_given_counts_from_the_next_request(client, reviewer):
    client.force_login(reviewer)
    assert not client.get(QUEUE).wsgi_request.user.has_perm("airlock.lead_review")

    reviewer.user_permissions.add(Permission.objects.get(codename="lead_review"))
    user = client.get(QUEUE).wsgi_request.user

    assert user.has_perm("airlock.lead_review")
    assert user.role == Role.REVIEWER


def test_a_role_changed_counts_from_the_next_request(client, reviewer):
    client.force_login(reviewer)
    assert client.get(QUEUE).wsgi_request.user.role == Role.REVIEWER

    reviewer.groups.set([group_for(Role.LEAD_REVIEWER)])

    assert client.get(QUEUE).wsgi_request.user.role == Role.LEAD_REVIEWER


def test_a_session_row_naming_someone_else_never_signs_them_in(client, reviewer):
    """The row's person is only a shortcut: who is signed in is the session's own data,
    checked against the person's password hash as Django does; what was read for the row's
    person (their permissions, their conflicts for the queue) is not used."""
    conflicted = make_application(S.SUBMITTED)
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=conflicted.organisation, reason="Former employer."
    )
    client.force_login(reviewer)
    other = UserFactory(role=Role.LEAD_REVIEWER)
    Session.objects.filter(user=reviewer).update(user=other)

    response = client.get(QUEUE)
    user = response.wsgi_request.user

    assert user == reviewer
    assert not user.has_perm("airlock.lead_review")
    assert page_read(response.wsgi_request) is None
    assert conflicted.reference not in response.content.decode()


def test_the_administrator_keeps_every_permission(client, admin_user):
    client.force_login(admin_user)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert response.wsgi_request.user.has_perm("airlock.lead_review")
