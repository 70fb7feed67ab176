"""The checkpoint schedule of a testing plan and the daily checkpoint sweep."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, DateTimeField, Q, QuerySet, Value, When
from django.utils import timezone

from devices.models import Application, ApplicationState
from postclearance.models import MonitoringPlan, MonitoringStatus
from reviews.models import (
    Checkpoint,
    CheckpointEmailKind,
    CheckpointStatus,
    TestingPlan,
)
from reviews.monitoring import ESCALATE_AFTER_DAYS, TESTING, checkpoint_emails, checkpoint_notices

logger = logging.getLogger(__name__)

# Checkpoints appear this many days before they fall due, so the 7-day reminder always has a
# row to stamp and the manufacturer can see what is coming.
CHECKPOINT_LEAD_DAYS = 14


def checkpoint_due_dates(*, starts_on: date, ends_on: date, cadence_days: int) -> list[date]:
    """Every checkpoint date of a plan: one each `cadence_days` after the start, up to its end."""
    count = (ends_on - starts_on).days // cadence_days
    return [starts_on + timedelta(days=cadence_days * n) for n in range(1, count + 1)]


@dataclass(frozen=True)
class CheckpointSweepResult:
    created: int = 0
    reminded_7_days: int = 0
    reminded_1_day: int = 0
    overdue: int = 0
    escalated: int = 0
    # Checkpoints the plans say are due by now that this run did not create, because of the
    # bounds below; the next runs create them, CHECKPOINT_SWEEP_MAX_PER_CASE at a time.
    held_back: int = 0
    held_back_cases: int = 0


# The plans that are missing checkpoints: for each, its last existing sequence, the date new
# checkpoints count on from (its last checkpoint's due date; its start, before the first), and
# how many more fall due by its end and by the horizon. Counting on from the last checkpoint,
# rather than from the start, keeps an agreed amendment to the cadence from scheduling
# checkpoints in the past: the new cadence applies from the last one scheduled.
# Two kinds of plan schedule checkpoints: the testing plan of a case in controlled testing,
# and the active post-clearance monitoring plan of a cleared case (postclearance), whose
# checkpoints carry its id, follow on from the case's sequence and count on from the plan's
# own last checkpoint. Monitoring plans are few, so that branch reads its cases' checkpoints
# through the (application, sequence) and monitoring_plan indexes, not a second full pass.
_PENDING = """
pending AS (
    SELECT plan.{plan_application_id} AS application_id, NULL AS monitoring_plan_id,
           {base} AS base, plan.{cadence} AS cadence, COALESCE(existing.last, 0) AS last,
           {due_count} AS due
    FROM {plan} plan
    JOIN {application} app ON app.{id} = plan.{plan_application_id}
    LEFT JOIN (
        SELECT {application_id} AS application_id, MAX({sequence}) AS last,
               MAX({due_on}) AS last_due
        FROM {checkpoint} GROUP BY {application_id}
    ) existing ON existing.application_id = plan.{plan_application_id}
    WHERE app.{state} = %(testing)s
      AND plan.{agreed_at} IS NOT NULL
      AND {due_count} > 0
    UNION ALL
    SELECT monitored.application_id, monitored.monitoring_plan_id, monitored.base,
           monitored.cadence, monitored.last, {monitoring_due_count} AS due
    FROM (
        SELECT plan.{mp_application_id} AS application_id, plan.{mp_id} AS monitoring_plan_id,
               COALESCE((SELECT MAX(mine.{due_on}) FROM {checkpoint} mine
                         WHERE mine.{monitoring_plan_id} = plan.{mp_id}),
                        plan.{mp_starts_on}) AS base,
               plan.{mp_cadence} AS cadence, plan.{mp_ends_on} AS ends_on,
               COALESCE((SELECT MAX(theirs.{sequence}) FROM {checkpoint} theirs
                         WHERE theirs.{application_id} = plan.{mp_application_id}), 0) AS last
        FROM {monitoring_plan} plan
        JOIN {application} app ON app.{id} = plan.{mp_application_id}
        WHERE plan.{mp_status} = %(monitoring_active)s AND app.{state} = %(cleared)s
    ) monitored
    WHERE {monitoring_due_count} > 0
)
"""
# The missing checkpoints, inserted by the database in one statement. Each pending plan takes
# the sequences after its last one, at most %(per_case)s of them (a recursive CTE numbers
# them 1..per_case), and at most %(per_run)s rows are taken in all, the lowest first so that
# every case moves on before any case takes more. A plan whose dates are absurd (a start in
# year 1, from legacy data or an import) thus adds a bounded handful a run, not tens of
# thousands, and what it held back is counted and logged. Only the date arithmetic differs
# between PostgreSQL and SQLite.
# A checkpoint already late when it is created (a catch-up run, a plan agreed with a start in
# the past) is written overdue, and escalated if late enough, in the same statement, stamped
# with the run's time: the overdue step then tells people about it with the ones it marks,
# instead of updating every such row (and its five indexes) a second time.
# (The CTE follows INSERT INTO so that Python's sqlite3 reports the inserted row count; the
# WHERE clause is SQLite's way of telling ON CONFLICT from a join's ON.)
_CREATE_CHECKPOINTS_SQL = (
    """
