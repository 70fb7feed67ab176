"""Controlled testing and safety monitoring: checkpoints, reports, signals, the partner network.

Scheduled jobs here are set-based and safe to run twice. Missing rows are inserted by the
database in one statement under a unique constraint; the rows a job acts on are stamped with a
single UPDATE carrying the run's timestamp (or recorded as new notice rows), and email goes out
for exactly those rows, so a rerun finds nothing left to do. Stamps and sends share a
transaction: a failed send rolls the stamps back and the next run tries again.

Tasks started by a user's action (evaluating a report, telling a reviewer about a signal,
delivering an alert) use a column on the row as their outbox; a sweep picks up any row a dead
broker or a lost message left behind.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, DateTimeField, F, Max, Min, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone

from airlock.emails import send_templated
from airlock.models import User
from airlock.queue import enqueue, enqueue_on_commit
from airlock.roles import Role
from devices.clocks import add_working_days
from devices.models import (
    DUE_SOON_WORKING_DAYS,
    FINAL_STATES,
    INCIDENT_REPORT_DAYS,
    REVIEWER,
    Application,
    ApplicationState,
    CheckpointReport,
    IncidentReport,
    IncidentSeverity,
    is_team_member,
)
from devices.services import TransitionRefused, lock_application, transition_locked
from reviews.models import (
    AlertDelivery,
    Checkpoint,
    CheckpointStatus,
    ClockNotice,
    ClockNoticeKind,
    Comparator,
    ConflictOfInterest,
    DeliveryStatus,
    DigestReceipt,
    IncomingAlert,
    Metric,
    MetricThreshold,
    PartnerRegulator,
    SafetySignal,
    SignalSeverity,
    SignalSource,
    SignalStatus,
    TestingPlan,
)

logger = logging.getLogger(__name__)

# Checkpoints appear this many days before they fall due, so the 7-day reminder always has a
# row to stamp and the manufacturer can see what is coming.
CHECKPOINT_LEAD_DAYS = 14
# An overdue checkpoint goes to the assigned reviewer once it is this many days late.
ESCALATE_AFTER_DAYS = 3
# Give an on-commit task time to run before a sweep treats its row as missed.
SWEEP_GRACE = timedelta(minutes=2)
SWEEP_BATCH = 500
# A scheduled email lists this many checkpoints at most and counts the rest.
EMAIL_LIST_LIMIT = 20

MAX_DELIVERY_ATTEMPTS = 8
DELIVERY_BASE_DELAY_SECONDS = 30
DELIVERY_TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Airlock-Signature"
TIMESTAMP_HEADER = "X-Airlock-Timestamp"

# Metric values are proportions, except the calibration slope (ideal 1.0, can exceed it).
METRIC_RANGES = {Metric.CALIBRATION_SLOPE: (Decimal("0"), Decimal("10"))}
PROPORTION = (Decimal("0"), Decimal("1"))

INCIDENT_SIGNAL_SEVERITY = {
    IncidentSeverity.PUBLIC_HEALTH_THREAT: SignalSeverity.CRITICAL,
    IncidentSeverity.DEATH_OR_DETERIORATION: SignalSeverity.CRITICAL,
    IncidentSeverity.OTHER_SERIOUS: SignalSeverity.HIGH,
}

TESTING = ApplicationState.IN_CONTROLLED_TESTING
# States in which the device is, or has just been, in use in the sandbox.
REPORTING_STATES = {TESTING, ApplicationState.SUSPENDED}
INCIDENT_STATES = {TESTING, ApplicationState.SUSPENDED, ApplicationState.EVIDENCE_REVIEW}


# --- Recipients ------------------------------------------------------------------------------


def _team_emails(organisation_ids: Iterable[int]) -> dict[int, list[str]]:
    """Active team members' addresses per organisation, in one query."""
    emails: dict[int, list[str]] = defaultdict(list)
    rows = User.objects.filter(
        membership__organisation_id__in=set(organisation_ids), is_active=True
    ).values_list("membership__organisation_id", "email")
    for organisation_id, email in rows:
        emails[organisation_id].append(email)
    return emails


class _ReviewerDirectory:
    """Who hears about a case on the regulator's side: the assigned reviewer, or, when nobody
    is assigned, the lead reviewers (who assign work) without a conflict with the organisation.
    Loaded once per run so a sweep over many cases makes three queries, not three per case."""

    def __init__(self, assignee_ids: Iterable[int | None]):
        self._assignees = dict(
            User.objects.filter(
                pk__in={pk for pk in assignee_ids if pk}, is_active=True
            ).values_list("pk", "email")
        )
        self._leads = dict(
            User.objects.filter(groups__name=Role.LEAD_REVIEWER.label, is_active=True).values_list(
                "pk", "email"
            )
        )
        self._conflicts = set(
            ConflictOfInterest.objects.filter(reviewer_id__in=self._leads).values_list(
                "reviewer_id", "organisation_id"
            )
        )

    def emails(self, *, assignee_id: int | None, organisation_id: int) -> tuple[str, ...]:
        if assignee_id in self._assignees:
            return (self._assignees[assignee_id],)
        return tuple(
            sorted(
                email
                for pk, email in self._leads.items()
                if (pk, organisation_id) not in self._conflicts
            )
        )

    def emails_for(self, application: Application) -> list[str]:
        return list(
            self.emails(
                assignee_id=application.assignee_id, organisation_id=application.organisation_id
            )
        )


# --- Checkpoint schedule and the checkpoint sweep ---------------------------------------------


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


