from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from airlock.backends import RoleBackend
from airlock.models import User
from airlock.roles import Role, group_for
from tests.factories import UserFactory


def _fresh(user: User) -> User:
    # A new object, as each request has: the permissions are read once per user object.
    return User.objects.get(pk=user.pk)


def test_it_reads_the_same_permissions_as_django_for_every_role(db):
    for role in (Role.MANUFACTURER, Role.REVIEWER, Role.LEAD_REVIEWER):
        user = UserFactory(role=role)

        assert RoleBackend().get_all_permissions(_fresh(user)) == (
            ModelBackend().get_all_permissions(_fresh(user))
        ), role


def test_it_adds_a_persons_own_permissions_to_their_roles(reviewer):
    reviewer.user_permissions.add(Permission.objects.get(codename="lead_review"))
    user = _fresh(reviewer)

    perms = RoleBackend().get_all_permissions(user)

    assert {"airlock.access_review_workspace", "airlock.lead_review"} <= perms
    assert user.role == Role.REVIEWER


def test_it_reads_permissions_and_role_in_one_query(lead_reviewer):
    user = _fresh(lead_reviewer)

    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("airlock.lead_review")
        assert user.has_perm("airlock.access_review_workspace")
        assert user.role == Role.LEAD_REVIEWER

    assert len(queries) == 1


def test_a_role_without_permissions_is_still_a_role(reviewer):
    group_for(Role.REVIEWER).permissions.clear()
    user = _fresh(reviewer)

    assert RoleBackend().get_all_permissions(user) == set()
    assert user.role == Role.REVIEWER


def test_people_without_a_role_or_not_active_have_no_permissions(user_without_role, reviewer):
    User.objects.filter(pk=reviewer.pk).update(is_active=False)

    assert RoleBackend().get_all_permissions(_fresh(user_without_role)) == set()
    assert _fresh(user_without_role).role is None
    assert RoleBackend().get_all_permissions(_fresh(reviewer)) == set()


def test_a_permission_taken_away_counts_from_the_next_request(client, lead_reviewer):
    client.force_login(lead_reviewer)
    assert client.get(reverse("reviews:queue")).status_code == 200

    lead_reviewer.groups.set([group_for(Role.MANUFACTURER)])

    assert client.get(reverse("reviews:queue")).status_code == 403


def test_the_administrator_has_every_permission(admin_user):
    user = _fresh(admin_user)

    assert RoleBackend().get_all_permissions(user) == ModelBackend().get_all_permissions(user)
    assert user.has_perm("airlock.lead_review")