INSERT INTO {checkpoint} ({application_id}, {sequence}, {due_on}, {status}, {overdue_at},
                          {escalated_at}, {monitoring_plan_id})
WITH RECURSIVE numbers(j) AS (
    SELECT 1 UNION ALL SELECT j + 1 FROM numbers WHERE j < %(per_case)s
),
"""
    + _PENDING
    + """,
new AS (
    SELECT pending.application_id, pending.last + numbers.j AS sequence, {due_date} AS due_on,
           pending.monitoring_plan_id
    FROM pending JOIN numbers ON numbers.j <= pending.due
    ORDER BY numbers.j, pending.application_id
    LIMIT %(per_run)s
)
SELECT application_id, sequence, due_on,
       CASE WHEN due_on < %(today)s THEN %(overdue)s ELSE %(scheduled)s END,
       CASE WHEN due_on < %(today)s THEN %(now)s END,
       CASE WHEN due_on <= %(escalate_by)s THEN %(now)s END,
       monitoring_plan_id
FROM new
WHERE TRUE
ON CONFLICT DO NOTHING
"""
)
# After the insert: the due checkpoints still missing, and in how many cases.
_HELD_BACK_SQL = "WITH " + _PENDING + "SELECT COUNT(*), COALESCE(SUM(due), 0) FROM pending"
_BASE = "COALESCE(existing.last_due, plan.{starts_on})"
_DATE_ARITHMETIC = {
    "postgresql": {
        "base": _BASE,
        "due_date": "pending.base + numbers.j * pending.cadence",
        "days_to_last": f"(LEAST(plan.{{ends_on}}, %(horizon)s) - {_BASE})",
        "monitoring_days_to_last": "(LEAST(monitored.ends_on, %(horizon)s) - monitored.base)",
    },
    "sqlite": {
        "base": _BASE,
        "due_date": "date(pending.base, '+' || (numbers.j * pending.cadence) || ' days')",
        "days_to_last": f"(julianday(MIN(plan.{{ends_on}}, %(horizon)s)) - julianday({_BASE}))",
        "monitoring_days_to_last": (
            "(julianday(MIN(monitored.ends_on, %(horizon)s)) - julianday(monitored.base))"
        ),
    },
}


def _sweep_sql(template: str) -> str:
    plan, checkpoint, application = TestingPlan._meta, Checkpoint._meta, Application._meta
    monitoring = MonitoringPlan._meta
    names = {
        "checkpoint": connection.ops.quote_name(checkpoint.db_table),
        "application_id": checkpoint.get_field("application").column,
        "sequence": checkpoint.get_field("sequence").column,
        "due_on": checkpoint.get_field("due_on").column,
        "status": checkpoint.get_field("status").column,
        "overdue_at": checkpoint.get_field("overdue_at").column,
        "escalated_at": checkpoint.get_field("escalated_at").column,
        "plan": connection.ops.quote_name(plan.db_table),
        "plan_application_id": plan.get_field("application").column,
        "starts_on": plan.get_field("starts_on").column,
        "ends_on": plan.get_field("ends_on").column,
        "cadence": plan.get_field("cadence_days").column,
        "agreed_at": plan.get_field("agreed_at").column,
        "application": connection.ops.quote_name(application.db_table),
        "id": application.pk.column,
        "state": application.get_field("state").column,
        "monitoring_plan_id": checkpoint.get_field("monitoring_plan").column,
        "monitoring_plan": connection.ops.quote_name(monitoring.db_table),
        "mp_id": monitoring.pk.column,
        "mp_application_id": monitoring.get_field("application").column,
        "mp_status": monitoring.get_field("status").column,
        "mp_starts_on": monitoring.get_field("starts_on").column,
        "mp_ends_on": monitoring.get_field("ends_on").column,
        "mp_cadence": monitoring.get_field("cadence_days").column,
    }
    arithmetic = {
        key: expression.format(**names)
        for key, expression in _DATE_ARITHMETIC[connection.vendor].items()
    }
    # Whole checkpoints due by the horizon (the plan's last date if sooner).
    arithmetic["due_count"] = (
        f"CAST({arithmetic['days_to_last']} / plan.{names['cadence']} AS INTEGER)"
    )
    arithmetic["monitoring_due_count"] = (
        f"CAST({arithmetic['monitoring_days_to_last']} / monitored.cadence AS INTEGER)"
    )
    return template.format(**names, **arithmetic)


def _create_due_checkpoints(today: date, now: datetime) -> tuple[int, int, int]:
    """Insert the checkpoint rows that plans say should exist by now and do not yet, in one
    INSERT ... SELECT, within CHECKPOINT_SWEEP_MAX_PER_CASE per case and
    CHECKPOINT_SWEEP_MAX_PER_RUN in all; those already late go in overdue (escalated once
    ESCALATE_AFTER_DAYS late), stamped `now`. The unique (application, sequence) constraint
    makes a concurrent or repeated run harmless (ON CONFLICT DO NOTHING).

    Returns how many were created, and how many due ones were held back, in how many cases.
    """
    horizon = today + timedelta(days=CHECKPOINT_LEAD_DAYS)
    if not (
        TestingPlan.objects.filter(application__state=TESTING).exists()
        or MonitoringPlan.objects.filter(status=MonitoringStatus.ACTIVE).exists()
    ):
        return 0, 0, 0
    # SQLite compares ISO date strings; PostgreSQL takes a date.
    as_date = (lambda day: day) if connection.vendor == "postgresql" else date.isoformat
    parameters = {
        "per_case": settings.CHECKPOINT_SWEEP_MAX_PER_CASE,
        "per_run": settings.CHECKPOINT_SWEEP_MAX_PER_RUN,
        "scheduled": CheckpointStatus.SCHEDULED.value,
        "overdue": CheckpointStatus.OVERDUE.value,
        "testing": TESTING.value,
        "cleared": ApplicationState.CLEARED.value,
        "monitoring_active": MonitoringStatus.ACTIVE.value,
        "horizon": as_date(horizon),
        "today": as_date(today),
        "escalate_by": as_date(today - timedelta(days=ESCALATE_AFTER_DAYS)),
        # As the ORM writes it, so the overdue step finds these rows by their stamp.
        "now": connection.ops.adapt_datetimefield_value(now),
    }
    with connection.cursor() as cursor:
        cursor.execute(_sweep_sql(_CREATE_CHECKPOINTS_SQL), parameters)
        created = max(cursor.rowcount, 0)
        cursor.execute(_sweep_sql(_HELD_BACK_SQL), parameters)
        cases, held_back = cursor.fetchone()
    return created, int(held_back), cases


def _stamp_and_notify(
    candidates: QuerySet[Checkpoint],
    updates,
    emails: Mapping[str, str],
    *,
    now: datetime | None = None,
    stamped_before: int = 0,
) -> dict[str, int]:
    """Stamp every candidate with this run's timestamp in one UPDATE (`updates(now)` gives the
    columns), then, per stamped column, tell people about exactly the rows carrying that
    timestamp: the emails owed (`emails` maps the column to their kind; outbox rows, sent after
    commit by their own tasks), and a notice per person in their notification centre, all in
    the stamping transaction. A rerun's candidates no longer include them. `stamped_before`
    says rows were already written with `now` (the checkpoints created late). Returns how many
    rows each column stamped."""
    now = now or timezone.now()
    counts = dict.fromkeys(emails, 0)
    with transaction.atomic():
        if not candidates.update(**updates(now)) and not stamped_before:
            return counts
        for field, kind in emails.items():
            counts[field] = checkpoint_emails.owe(
                kind, Checkpoint.objects.filter(**{field: now}), now
            )
            if counts[field]:
                checkpoint_notices.record(field, now)
    return counts


def checkpoints_sweep() -> CheckpointSweepResult:
    """The daily checkpoint job, for every application in controlled testing and every
    cleared one under an active post-clearance monitoring plan.

    Steps: create the checkpoints falling due within CHECKPOINT_LEAD_DAYS; remind the
    manufacturer 7 days and 1 day before; mark unreported checkpoints overdue the day after
    they fall due (telling the manufacturer); escalate to the assigned reviewer once
    ESCALATE_AFTER_DAYS late. Each step is one statement over the whole set, and each row is
    stamped once, so running the job twice sends nothing the second time.
    """
    today = timezone.localdate()
    escalate_by = today - timedelta(days=ESCALATE_AFTER_DAYS)
    # The overdue step's stamp, shared with the checkpoints created already late.
    overdue_now = timezone.now()
    created, held_back, held_back_cases = _create_due_checkpoints(today, overdue_now)
    if held_back:
        logger.warning(
            "checkpoint sweep held back %s due checkpoints in %s cases (at most %s a case and "
            "%s in all each run); the next runs create them. A case that keeps doing this has "
            "a testing plan with implausible dates.",
            held_back,
            held_back_cases,
            settings.CHECKPOINT_SWEEP_MAX_PER_CASE,
            settings.CHECKPOINT_SWEEP_MAX_PER_RUN,
        )
    # Checkpoints that still chase someone: those of a case in testing, and those of an
    # active monitoring plan (one past its end date included: its last reports are owed).
    # A plan's id list is a subquery, not a join, so the steps keep their plans.
    chasing = Q(application__state=TESTING) | Q(
        monitoring_plan__in=MonitoringPlan.objects.filter(status=MonitoringStatus.ACTIVE)
    )
    open_in_testing = Checkpoint.objects.filter(chasing, status=CheckpointStatus.SCHEDULED)
    reminded_7 = _stamp_and_notify(
        open_in_testing.filter(
            reminded_7_days_at__isnull=True,
            due_on__gt=today + timedelta(days=1),
            due_on__lte=today + timedelta(days=7),
        ),
        lambda now: {"reminded_7_days_at": now},
        {"reminded_7_days_at": CheckpointEmailKind.DUE_7_DAYS},
    )["reminded_7_days_at"]
    reminded_1 = _stamp_and_notify(
        open_in_testing.filter(
            reminded_1_day_at__isnull=True, due_on__gte=today, due_on__lte=today + timedelta(days=1)
        ),
        lambda now: {"reminded_1_day_at": now},
        {"reminded_1_day_at": CheckpointEmailKind.DUE_1_DAY},
    )["reminded_1_day_at"]
    # One stamp for every escalation of the run, so each reviewer hears once about all of
    # them (one email, one notices statement):
    with transaction.atomic():
        # checkpoints that went overdue in an earlier run and have now been late long enough;
        escalated_earlier = Checkpoint.objects.filter(
            chasing,
            status=CheckpointStatus.OVERDUE,
            escalated_at__isnull=True,
            due_on__lte=escalate_by,
        ).update(escalated_at=overdue_now)
        # and newly overdue checkpoints. One found already past the escalation point (the job
        # was paused, or a plan started in the past) is escalated in the same statement, so a
        # catch-up run writes each row once.
        overdue = _stamp_and_notify(
            open_in_testing.filter(due_on__lt=today),
            lambda now: {
                "status": CheckpointStatus.OVERDUE,
                "overdue_at": now,
                "escalated_at": Case(
                    When(due_on__lte=escalate_by, then=Value(now)),
                    default=None,
                    output_field=DateTimeField(),
                ),
            },
            {
                "overdue_at": CheckpointEmailKind.OVERDUE,
                "escalated_at": CheckpointEmailKind.ESCALATED,
            },
            now=overdue_now,
            stamped_before=created + escalated_earlier,
        )
    escalated = overdue["escalated_at"]
    overdue = overdue["overdue_at"]
    result = CheckpointSweepResult(
        created, reminded_7, reminded_1, overdue, escalated, held_back, held_back_cases
    )
    logger.info("checkpoint sweep: %s", result)
    return result
