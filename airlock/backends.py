"""Django's ModelBackend, reading a person's permissions and role in one query, or taking
them (and the person) from the session's own query (airlock.sessions)."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth.backends import ModelBackend
from django.db import connection

from airlock.models import GROUP_NAMES

# This request's session store, while django.contrib.auth.get_user asks the backend for the
# person (reading_session); set for that call only.
_SESSION_READING: ContextVar = ContextVar("session_reading", default=None)

# Each group the person is in (a group without permissions still names a role, hence the
# outer joins), with its permissions; then the person's own permissions, with no group.
# Plain SQL over Django's auth tables: building this union through the ORM took longer
# than the database took to answer it.
PERMISSIONS_SQL = """
SELECT g.name, ct.app_label, p.codename
  FROM airlock_user_groups ug
  JOIN auth_group g ON g.id = ug.group_id
  LEFT JOIN auth_group_permissions gp ON gp.group_id = g.id
  LEFT JOIN auth_permission p ON p.id = gp.permission_id
  LEFT JOIN django_content_type ct ON ct.id = p.content_type_id
 WHERE ug.user_id = %s
UNION ALL
SELECT '', ct.app_label, p.codename
  FROM airlock_user_user_permissions up
  JOIN auth_permission p ON p.id = up.permission_id
  JOIN django_content_type ct ON ct.id = p.content_type_id
 WHERE up.user_id = %s
"""


def permissions_from_rows(user_obj, rows) -> None:
    """Keep on the user object the permissions and group names read as PERMISSIONS_SQL's
    rows (group name or '', app label, codename), where ModelBackend and User.role look."""
    names, perms = set(), set()
    for group, app_label, codename in rows:
        if group:
            names.add(group)
        if codename:
            perms.add(f"{app_label}.{codename}")
    user_obj._perm_cache = perms
    setattr(user_obj, GROUP_NAMES, frozenset(names))


class RoleBackend(ModelBackend):
    """ModelBackend reads the person's own permissions and their groups' permissions in two
    queries, and User.role reads their groups in a third, on every page that checks a
    permission and shows the role. This reads all three in one query per request; as with
    ModelBackend, nothing is kept beyond the request's user object, so a permission or role
    taken away counts from the next request. With airlock.sessions, the person and their
    permissions come with the session's own query instead (get_user)."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            with connection.cursor() as cursor:
                cursor.execute(PERMISSIONS_SQL, [user_obj.pk, user_obj.pk])
                permissions_from_rows(user_obj, cursor.fetchall())
        return user_obj._perm_cache

    def get_user(self, user_id):
        """The person signed in: already read with the session when its store is
        airlock.sessions' (with their permissions and role), else read here."""
        user = _read_with_session(user_id)
        if user is None:
            return super().get_user(user_id)
        return user if self.user_can_authenticate(user) else None


@contextmanager
def reading_session(session):
    """While django.contrib.auth.get_user runs for this session: RoleBackend.get_user takes
    the person its store read with it (airlock.sessions.SessionStore.signed_in)."""
    token = _SESSION_READING.set(session)
    try:
        yield
    finally:
        _SESSION_READING.reset(token)


def _read_with_session(user_id):
    # get_user has read the session (for the id) before it asks: the store has loaded.
    user = getattr(_SESSION_READING.get(), "signed_in", None)
    if user is not None and str(user.pk) == str(user_id):
        return user
    return None