# The missing checkpoints of every plan in testing, inserted by the database in one statement.
# A recursive CTE numbers the checkpoints 1..n; each plan takes the numbers whose due date
# (start + n x cadence) falls by its end and by the horizon, above its last existing sequence.
# Only the date arithmetic differs between PostgreSQL and SQLite.
# (The CTE follows INSERT INTO so that Python's sqlite3 reports the inserted row count.)
_CREATE_CHECKPOINTS_SQL = """
INSERT INTO {checkpoint} ({application_id}, {sequence}, {due_on}, {status})
WITH RECURSIVE numbers(k) AS (
    SELECT 1 UNION ALL SELECT k + 1 FROM numbers WHERE k < %(count)s
)
SELECT plan.{plan_application_id}, numbers.k, {due_date}, %(scheduled)s
FROM {plan} plan
JOIN {application} app ON app.{id} = plan.{plan_application_id}
JOIN numbers ON numbers.k * plan.{cadence} <= {days_to_last}
LEFT JOIN (
    SELECT {application_id} AS application_id, MAX({sequence}) AS last
    FROM {checkpoint} GROUP BY {application_id}
) existing ON existing.application_id = plan.{plan_application_id}
WHERE app.{state} = %(testing)s
  AND plan.{agreed_at} IS NOT NULL
  AND numbers.k > COALESCE(existing.last, 0)
ON CONFLICT DO NOTHING
"""
_DATE_ARITHMETIC = {
    "postgresql": {
        "due_date": "plan.{starts_on} + numbers.k * plan.{cadence}",
        "days_to_last": "(LEAST(plan.{ends_on}, %(horizon)s) - plan.{starts_on})",
    },
    "sqlite": {
        "due_date": "date(plan.{starts_on}, '+' || (numbers.k * plan.{cadence}) || ' days')",
        "days_to_last": (
            "(julianday(MIN(plan.{ends_on}, %(horizon)s)) - julianday(plan.{starts_on}))"
        ),
    },
}


def _create_due_checkpoints(today: date) -> int:
    """Insert the checkpoint rows that plans say should exist by now and do not yet, in one
    INSERT ... SELECT. The unique (application, sequence) constraint makes a concurrent or
    repeated run harmless (ON CONFLICT DO NOTHING)."""
    horizon = today + timedelta(days=CHECKPOINT_LEAD_DAYS)
    span = TestingPlan.objects.filter(application__state=TESTING).aggregate(
        first=Min("starts_on"), last=Max("ends_on"), cadence=Min("cadence_days")
    )
    if span["first"] is None:
        return 0
    count = (min(span["last"], horizon) - span["first"]).days // span["cadence"]
    if count < 1:
        return 0
    plan, checkpoint, application = TestingPlan._meta, Checkpoint._meta, Application._meta
    names = {
        "checkpoint": connection.ops.quote_name(checkpoint.db_table),
        "application_id": checkpoint.get_field("application").column,
        "sequence": checkpoint.get_field("sequence").column,
        "due_on": checkpoint.get_field("due_on").column,
        "status": checkpoint.get_field("status").column,
        "plan": connection.ops.quote_name(plan.db_table),
        "plan_application_id": plan.get_field("application").column,
        "starts_on": plan.get_field("starts_on").column,
        "ends_on": plan.get_field("ends_on").column,
        "cadence": plan.get_field("cadence_days").column,
        "agreed_at": plan.get_field("agreed_at").column,
        "application": connection.ops.quote_name(application.db_table),
        "id": application.pk.column,
        "state": application.get_field("state").column,
    }
    arithmetic = {
        key: template.format(**names)
        for key, template in _DATE_ARITHMETIC[connection.vendor].items()
    }
    sql = _CREATE_CHECKPOINTS_SQL.format(**names, **arithmetic)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "count": count,
                "scheduled": CheckpointStatus.SCHEDULED.value,
                "testing": TESTING.value,
                # SQLite compares ISO date strings; PostgreSQL takes a date.
                "horizon": horizon if connection.vendor == "postgresql" else horizon.isoformat(),
            },
        )
        return max(cursor.rowcount, 0)


@dataclass(frozen=True)
class _Stamped:
    """One checkpoint a run stamped, with what is needed to group it by recipient."""

    pk: int
    organisation_id: int
    assignee_id: int | None


def _stamp_and_notify(
    candidates: QuerySet[Checkpoint], updates, notifications: Mapping[str, object]
) -> dict[str, int]:
    """Stamp every candidate with this run's timestamp in one UPDATE (`updates(now)` gives the
    columns), then, per stamped column, notify about exactly the rows carrying that timestamp.
    A rerun's candidates no longer include them. Returns how many rows each column stamped."""
    now = timezone.now()
    counts = dict.fromkeys(notifications, 0)
    with transaction.atomic():
        if not candidates.update(**updates(now)):
            return counts
        for field, notify in notifications.items():
            rows = [
                _Stamped(*row)
                for row in Checkpoint.objects.filter(**{field: now})
                .order_by("application_id", "sequence")
                .values_list("pk", "application__organisation_id", "application__assignee_id")
                .iterator(chunk_size=10_000)
            ]
            if rows:
                notify(rows)
            counts[field] = len(rows)
    return counts


@dataclass(frozen=True)
class ListedCheckpoint:
    """A checkpoint as a scheduled email lists it (plain values: cheap to load and render)."""

    reference: str
    device: str
    organisation: str
    sequence: int
    due_on: date
    days: int  # until due (reminders) or since due (escalations)
    url: str


