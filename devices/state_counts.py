"""Per-organisation, per-state counts of submitted applications (ApplicationStateCount).

The review queue shows how many cases each state holds. Counting them took a scan of every
visible case on each uncached view (15-20 ms at 100k, 140-185 ms at 1M); these counts are
kept instead, so the queue reads a few hundred small rows whatever the number of cases:

- `state_counts_move` shifts them in the same transaction as each change of state
  (devices.services.transition_locked, the one transition service), so they are exact as
  soon as it commits;
- `state_counts_repair` recomputes them all from the applications in one set-based pass,
  on beat (airlock/celery.py) and after a bulk load, and corrects any that drifted (a write
  that went round the service, such as a data fix in the shell);
- `state_counts_for` is what a reviewer sees: every organisation's counts but those they
  are conflicted with.

Only submitted applications count (the regulator's side never sees a draft, nor a draft
withdrawn without being submitted: devices.selectors.applications_for). Applications are
never deleted (the admin refuses; audit rows protect them), so there is no delete to follow.
"""

import logging

from django.db import connection, transaction

from airlock.models import User
from devices.models import Application, ApplicationState, ApplicationStateCount
from reviews.models import ConflictOfInterest

logger = logging.getLogger(__name__)

_TABLE = ApplicationStateCount._meta.db_table


def counted_state(application: Application) -> str | None:
    """The state `application` is counted under, or None when the queue does not show it."""
    return application.state if application.submitted_at is not None else None


def state_counts_move(*, organisation_id: int, from_state: str | None, to_state: str | None):
    """Move one application's count from `from_state` to `to_state` (None: not counted).

    One statement, an upsert (the first case of an organisation in a state creates its row).
    The rows are written in state order, so two transitions of one organisation's cases
    lock them in the same order and cannot deadlock. Call inside the transition's transaction.
    """
    if from_state == to_state:
        return
    deltas = sorted(
        (state, delta) for state, delta in ((from_state, -1), (to_state, 1)) if state is not None
    )
    values = ", ".join(["(%s, %s, %s)"] * len(deltas))
    parameters = [value for state, delta in deltas for value in (organisation_id, state, delta)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (organisation_id, state, total) VALUES {values} "
            f"ON CONFLICT (organisation_id, state) DO UPDATE "
            f"SET total = {_TABLE}.total + EXCLUDED.total",
            parameters,
        )


# The counts as they should be, upserted where they differ; then those of states left empty.
# (The outer SELECT's WHERE is SQLite's way of telling ON CONFLICT from a join's ON.)
_REPAIR_SQL = f"""
INSERT INTO {_TABLE} (organisation_id, state, total)
SELECT * FROM (
    SELECT organisation_id, state, COUNT(*) FROM {Application._meta.db_table}
    WHERE submitted_at IS NOT NULL GROUP BY organisation_id, state
) actual WHERE TRUE
ON CONFLICT (organisation_id, state) DO UPDATE SET total = EXCLUDED.total
WHERE {_TABLE}.total <> EXCLUDED.total
"""
_REPAIR_EMPTIED_SQL = f"""
UPDATE {_TABLE} SET total = 0
WHERE total <> 0 AND NOT EXISTS (
    SELECT 1 FROM {Application._meta.db_table} app
    WHERE app.organisation_id = {_TABLE}.organisation_id AND app.state = {_TABLE}.state
      AND app.submitted_at IS NOT NULL
)
"""


def state_counts_repair() -> int:
    """Recompute every count from the applications, set-based; returns how many rows were
    wrong (created or corrected). Safe to run at any time and any number of times.

    On PostgreSQL the counts table is locked against writers first: a transition that has
    already moved a count commits before the recount reads, and one that has not waits
    until the repair commits and then moves the recounted figure, so none is lost. Reads
    (the queue) are not blocked. SQLite runs one writer at a time anyway.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {_TABLE} IN EXCLUSIVE MODE")
        cursor.execute(_REPAIR_SQL)
        wrong = max(cursor.rowcount, 0)
        cursor.execute(_REPAIR_EMPTIED_SQL)
        wrong += max(cursor.rowcount, 0)
    if wrong:
        logger.warning(
            "state counts: %s organisation/state counts were wrong and were recomputed; "
            "after a bulk load that is expected, otherwise something changed application "
            "states outside the transition service.",
            wrong,
        )
    return wrong


# Plain SQL: the ORM took several times longer to build this query than PostgreSQL took to
# answer it (about 1 ms over 2,200 rows at 100k cases), on every queue view that checks its
# data. NOT IN, as applications_for excludes conflicts.
_FOR_REVIEWER_SQL = f"""
SELECT state, SUM(total) FROM {_TABLE}
WHERE organisation_id NOT IN (
    SELECT organisation_id FROM {ConflictOfInterest._meta.db_table} WHERE reviewer_id = %s
)
GROUP BY state
"""


def state_counts_for(user: User) -> dict[str, int]:
    """How many submitted cases `user` may see in each state: the sum over every organisation
    but those they are conflicted with (a reviewer's conflicts are subtracted in the query).
    One query over a few rows per organisation, however many cases there are."""
    with connection.cursor() as cursor:
        cursor.execute(_FOR_REVIEWER_SQL, [user.pk])
        totals = cursor.fetchall()
    return {state: n for state, n in totals if n and state in ApplicationState.values}
