"""Sessions in the database, read with their person in one query (SESSION_ENGINE).

Django's database sessions cost three round trips before any view runs: the session, then
the person it signs in (ModelBackend.get_user), then their permissions and role
(airlock.backends.RoleBackend). Each is a wait on PostgreSQL, and on a page kept in the
cache (the review queue) they were most of the time a view took. Here the session row keeps
the id of the person it signs in, so one query reads the session, that person's row and
their groups and permissions. The person is handed to django.contrib.auth.get_user only
if their id is the one in the session's own (signed) data; a page can have a read of its
own made in the same query (read_with_session: the review queue's version).

Nothing is kept between requests: the session is read from the database every time, so
signing out (the row deleted), a deactivated account, a changed password (the session's hash
no longer matches, checked by django.contrib.auth.get_user as before) or a permission taken
away counts from the very next request, on every process. A cache in front of the sessions
(cached_db) would lose that: a session deleted while Redis was unreachable would come back
from the cache once Redis returned. Signed cookies would put the sessions out of the
server's reach altogether.
"""

import functools

from django.contrib.auth import SESSION_KEY, get_user, get_user_model
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from airlock.backends import permissions_from_rows, reading_session
from airlock.session_table import Session

# Reads a page makes on every view, made in the session's own query when the request is for
# that page (read_with_session): {URL name: SQL}, and the paths they resolve to.
_PAGE_READS: dict[str, str] = {}
# The session's person in a page read: a scalar subquery on the session, as the other parts.
SESSION_PERSON = "(SELECT user_id FROM {session} WHERE session_key = %s AND expire_date > %s)"


def read_with_session(url_name: str, sql: str) -> None:
    """Make `sql` part of the session's query whenever the request is for `url_name`'s page:
    one round trip less on every view of a page that reads it first thing. `sql` answers
    rows of two text columns (a, b), and takes no parameters but {person}, which stands for
    the session's person's id.
    The page takes the rows with page_read(request), or reads them itself when absent."""
    _PAGE_READS[url_name] = sql
    _page_sql.cache_clear()


@functools.cache
def _page_sql() -> dict[str, str]:
    # Resolved once, on the first request (URLs cannot be reversed while apps load).
    return {reverse(name): sql for name, sql in _PAGE_READS.items()}


def _session_sql(user_columns: list[str], page_sql: str | None) -> str:
    """One row of the session and its person; one per group-and-permission and per
    permission of their own (RoleBackend's query, joined through the session); then the
    page's own rows, if any. UNION ALL of rows of one shape, told apart by their first
    column, so SQLite and PostgreSQL read it alike."""
    session = Session._meta.db_table
    user = get_user_model()._meta.db_table
    blanks = ", ".join(["NULL"] * (1 + len(user_columns)))
    where = "WHERE s.session_key = %s AND s.expire_date > %s"
    sql = f"""
SELECT 's', s.session_data, {", ".join(f"u.{column}" for column in user_columns)},
       NULL, NULL, NULL
  FROM {session} s LEFT JOIN {user} u ON u.id = s.user_id
 {where}
UNION ALL
SELECT 'p', {blanks}, g.name, ct.app_label, p.codename
  FROM {session} s
  JOIN {user}_groups ug ON ug.user_id = s.user_id
  JOIN auth_group g ON g.id = ug.group_id
  LEFT JOIN auth_group_permissions gp ON gp.group_id = g.id
  LEFT JOIN auth_permission p ON p.id = gp.permission_id
  LEFT JOIN django_content_type ct ON ct.id = p.content_type_id
 {where}
UNION ALL
SELECT 'p', {blanks}, '', ct.app_label, p.codename
  FROM {session} s
  JOIN {user}_user_permissions up ON up.user_id = s.user_id
  JOIN auth_permission p ON p.id = up.permission_id
  JOIN django_content_type ct ON ct.id = p.content_type_id
 {where}
"""
    if page_sql is not None:
        person = SESSION_PERSON.format(session=session)
        sql += f"""UNION ALL
SELECT 'r', {blanks}, NULL, r.a, r.b FROM ({page_sql.format(person=person)}) r
"""
    return sql


class SessionStore(DatabaseSessionStore):
    """Django's database store, reading the session's person with it (see the module)."""

    def __init__(self, session_key=None):
        super().__init__(session_key)
        self.signed_in = None
        # Set by SessionUserMiddleware before the session is read: which page's reads to
        # make with it; then what they answered (page_read).
        self.path = None
        self.page_rows = None

    @classmethod
    def get_model_class(cls):
        return Session

    def load(self):
        self.signed_in = self.page_rows = None
        user_model = get_user_model()
        fields = user_model._meta.concrete_fields
        columns = [field.column for field in fields]
        database = router.db_for_read(Session)
        connection = connections[database]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        page_sql = _page_sql().get(self.path) if self.path else None
        parts = 3 + (page_sql.count("{person}") if page_sql else 0)
        params = [self.session_key, now] * parts
        with connection.cursor() as cursor:
            cursor.execute(_session_sql(columns, page_sql), params)
            rows = cursor.fetchall()
        session = next((row for row in rows if row[0] == "s"), None)
        if session is None:
            # Gone, expired or never was: a new session if anything is stored (as Django's).
            self._session_key = None
            return {}
        # decode() answers {} for data that fails its signature check, as Django's does.
        data = self.decode(session[1])
        values = session[2 : 2 + len(columns)]
        if values[0] is not None:
            user = user_model.from_db(
                database,
                [field.attname for field in fields],
                [
                    _converted(field, value, connection)
                    for field, value in zip(fields, values, strict=True)
                ],
            )
            if not user.is_superuser:
                # A superuser has every permission; ModelBackend reads them as before.
                permissions_from_rows(user, [row[-3:] for row in rows if row[0] == "p"])
            self.signed_in = user
            if page_sql is not None:
                self.page_rows = [row[-2:] for row in rows if row[0] == "r"]
        return data

    def create_model_instance(self, data):
        instance = super().create_model_instance(data)
        user_id = data.get(SESSION_KEY)
        instance.user_id = get_user_model()._meta.pk.to_python(user_id) if user_id else None
        return instance


def page_read(request) -> list[tuple] | None:
    """The rows of this page's read (read_with_session), made with the session for the
    person signed in; None if they were not (another page, the session read earlier, or
    no one signed in): the page then reads them itself."""
    store = request.session
    signed_in = getattr(store, "signed_in", None)
    rows = getattr(store, "page_rows", None)
    if rows is None or signed_in is None or signed_in.pk != request.user.pk:
        return None
    return rows


def _converted(field, value, connection):
    """A column's value as the ORM would give it (SQLite's booleans and datetimes)."""
    for converter in field.get_db_converters(connection):
        value = converter(value, None, connection)
    return value


def _user(request):
    # Django's own get_user: the backend and the session's hash are checked as ever.
    with reading_session(request.session):
        return get_user(request)


class SessionUserMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, taking the person from the session's own query."""

    def process_request(self, request):
        super().process_request(request)
        # Which page's reads the session's query makes too, if it has not been read yet.
        request.session.path = request.path
        request.user = SimpleLazyObject(lambda: _user(request))