def _send_grouped(
    name: str, groups: Mapping[tuple, list[_Stamped]], *, url, days, context: Mapping
) -> None:
    """One email per group of recipients, listing at most EMAIL_LIST_LIMIT checkpoints and
    counting the rest. The listed rows are read as plain values, a few thousand per query."""
    shown = [row.pk for group in groups.values() for row in group[:EMAIL_LIST_LIMIT]]
    fields = (
        "pk",
        "sequence",
        "due_on",
        "application_id",
        "application__reference",
        "application__device__name",
        "application__device__version",
        "application__organisation__name",
    )
    values = {}
    for start in range(0, len(shown), 5000):
        for row in Checkpoint.objects.filter(pk__in=shown[start : start + 5000]).values(*fields):
            device = " ".join(
                filter(
                    None, [row["application__device__name"], row["application__device__version"]]
                )
            )
            values[row["pk"]] = ListedCheckpoint(
                reference=row["application__reference"],
                device=device,
                organisation=row["application__organisation__name"],
                sequence=row["sequence"],
                due_on=row["due_on"],
                days=days(row["due_on"]),
                url=settings.SITE_URL + url(row["application_id"], row["sequence"]),
            )
    for recipients, group in groups.items():
        listed = [values[row.pk] for row in group[:EMAIL_LIST_LIMIT]]
        send_templated(
            name,
            {
                **context,
                "checkpoints": listed,
                "first": listed[0],
                "more": len(group) - len(listed),
            },
            list(recipients),
        )


def _remind_manufacturers(kind: str):
    """One email per organisation per run, listing its checkpoints: a manufacturer with several
    cases hears once, and a catch-up run over thousands of checkpoints sends few emails."""

    def notify(rows: list[_Stamped]) -> None:
        teams = _team_emails({row.organisation_id for row in rows})
        groups: dict[tuple, list[_Stamped]] = defaultdict(list)
        for row in rows:
            recipients = tuple(sorted(teams.get(row.organisation_id, [])))
            if recipients:
                groups[recipients].append(row)
        today = timezone.localdate()
        _send_grouped(
            "checkpoint_reminder",
            groups,
            url=lambda pk, sequence: reverse("devices:checkpoint-report", args=[pk, sequence]),
            days=lambda due_on: (due_on - today).days,
            context={"kind": kind, "escalate_after_days": ESCALATE_AFTER_DAYS},
        )

    return notify


def _escalate_to_reviewers(rows: list[_Stamped]) -> None:
    """One email per reviewer (or group of lead reviewers) per run, listing the checkpoints."""
    reviewers = _ReviewerDirectory(row.assignee_id for row in rows)
    groups: dict[tuple, list[_Stamped]] = defaultdict(list)
    for row in rows:
        recipients = reviewers.emails(
            assignee_id=row.assignee_id, organisation_id=row.organisation_id
        )
        if recipients:
            groups[recipients].append(row)
    today = timezone.localdate()
    _send_grouped(
        "checkpoint_escalation",
        groups,
        url=lambda pk, sequence: reverse("reviews:performance", args=[pk]),
        days=lambda due_on: (today - due_on).days,
        context={},
    )


def checkpoints_sweep() -> CheckpointSweepResult:
    """The daily checkpoint job, for every application in controlled testing.

    Steps: create the checkpoints falling due within CHECKPOINT_LEAD_DAYS; remind the
    manufacturer 7 days and 1 day before; mark unreported checkpoints overdue the day after
    they fall due (telling the manufacturer); escalate to the assigned reviewer once
    ESCALATE_AFTER_DAYS late. Each step is one statement over the whole set, and each row is
    stamped once, so running the job twice sends nothing the second time.
    """
    today = timezone.localdate()
    escalate_by = today - timedelta(days=ESCALATE_AFTER_DAYS)
    created = _create_due_checkpoints(today)
    open_in_testing = Checkpoint.objects.filter(
        status=CheckpointStatus.SCHEDULED, application__state=TESTING
    )
    reminded_7 = _stamp_and_notify(
        open_in_testing.filter(
            reminded_7_days_at__isnull=True,
            due_on__gt=today + timedelta(days=1),
            due_on__lte=today + timedelta(days=7),
        ),
        lambda now: {"reminded_7_days_at": now},
        {"reminded_7_days_at": _remind_manufacturers("7_days")},
    )["reminded_7_days_at"]
    reminded_1 = _stamp_and_notify(
        open_in_testing.filter(
            reminded_1_day_at__isnull=True, due_on__gte=today, due_on__lte=today + timedelta(days=1)
        ),
        lambda now: {"reminded_1_day_at": now},
        {"reminded_1_day_at": _remind_manufacturers("1_day")},
    )["reminded_1_day_at"]
    # Checkpoints that went overdue in an earlier run and have now been late long enough.
    escalated_earlier = _stamp_and_notify(
        Checkpoint.objects.filter(
            status=CheckpointStatus.OVERDUE,
            application__state=TESTING,
            escalated_at__isnull=True,
            due_on__lte=escalate_by,
        ),
        lambda now: {"escalated_at": now},
        {"escalated_at": _escalate_to_reviewers},
    )["escalated_at"]
    # Newly overdue checkpoints. One found already past the escalation point (the job was
    # paused, or a plan started in the past) is escalated in the same statement, so a
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
        {"overdue_at": _remind_manufacturers("overdue"), "escalated_at": _escalate_to_reviewers},
    )
    escalated = escalated_earlier + overdue["escalated_at"]
    overdue = overdue["overdue_at"]
    result = CheckpointSweepResult(created, reminded_7, reminded_1, overdue, escalated)
    logger.info("checkpoint sweep: %s", result)
    return result


# --- Checkpoint reports ----------------------------------------------------------------------


def metric_value_error(metric: str, value: object) -> str | None:
    """Why `value` cannot be a figure for `metric`, in words; None if it can."""
    if metric not in Metric.values:
        return f"“{metric}” is not a metric Airlock records."
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return f"{Metric(metric).label} must be a number."
    if isinstance(value, bool) or not number.is_finite():
        return f"{Metric(metric).label} must be a number."
    low, high = METRIC_RANGES.get(metric, PROPORTION)
    if not low <= number <= high:
        return f"{Metric(metric).label} must be between {low} and {high}."
    return None


