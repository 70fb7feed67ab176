"""One page of the review queue, read as plain values by SQL that is built once.

Profiling the queue after a change elsewhere (the page checked against its data, not drawn)
showed the ORM building the rows query (filters, the clock-status CASE, four joins, the
column list) taking several times longer than PostgreSQL took to answer it: about 1 ms of
planning and execution against 4-5 ms of Python per view. So:

- the query is still built by the ORM, from `review_queue` (one definition of what the
  queue lists, shared with the CSV export), as a `values_list` of the columns shown; its
  SQL and parameters are kept per process and thread, keyed on everything they are made
  from (the reader, their permissions, the filters, the day and the page's window), at
  most COMPILED_KEPT of them. What is kept is the statement, never its results: every view
  still reads the rows from the database;
- the rows come back as `QueueRow`s (plain values: the names drawn, not related models),
  which draw the page (reviews.queue_rows) and name its content (signature).
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from airlock.models import User
from devices.models import ApplicationState, ClinicalArea
from postclearance.selectors import is_under_monitoring
from reviews.selectors import QueueFilters, review_queue

# The reader's permissions decide which cases applications_for lets through.
REVIEW_WORKSPACE = "airlock.access_review_workspace"
COMPILED_KEPT = 512
_CLINICAL_AREAS = dict(ClinicalArea.choices)

_COLUMNS = (
    "pk",
    "reference",
    "state",
    "clock_state",
    "clock_due_on",
    "clock_paused_on",
    "updated_at",
    "assignee_id",
    "organisation__name",
    "device_id",
    "device__name",
    "device__version",
    "device__clinical_area",
    "device__mdr_class",
    "device__imdrf_category",
    "cohort__name",
    "assignee__full_name",
    "assignee__email",
    # Annotated in _statement: an EXISTS in the same query, so no query of its own.
    "monitored",
)


@dataclass(frozen=True, slots=True)
class QueueDevice:
    name: str
    version: str
    clinical_area: str
    mdr_class: str
    imdrf_category: str

    def __str__(self) -> str:
        # As Device.__str__.
        return f"{self.name} {self.version}"

    def get_clinical_area_display(self) -> str:
        return _CLINICAL_AREAS.get(self.clinical_area, self.clinical_area)


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A case as one queue row shows it."""

    pk: int
    reference: str
    state: str
    clock_state: str
    clock_due_on: date | None
    clock_paused_on: date | None
    updated_at: datetime
    assignee_id: int | None
    organisation: str
    device: QueueDevice | None
    cohort: str | None
    # The assignee's name as User.__str__ gives it.
    assignee: str | None
    # A cleared case under a running post-clearance monitoring plan.
    monitored: bool

    @property
    def state_enum(self) -> ApplicationState:
        return ApplicationState(self.state)

    @classmethod
    def from_values(cls, values: tuple) -> "QueueRow":
        (pk, reference, state, clock_state, due_on, paused_on, updated_at, assignee_id,
         organisation, device_id, device_name, version, area, mdr_class, imdrf,
         cohort, full_name, email, monitored) = values  # fmt: skip
        device = None
        if device_id is not None:
            device = QueueDevice(device_name, version, area, mdr_class, imdrf)
        assignee = (full_name or email) if assignee_id is not None else None
        return cls(
            pk, reference, state, clock_state, due_on, paused_on, updated_at, assignee_id,
            organisation, device, cohort, assignee, bool(monitored),
        )  # fmt: skip


# Per thread: a kept statement holds its compiler, which belongs to this thread's connection
# (Django's connections are per thread) and turns the database's values into Python's as
# the ORM would (dates and aware datetimes on SQLite too).
_kept = threading.local()


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple
    compiler: SQLCompiler

    def rows(self) -> list["QueueRow"]:
        with self.compiler.connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            fetched = cursor.fetchall()
        values = self.compiler.results_iter(results=[fetched], tuple_expected=True)
        return [QueueRow.from_values(row) for row in values]


def _compiled() -> OrderedDict:
    if not hasattr(_kept, "statements"):
        _kept.statements = OrderedDict()
    return _kept.statements


def _statement(user: User, filters: QueueFilters, start: int, stop: int) -> _Statement | None:
    """The rows query for this reader, filters, day and window, or None when the ORM finds
    that nothing can match and so makes no query."""
    key = (
        connection.alias,
        user.pk,
        user.is_superuser,
        user.has_perm(REVIEW_WORKSPACE),
        filters,
        # The clock statuses are computed against today (reviews.selectors).
        timezone.localdate(),
        start,
        stop,
    )
    kept = _compiled()
    if key in kept:
        kept.move_to_end(key)
        return kept[key]
    rows = (
        review_queue(user=user, filters=filters)
        .annotate(monitored=is_under_monitoring())
        .values_list(*_COLUMNS)[start:stop]
    )
    compiler = rows.query.get_compiler(using=rows.db)
    try:
        sql, params = compiler.as_sql()
        statement = _Statement(sql, tuple(params), compiler)
    except EmptyResultSet:
        statement = None
    kept[key] = statement
    while len(kept) > COMPILED_KEPT:
        kept.popitem(last=False)
    return statement


class QueueRows:
    """The queue under `filters` as `user` sees it, for a paginator: slicing it reads that
    window of rows (one query). Its length is never asked: the paginator is told the count
    (reviews.views.queue.CountedPaginator)."""

    def __init__(self, *, user: User, filters: QueueFilters):
        self.user = user
        self.filters = filters

    def __getitem__(self, window: slice) -> list[QueueRow]:
        statement = _statement(self.user, self.filters, window.start or 0, window.stop)
        return [] if statement is None else statement.rows()


def queue_rows_signature(rows: list[QueueRow], *, user: User) -> tuple:
    """Everything a page of queue rows shows: their ids and change stamps, and the values
    drawn (a renamed organisation or reviewer stamps no application). A rendered page kept
    under this is right for as long as these hold, so a change to a case on another page,
    or to nobody's case, leaves it in the cache. Whether the row is the viewer's own ("You")
    is the one part that differs between reviewers."""
    return tuple((row, row.assignee_id == user.pk) for row in rows)
