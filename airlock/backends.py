"""Django's ModelBackend, reading a person's permissions and role in one query."""

from django.contrib.auth.backends import ModelBackend
from django.db import connection

from airlock.models import GROUP_NAMES

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


class RoleBackend(ModelBackend):
    """ModelBackend reads the person's own permissions and their groups' permissions in two
    queries, and User.role reads their groups in a third, on every page that checks a
    permission and shows the role. This reads all three in one query per request; as with
    ModelBackend, nothing is kept beyond the request's user object, so a permission or role
    taken away counts from the next request."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            names, perms = set(), set()
            with connection.cursor() as cursor:
                cursor.execute(PERMISSIONS_SQL, [user_obj.pk, user_obj.pk])
                for group, app_label, codename in cursor.fetchall():
                    if group:
                        names.add(group)
                    if codename:
                        perms.add(f"{app_label}.{codename}")
            user_obj._perm_cache = perms
            setattr(user_obj, GROUP_NAMES, frozenset(names))
        return user_obj._perm_cache