def report_figures_clean(
    *, metrics: Mapping, subgroup_metrics: Mapping, required: Iterable[str]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Check reported figures; return them as JSON-ready numbers or raise a ValidationError
    keyed by field ("metrics", "subgroup_metrics")."""
    errors: dict[str, list[str]] = defaultdict(list)
    if not isinstance(metrics, Mapping):
        raise ValidationError({"metrics": "Give the metrics as names and values."})
    if not isinstance(subgroup_metrics, Mapping):
        raise ValidationError({"subgroup_metrics": "Give subgroup figures per subgroup."})
    for metric in required:
        if metric not in metrics:
            errors["metrics"].append(
                f"{Metric(metric).label} is required: the testing plan sets a threshold for it."
            )
    clean = {}
    for metric, value in metrics.items():
        error = metric_value_error(metric, value)
        if error:
            errors["metrics"].append(error)
        else:
            clean[metric] = float(value)
    clean_subgroups: dict[str, dict[str, float]] = {}
    for subgroup, figures in subgroup_metrics.items():
        name = str(subgroup).strip()
        # Printable: a NUL byte in a JSON key is refused by PostgreSQL's jsonb (a 500 otherwise).
        if not name or len(name) > 100 or not name.isprintable():
            errors["subgroup_metrics"].append(
                "Each subgroup needs a name of up to 100 printable characters."
            )
            continue
        if not isinstance(figures, Mapping) or not figures:
            errors["subgroup_metrics"].append(f"Give at least one metric for “{name}”.")
            continue
        for metric, value in figures.items():
            error = metric_value_error(metric, value)
            if error:
                errors["subgroup_metrics"].append(f"{name}: {error}")
            else:
                clean_subgroups.setdefault(name, {})[metric] = float(value)
    if errors:
        raise ValidationError(dict(errors))
    return clean, clean_subgroups


def checkpoint_report_submit(
    *,
    actor: User,
    checkpoint_id: int,
    cases_processed: int,
    metrics: Mapping,
    subgroup_metrics: Mapping | None = None,
    incidents_count: int = 0,
    narrative: str = "",
) -> CheckpointReport:
    """Record the manufacturer's figures for one of their checkpoints and queue evaluation.

    Steps: lock the checkpoint; check it belongs to the actor's organisation, is not reported
    yet and the case is in (or suspended from) testing; check the figures; save the report and
    mark the checkpoint submitted; evaluate on commit. If the broker is down the report is
    saved all the same and the evaluation sweep picks it up.
    """
    with transaction.atomic():
        checkpoint = (
            Checkpoint.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(pk=checkpoint_id)
        )
        application = checkpoint.application
        if not is_team_member(actor, application.organisation_id):
            raise PermissionError("Only the organisation's own team can report on this case.")
        if checkpoint.status == CheckpointStatus.SUBMITTED or hasattr(checkpoint, "report"):
            raise TransitionRefused(
                f"Checkpoint {checkpoint.sequence} has been reported already; a report cannot "
                "be replaced. Send a message to your reviewer to correct it."
            )
        if application.state not in REPORTING_STATES:
            raise TransitionRefused(
                "Checkpoint reports are taken during controlled testing; this application is "
                f"{application.state_enum.label.lower()}."
            )
        required = MetricThreshold.objects.filter(plan__application=application).values_list(
            "metric", flat=True
        )
        clean_metrics, clean_subgroups = report_figures_clean(
            metrics=metrics, subgroup_metrics=subgroup_metrics or {}, required=required
        )
        report = CheckpointReport.objects.create(
            checkpoint=checkpoint,
            submitted_by=actor,
            cases_processed=cases_processed,
            metrics=clean_metrics,
            subgroup_metrics=clean_subgroups,
            incidents_count=incidents_count,
            narrative=narrative.strip(),
        )
        checkpoint.status = CheckpointStatus.SUBMITTED
        checkpoint.save(update_fields=["status"])
        from reviews.tasks import evaluate_checkpoint_report

        enqueue_on_commit(evaluate_checkpoint_report, report.pk)
    return report


def breaches(comparator: str, limit: Decimal, value: Decimal) -> bool:
    return value < limit if comparator == Comparator.AT_LEAST else value > limit


@dataclass(frozen=True)
class Finding:
    severity: str
    title: str
    description: str
    observed: Decimal | None


def _assess(threshold: MetricThreshold, report: CheckpointReport) -> Finding | None:
    """Compare one metric of a report, overall and per subgroup, with its agreed threshold."""
    label = threshold.get_metric_display()
    rule = f"{threshold.get_comparator_display()} {threshold.value.normalize()}"
    checkpoint = report.checkpoint
    where = f"{checkpoint.application.reference}, checkpoint {checkpoint.sequence}"
    lines = []
    observed = None
    severity = None
    if threshold.metric in report.metrics:
        observed = Decimal(str(report.metrics[threshold.metric]))
        if breaches(threshold.comparator, threshold.value, observed):
            severity = SignalSeverity.HIGH
            lines.append(f"Overall {label.lower()} was {observed}; the plan requires {rule}.")
            critical = threshold.critical_value
            if critical is not None and breaches(threshold.comparator, critical, observed):
                severity = SignalSeverity.CRITICAL
                lines.append(f"That is beyond the critical limit of {critical.normalize()}.")
    subgroup_lines = []
    for subgroup, figures in sorted(report.subgroup_metrics.items()):
        if threshold.metric in figures:
            value = Decimal(str(figures[threshold.metric]))
            if breaches(threshold.comparator, threshold.value, value):
                subgroup_lines.append(f"{subgroup}: {value}")
    if subgroup_lines:
        severity = severity or SignalSeverity.MEDIUM
        lines.append(f"Subgroups below the requirement ({rule}): " + "; ".join(subgroup_lines))
    if severity is None:
        return None
    if observed is not None and severity != SignalSeverity.MEDIUM:
        title = f"{label} {observed} breaches its threshold ({where})"
    else:
        title = f"{label} breaches its threshold in a subgroup ({where})"
    return Finding(severity, title, "\n".join(lines), observed)


def checkpoint_report_evaluate(*, report_id: int) -> list[SafetySignal]:
    """Compare a report with the plan's thresholds, once.

    Steps: lock the report; stop if it was evaluated already (the task can be delivered twice);
    raise one signal per breached metric (unique per report and metric); stamp evaluated_at;
    on a critical breach, suspend testing automatically when the plan says so and the case is
    still in testing; tell the reviewer about new signals after commit. Returns new signals.
    """
    with transaction.atomic():
        report = (
            CheckpointReport.objects.select_for_update(of=("self",))
            .select_related("checkpoint__application__device")
            .get(pk=report_id)
        )
        if report.evaluated_at is not None:
            return []
        application = report.checkpoint.application
        plan = TestingPlan.objects.filter(application=application).first()
        thresholds = list(plan.thresholds.all()) if plan else []
        created_signals = []
        critical_reasons = []
        for threshold in thresholds:
            finding = _assess(threshold, report)
            if finding is None:
                continue
            signal, created = SafetySignal.objects.get_or_create(
                checkpoint_report=report,
                metric=threshold.metric,
                defaults={
                    "application": application,
                    "observed_value": finding.observed,
                    "severity": finding.severity,
                    "source": SignalSource.CHECKPOINT_BREACH,
                    "title": finding.title[:200],
                    "description": finding.description,
                },
            )
            if created:
                created_signals.append(signal)
            if signal.severity == SignalSeverity.CRITICAL:
                critical_reasons.append(
                    f"{threshold.get_metric_display()} {finding.observed} passed the critical "
                    f"limit of {threshold.critical_value.normalize()}"
                )
        report.evaluated_at = timezone.now()
        report.save(update_fields=["evaluated_at"])
        if critical_reasons and plan.suspend_on_critical_breach:
            locked = lock_application(application.pk)
            if locked.state == TESTING:
                transition_locked(
                    locked,
                    action="suspend",
                    actor=None,
                    reason=(
                        f"Suspended automatically at checkpoint {report.checkpoint.sequence}: "
                        + "; ".join(critical_reasons)
                        + ". The testing plan suspends testing on a critical breach."
                    ),
                )
        from reviews.tasks import notify_safety_signal

        for signal in created_signals:
            enqueue_on_commit(notify_safety_signal, signal.pk)
    return created_signals


def pending_reports_evaluate() -> int:
    """Sweep: evaluate reports whose on-commit task never ran (broker down, lost message)."""
    cutoff = timezone.now() - SWEEP_GRACE
    pending = CheckpointReport.objects.filter(
        evaluated_at__isnull=True, submitted_at__lt=cutoff
    ).values_list("pk", flat=True)
    return sum(len(checkpoint_report_evaluate(report_id=pk)) for pk in list(pending[:SWEEP_BATCH]))


# --- Incident reports ------------------------------------------------------------------------


def incident_report_submit(
    *,
    actor: User,
    application_id: int,
    severity: str,
    occurred_on: date,
    aware_on: date,
    description: str,
    actions_taken: str = "",
) -> IncidentReport:
    """Record a serious incident and raise a safety signal for the reviewers.

    The statutory reporting deadline (2, 10 or 15 days from awareness) is computed on save;
    a late report is still accepted and says so in the signal.
    """
    today = timezone.localdate()
    errors = {}
    if occurred_on > today:
        errors["occurred_on"] = "The incident date cannot be in the future."
    if aware_on > today:
        errors["aware_on"] = "The date you became aware cannot be in the future."
    elif aware_on < occurred_on:
        errors["aware_on"] = "You cannot have become aware before the incident happened."
    if not description.strip():
        errors["description"] = "Describe what happened."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        application = lock_application(application_id)
        if not is_team_member(actor, application.organisation_id):
            raise PermissionError("Only the organisation's own team can report incidents.")
        if application.state not in INCIDENT_STATES:
            raise TransitionRefused(
                "Incident reports are taken once controlled testing has begun; this "
                f"application is {application.state_enum.label.lower()}."
            )
        incident = IncidentReport.objects.create(
            application=application,
            reported_by=actor,
            severity=severity,
            occurred_on=occurred_on,
            aware_on=aware_on,
            description=description.strip(),
            actions_taken=actions_taken.strip(),
        )
        days = INCIDENT_REPORT_DAYS[IncidentSeverity(severity)]
        timing = (
            f"Reported late: due within {days} days of awareness, by "
            f"{incident.report_due_on:%-d %B %Y}."
            if incident.reported_late
            else f"Reported within the {days}-day statutory period."
        )
        signal = SafetySignal.objects.create(
            application=application,
            incident=incident,
            severity=INCIDENT_SIGNAL_SEVERITY[IncidentSeverity(severity)],
            source=SignalSource.INCIDENT,
            title=f"Incident: {incident.get_severity_display()} ({application.reference})"[:200],
            description=f"{incident.description}\n\n{timing}",
        )
        from reviews.tasks import notify_safety_signal

        enqueue_on_commit(notify_safety_signal, signal.pk)
    return incident


# --- Safety signals --------------------------------------------------------------------------


def safety_signal_raise(
    *, actor: User, application_id: int, severity: str, title: str, description: str
) -> SafetySignal:
    """A reviewer raises a signal by hand; the assigned reviewer (if someone else) hears."""
    application = Application.objects.get(pk=application_id)
    if not REVIEWER(application, actor):
        raise PermissionError(REVIEWER.refusal(application, actor))
    with transaction.atomic():
        signal = SafetySignal.objects.create(
            application=application,
            severity=severity,
            source=SignalSource.REVIEWER,
            title=title.strip(),
            description=description.strip(),
            raised_by=actor,
        )
        from reviews.tasks import notify_safety_signal

        enqueue_on_commit(notify_safety_signal, signal.pk)
    return signal


def safety_signal_notify(*, signal_id: int) -> int:
    """Email the reviewers concerned about one signal, once (notified_at is the outbox)."""
    with transaction.atomic():
        signal = (
            SafetySignal.objects.select_for_update(of=("self",))
            .select_related("application__device", "checkpoint_report__checkpoint", "raised_by")
            .get(pk=signal_id)
        )
        if signal.notified_at is not None:
            return 0
        application = signal.application
        recipients = _ReviewerDirectory([application.assignee_id]).emails_for(application)
        if signal.raised_by_id:
            recipients = [email for email in recipients if email != signal.raised_by.email]
        sent = send_templated(
            "safety_signal",
            {
                "signal": signal,
                "application": application,
                "suspended": application.state == ApplicationState.SUSPENDED,
            },
            recipients,
        )
        signal.notified_at = timezone.now()
        signal.save(update_fields=["notified_at"])
    return sent


def pending_signals_notify() -> int:
    cutoff = timezone.now() - SWEEP_GRACE
    pending = SafetySignal.objects.filter(notified_at__isnull=True, raised_at__lt=cutoff)
    return sum(
        safety_signal_notify(signal_id=pk)
        for pk in list(pending.values_list("pk", flat=True)[:SWEEP_BATCH])
    )


def safety_signal_status_set(*, actor: User, signal_id: int, status: str) -> SafetySignal:
    with transaction.atomic():
        signal = SafetySignal.objects.select_for_update().get(pk=signal_id)
        if not REVIEWER(signal.application, actor):
            raise PermissionError(REVIEWER.refusal(signal.application, actor))
        if status not in SignalStatus.values:
            raise ValidationError({"status": "Choose a status from the list."})
        signal.status = status
        signal.save(update_fields=["status"])
    return signal


def safety_signal_share(*, actor: User, signal_id: int) -> int:
    """Share a signal with the partner network; returns how many webhook deliveries it queued.

    Steps: lock the signal; check the actor is a reviewer free of conflicts; stamp shared_at
    (it then appears in the partners' feed); create one delivery row per active partner with
    a webhook (a partner added later gets one when the signal is shared again); queue each new
    delivery after commit. The delivery sweep sends any that a dead broker held back.
    """
    with transaction.atomic():
        signal = (
            SafetySignal.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(pk=signal_id)
        )
        if not REVIEWER(signal.application, actor):
            raise PermissionError(REVIEWER.refusal(signal.application, actor))
        if signal.shared_at is None:
            signal.shared_at = timezone.now()
            signal.save(update_fields=["shared_at"])
        partners = PartnerRegulator.objects.filter(is_active=True).exclude(webhook_url="")
        already = set(signal.deliveries.values_list("partner_id", flat=True))
        new = AlertDelivery.objects.bulk_create(
            [AlertDelivery(signal=signal, partner=p) for p in partners if p.pk not in already],
            ignore_conflicts=True,
        )
        from reviews.tasks import deliver_alert

        for delivery_id in AlertDelivery.objects.filter(
            signal=signal, status=DeliveryStatus.PENDING, attempts=0
        ).values_list("pk", flat=True):
            enqueue_on_commit(deliver_alert, delivery_id)
    return len(new)


# --- The partner network: outbound webhook, feed and inbound alerts ----------------------------


def alert_payload(signal: SafetySignal) -> dict:
    """What partners receive, by webhook and in the feed. `id` is stable: deduplicate on it."""
    application = signal.application
    device = application.device
    return {
        "id": f"airlock-signal-{signal.pk}",
        "issuer": "Airlock",
        "title": signal.title,
        "severity": signal.severity,
        "source": signal.source,
        "status": signal.status,
        "metric": signal.metric or None,
        "observed_value": str(signal.observed_value) if signal.observed_value is not None else None,
        "description": signal.description,
        "raised_at": signal.raised_at.isoformat(),
        "shared_at": signal.shared_at.isoformat() if signal.shared_at else None,
        "device": {
            "name": device.name if device else "",
            "version": device.version if device else "",
            "manufacturer": application.organisation.name,
            "uk_mdr_class": device.mdr_class if device else "",
            "imdrf_category": device.imdrf_category if device else "",
            "clinical_area": device.clinical_area if device else "",
        },
    }


def alert_body(signal: SafetySignal) -> bytes:
    return json.dumps(alert_payload(signal), sort_keys=True, separators=(",", ":")).encode()


def alert_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<raw body>": the timestamp is signed so a captured request
    cannot be replayed later with a fresh timestamp."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def retry_delay(attempts: int) -> int:
    """Seconds before the next delivery attempt: 30 s, 1 min, 2 min, 4 min ... doubling."""
    return DELIVERY_BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirected POST would arrive as a GET without the alert: count it as a failure.
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))


def alert_deliver(*, delivery_id: int) -> AlertDelivery:
    """Make one signed delivery attempt and log it on the delivery row.

    The result is DELIVERED on a 2xx answer, FAILED once MAX_DELIVERY_ATTEMPTS attempts have
    failed, otherwise still PENDING (the task retries after `retry_delay`). No transaction is
    held over the HTTP call; a delivery sent twice carries the same `id` for the partner to
    deduplicate.
    """
    delivery = AlertDelivery.objects.select_related(
        "partner", "signal__application__device", "signal__application__organisation"
    ).get(pk=delivery_id)
    if delivery.status != DeliveryStatus.PENDING:
        return delivery
    partner = delivery.partner
    body = alert_body(delivery.signal)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Airlock-Alerts/1.0",
        "X-Airlock-Delivery": str(delivery.pk),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: alert_signature(
            secret=partner.signing_secret, timestamp=timestamp, body=body
        ),
    }
    status_code, error = _post(partner.webhook_url, body, headers)
    delivered = status_code is not None and 200 <= status_code < 300
    attempts = delivery.attempts + 1
    if delivered:
        status = DeliveryStatus.DELIVERED
    elif attempts >= MAX_DELIVERY_ATTEMPTS:
        status = DeliveryStatus.FAILED
    else:
        status = DeliveryStatus.PENDING
    now = timezone.now()
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        last_status_code=status_code,
        last_error="" if delivered else error[:2000],
        status=status,
        delivered_at=now if delivered else None,
    )
    if status == DeliveryStatus.FAILED:
        logger.error("alert delivery %s to %s failed: gave up", delivery.pk, partner)
    delivery.refresh_from_db()
    return delivery


def pending_deliveries_retry() -> int:
    """Sweep: queue deliveries that were never attempted (broker down when shared) or whose
    retry message was lost (no attempt for an hour)."""
    now = timezone.now()
    stalled = AlertDelivery.objects.filter(status=DeliveryStatus.PENDING).filter(
        Q(attempts=0, signal__shared_at__lt=now - SWEEP_GRACE)
        | Q(last_attempt_at__lt=now - timedelta(hours=1))
    )
    from reviews.tasks import deliver_alert

    return sum(
        enqueue(deliver_alert, pk)
        for pk in list(stalled.values_list("pk", flat=True)[:SWEEP_BATCH])
    )


def partner_for_token(token: str) -> PartnerRegulator | None:
    """The active partner whose inbound token this is; only the token's SHA-256 is stored."""
    if not token:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    return PartnerRegulator.objects.filter(is_active=True, inbound_token_sha256=digest).first()


def incoming_alert_receive(
    *,
    partner: PartnerRegulator,
    external_id: str,
    title: str,
    severity: str,
    summary: str,
    device_name: str = "",
    payload: Mapping,
) -> tuple[IncomingAlert, bool]:
    """Store an alert a partner pushed; the same (partner, id) delivered again is stored once."""
    return IncomingAlert.objects.get_or_create(
        partner=partner,
        external_id=external_id,
        defaults={
            "title": title,
            "severity": severity,
            "summary": summary,
            "device_name": device_name,
            "payload": dict(payload),
        },
    )


# --- Review clocks ---------------------------------------------------------------------------


def review_clocks_sweep() -> int:
    """Warn the assigned reviewer before a review clock runs out, and flag breaches.

    Steps: find running clocks (not paused, case not final) due within DUE_SOON_WORKING_DAYS
    working days or already past; work out which (case, stage, kind, due date) notices do not
    exist yet; insert exactly those and email about them in one transaction. A rerun finds
    them all present and sends nothing; a concurrent run trips the unique constraint, rolls
    back and sends nothing.
    """
    today = timezone.localdate()
    now = timezone.now()
    soon = add_working_days(today, DUE_SOON_WORKING_DAYS)
    running = (
        Application.objects.exclude(clock_stage="")
        .exclude(state__in=FINAL_STATES)
        .filter(clock_paused_on__isnull=True, clock_due_on__isnull=False, clock_due_on__lte=soon)
    )
    due = {
        (pk, stage, ClockNoticeKind.BREACH if due_on < today else ClockNoticeKind.WARNING, due_on)
        for pk, stage, due_on in running.values_list("pk", "clock_stage", "clock_due_on")
    }
    sent_before = set(
        ClockNotice.objects.filter(application__in=running).values_list(
            "application_id", "stage", "kind", "due_on"
        )
    )
    fresh = [
        ClockNotice(application_id=pk, stage=stage, kind=kind, due_on=due_on, sent_at=now)
        for pk, stage, kind, due_on in sorted(due - sent_before)
    ]
    if not fresh:
        return 0
    try:
        with transaction.atomic():
            ClockNotice.objects.bulk_create(fresh, batch_size=1000)
            applications = Application.objects.select_related("device", "assignee").in_bulk(
                [notice.application_id for notice in fresh]
            )
            reviewers = _ReviewerDirectory(app.assignee_id for app in applications.values())
            for notice in fresh:
                application = applications[notice.application_id]
                send_templated(
                    "review_clock",
                    {
                        "notice": notice,
                        "application": application,
                        "breached": notice.kind == ClockNoticeKind.BREACH,
                    },
                    reviewers.emails_for(application),
                )
    except IntegrityError:
        logger.warning("review clock sweep: another run sent these notices; nothing sent")
        return 0
    logger.info("review clock sweep: %d notices", len(fresh))
    return len(fresh)


# --- Weekly digest ---------------------------------------------------------------------------


def reviewer_digest_context(reviewer: User) -> dict:
    """The week at a glance for one reviewer: their cases, clocks, checkpoints and signals."""
    from devices.selectors import applications_for

    today = timezone.localdate()
    soon = add_working_days(today, DUE_SOON_WORKING_DAYS)
    visible = applications_for(reviewer)
    mine = visible.filter(assignee=reviewer).exclude(state__in=FINAL_STATES)
    by_state = mine.values("state").annotate(count=Count("pk")).order_by("state")
    running = mine.exclude(clock_stage="").filter(
        clock_paused_on__isnull=True, clock_due_on__isnull=False
    )
    return {
        "reviewer": reviewer,
        "today": today,
        "cases_by_state": [
            {"state": ApplicationState(row["state"]), "count": row["count"]} for row in by_state
        ],
        "clocks_breached": list(
            running.filter(clock_due_on__lt=today).select_related("device").order_by("clock_due_on")
        ),
        "clocks_due_soon": list(
            running.filter(clock_due_on__gte=today, clock_due_on__lte=soon)
            .select_related("device")
            .order_by("clock_due_on")
        ),
        "checkpoints_overdue": list(
            Checkpoint.objects.filter(
                application__in=mine, status=CheckpointStatus.OVERDUE
            ).select_related("application")
        ),
        "open_signals": list(
            SafetySignal.objects.filter(application__in=visible, status=SignalStatus.OPEN)
            .select_related("application")
            .order_by("-raised_at")[:20]
        ),
        "incoming_alerts": list(
            IncomingAlert.objects.filter(received_at__gte=timezone.now() - timedelta(days=7))
            .select_related("partner")
            .order_by("-received_at")
        ),
        "unassigned": visible.filter(
            assignee__isnull=True,
            state__in=[ApplicationState.SUBMITTED, ApplicationState.SCREENING],
        ).count(),
    }


def reviewer_digest_send() -> int:
    """Send each active reviewer this week's digest, once per week (DigestReceipt)."""
    today = timezone.localdate()
    week_starting = today - timedelta(days=today.weekday())
    reviewers = (
        User.objects.filter(
            is_active=True,
            groups__name__in=[Role.REVIEWER.label, Role.LEAD_REVIEWER.label],
        )
        .exclude(digest_receipts__week_starting=week_starting)
        .distinct()
    )
    sent = 0
    for reviewer in reviewers:
        with transaction.atomic():
            _, created = DigestReceipt.objects.get_or_create(
                recipient=reviewer, week_starting=week_starting
            )
            if created:
                sent += send_templated(
                    "reviewer_digest",
                    {**reviewer_digest_context(reviewer), "week_starting": week_starting},
                    [reviewer.email],
                )
    return sent


# --- Reads for the monitoring pages ----------------------------------------------------------


@dataclass(frozen=True)
class MetricPoint:
    checkpoint: Checkpoint
    value: Decimal | None
    status: str  # words, never colour alone: "Met", "Breach", "Critical", "Not reported"


@dataclass(frozen=True)
class MetricSeries:
    threshold: MetricThreshold
    points: list[MetricPoint]

    @property
    def slug(self) -> str:
        return self.threshold.metric.replace("_", "-")

    def chart_data(self) -> dict:
        """What static/js/performance.js draws for this metric."""
        threshold = self.threshold
        return {
            "canvas": f"chart-{self.slug}",
            "label": threshold.get_metric_display(),
            "labels": [f"Checkpoint {p.checkpoint.sequence}" for p in self.points],
            "values": [float(p.value) if p.value is not None else None for p in self.points],
            "threshold": float(threshold.value),
            "critical": float(threshold.critical_value) if threshold.critical_value else None,
            "comparator": threshold.comparator,
        }

    @property
    def summary(self) -> str:
        """The chart in one sentence, for screen readers (the table has every figure)."""
        reported = [p for p in self.points if p.value is not None]
        rule = f"{self.threshold.get_comparator_display()} {self.threshold.value.normalize()}"
        if not reported:
            return f"{self.threshold.get_metric_display()}: no figures reported yet ({rule})."
        misses = sum(1 for p in reported if p.status != "Met")
        return (
            f"{self.threshold.get_metric_display()} across {len(reported)} reported "
            f"checkpoints against the requirement {rule}; latest {reported[-1].value}; "
            f"{misses} below requirement."
        )


def _point_status(threshold: MetricThreshold, value: Decimal | None) -> str:
    if value is None:
        return "Not reported"
    critical = threshold.critical_value
    if critical is not None and breaches(threshold.comparator, critical, value):
        return "Critical"
    if breaches(threshold.comparator, threshold.value, value):
        return "Breach"
    return "Met"


def performance_series(application: Application) -> list[MetricSeries]:
    """Each metric of the plan across the case's checkpoints, in two queries."""
    thresholds = list(MetricThreshold.objects.filter(plan__application=application))
    checkpoints = list(
        Checkpoint.objects.filter(application=application)
        .select_related("report")
        .order_by("sequence")
    )
    series = []
    for threshold in thresholds:
        points = []
        for checkpoint in checkpoints:
            report = getattr(checkpoint, "report", None)
            raw = report.metrics.get(threshold.metric) if report else None
            value = Decimal(str(raw)) if raw is not None else None
            points.append(MetricPoint(checkpoint, value, _point_status(threshold, value)))
        series.append(MetricSeries(threshold, points))
    return series


def signals_for(user: User) -> QuerySet[SafetySignal]:
    from devices.selectors import applications_for

    return SafetySignal.objects.filter(application__in=applications_for(user)).select_related(
        "application__device", "raised_by"
    )


DASHBOARD_LIST_LIMIT = 20


def programme_dashboard(user: User) -> dict:
    """The programme at a glance: cases per state, breached clocks, overdue checkpoints, open
    signals. A fixed number of queries whatever the size of the programme."""
    from devices.selectors import applications_for

    today = timezone.localdate()
    # Drafts are still the manufacturer's own: the regulator's side does not count them.
    visible = applications_for(user).exclude(state=ApplicationState.DRAFT)
    counts = dict(visible.order_by().values_list("state").annotate(n=Count("pk")))
    breached = (
        visible.exclude(clock_stage="")
        .exclude(state__in=FINAL_STATES)
        .filter(clock_paused_on__isnull=True, clock_due_on__lt=today)
    )
    overdue = Checkpoint.objects.filter(application__in=visible, status=CheckpointStatus.OVERDUE)
    open_signals = SafetySignal.objects.filter(
        application__in=visible, status__in=[SignalStatus.OPEN, SignalStatus.INVESTIGATING]
    )
    return {
        "state_counts": [
            (state, counts.get(state, 0))
            for state in ApplicationState
            if state != ApplicationState.DRAFT
        ],
        "total": sum(counts.values()),
        "breached_count": breached.count(),
        "breached": list(
            breached.select_related("device", "assignee").order_by("clock_due_on", "pk")[
                :DASHBOARD_LIST_LIMIT
            ]
        ),
        "overdue_count": overdue.count(),
        "overdue": list(
            overdue.select_related("application__device", "application__assignee").order_by(
                "due_on", "pk"
            )[:DASHBOARD_LIST_LIMIT]
        ),
        "open_signal_count": open_signals.count(),
        "critical_signal_count": open_signals.filter(severity=SignalSeverity.CRITICAL).count(),
        "incoming_week_count": IncomingAlert.objects.filter(
            received_at__gte=timezone.now() - timedelta(days=7)
        ).count(),
    }
