"""Setting up and ending a post-clearance monitoring plan (lead reviewers only).

Each follows the house shape: lock the case, check who is acting and what the case allows,
write, audit (AuditEntry, on the case timeline) and tell both sides, in one transaction. The
plan's checkpoints are then created by the daily checkpoint sweep, like a testing plan's.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from airlock.models import User
from devices.models import Application, ApplicationState
from devices.services import TransitionRefused, lock_application
from notifications import recipients
from notifications.models import NotificationKind
from notifications.services import notify
from postclearance.models import MonitoringPlan, MonitoringStatus, MonitoringThreshold
from reviews.models import AuditAction, AuditEntry, Checkpoint, CheckpointStatus, ConflictOfInterest
from reviews.plan_terms import ThresholdSpec, thresholds_problem

# A start further than this from today is a typing mistake (a wrong year), not a plan.
START_WINDOW = timedelta(days=365)
# Real-world monitoring runs for years, not for ever: past three, set up a new plan with
# terms brought up to date.
MAX_MONITORING_DAYS = 3 * 365


@dataclass(frozen=True)
class MonitoringTerms:
    starts_on: date
    ends_on: date
    cadence_days: int
    thresholds: Sequence[ThresholdSpec]
    min_sample: int = 0
    required_subgroups: str = ""
    equity_gap_limit: Decimal | None = None
    drift_slack: Decimal = Decimal("0.01")
    drift_limit: Decimal = Decimal("0.03")
    notes: str = field(default="")


def _day(value: date) -> str:
    return f"{value:%-d %B %Y}"


def monitoring_dates_problems(*, starts_on: date, ends_on: date) -> dict[str, str]:
    """What is wrong with a monitoring plan's dates, by field; empty if nothing. Monitoring
    starts today or within a year (never in the past: checkpoints would be born overdue),
    and ends after it starts, at most MAX_MONITORING_DAYS later."""
    today = timezone.localdate()
    problems = {}
    if starts_on < today:
        problems["starts_on"] = "Monitoring cannot start in the past: choose today or later."
    elif starts_on > today + START_WINDOW:
        problems["starts_on"] = (
            f"Monitoring must start within a year, by {_day(today + START_WINDOW)}. Check the year."
        )
    if ends_on <= starts_on:
        problems["ends_on"] = "Monitoring must end after it starts."
    elif (ends_on - starts_on).days > MAX_MONITORING_DAYS:
        problems["ends_on"] = (
            f"A monitoring plan runs for at most {MAX_MONITORING_DAYS} days; this one runs for "
            f"{(ends_on - starts_on).days}. End it by "
            f"{_day(starts_on + timedelta(days=MAX_MONITORING_DAYS))}, and set up another then."
        )
    return problems


def terms_problems(terms: MonitoringTerms) -> dict[str, str]:
    problems = monitoring_dates_problems(starts_on=terms.starts_on, ends_on=terms.ends_on)
    if not 1 <= terms.cadence_days <= 365:
        problems["cadence_days"] = "Checkpoints must be between 1 and 365 days apart."
    if terms.min_sample < 0:
        problems["min_sample"] = "The minimum sample cannot be negative."
    if terms.drift_limit <= 0:
        problems["drift_limit"] = "The drift warning limit must be above 0."
    problem = thresholds_problem(terms.thresholds)
    if problem:
        problems["thresholds"] = problem
    return problems


def lead_refusal(application: Application, actor: User) -> str | None:
    """Why `actor` may not set up or end this case's monitoring, in words; None if they may."""
    if actor.is_superuser:
        return None
    if not actor.has_perm("airlock.lead_review"):
        return "Only a lead reviewer can set up or end a post-clearance monitoring plan."
    if ConflictOfInterest.objects.filter(
        reviewer=actor, organisation_id=application.organisation_id
    ).exists():
        return f"You have declared a conflict of interest with {application.organisation}."
    return None


def _require_lead(application: Application, actor: User) -> None:
    refusal = lead_refusal(application, actor)
    if refusal:
        raise PermissionError(refusal)


def _tell_everyone(application: Application, actor: User, plan: MonitoringPlan, title, body):
    notify(
        recipients.team(application.organisation_id),
        application=application,
        kind=NotificationKind.MONITORING_PLAN,
        key=f"monitoring-plan:{plan.pk}:{plan.status}",
        title=title,
        body=body,
        url=reverse("devices:testing", args=[application.pk]),
    )
    notify(
        recipients.reviewers(application),
        application=application,
        kind=NotificationKind.MONITORING_PLAN,
        key=f"monitoring-plan:{plan.pk}:{plan.status}",
        title=title,
        body=body,
        url=reverse("reviews:monitoring-plan", args=[application.pk]),
        exclude=actor,
    )


def _stamp(application: Application) -> None:
    """The review queue shows which cases are monitored, and keeps a drawn page until some
    case's updated_at moves (reviews.selectors.queue_version): a plan starting or ending
    early is a change to the case it must see. (A plan running out on its end date needs no
    stamp: the queue's version moves with the day.)"""
    application.save(update_fields=["updated_at"])


def monitoring_plan_set_up(
    *, actor: User, application_id: int, terms: MonitoringTerms
) -> MonitoringPlan:
    """Put a cleared device under a post-clearance monitoring plan.

    Steps: lock the case; check the actor is a lead reviewer free of a conflict, the case is
    cleared and has no plan running (one that ran to its end is recorded as finished); check
    the terms (ValidationError by field); create the plan and its thresholds; audit; tell the
    manufacturer's team and the case's reviewers.
    """
    with transaction.atomic():
        application = lock_application(application_id)
        _require_lead(application, actor)
        if application.state != ApplicationState.CLEARED:
            raise TransitionRefused(
                "Only a cleared device is monitored after clearance; this application is "
                f"{application.state_enum.in_words}."
            )
        today = timezone.localdate()
        current = MonitoringPlan.objects.filter(
            application=application, status=MonitoringStatus.ACTIVE
        ).first()
        if current is not None and current.ends_on >= today:
            raise TransitionRefused(
                f"A monitoring plan is already running until {_day(current.ends_on)}. End it "
                "first (with a reason) to set up a new one."
            )
        problems = terms_problems(terms)
        if problems:
            raise ValidationError(problems)
        if current is not None:
            current.status = MonitoringStatus.FINISHED
            current.save(update_fields=["status"])
        plan = MonitoringPlan.objects.create(
            application=application,
            starts_on=terms.starts_on,
            ends_on=terms.ends_on,
            cadence_days=terms.cadence_days,
            min_sample=terms.min_sample,
            required_subgroups=terms.required_subgroups.strip(),
            equity_gap_limit=terms.equity_gap_limit,
            drift_slack=terms.drift_slack,
            drift_limit=terms.drift_limit,
            notes=terms.notes.strip(),
            set_up_by=actor,
        )
        _stamp(application)
        MonitoringThreshold.objects.bulk_create(
            MonitoringThreshold(
                plan=plan,
                metric=spec.metric,
                comparator=spec.comparator,
                value=spec.value,
                critical_value=spec.critical_value,
                judged_on=spec.judged_on,
            )
            for spec in terms.thresholds
        )
        rules = "; ".join(str(threshold) for threshold in plan.thresholds.all())
        summary = (
            f"Post-clearance monitoring from {_day(plan.starts_on)} to {_day(plan.ends_on)}, "
            f"a checkpoint every {plan.cadence_days} days."
        )
        AuditEntry.objects.create(
            application=application,
            actor=actor,
            action=AuditAction.MONITORING_SET_UP,
            summary=summary,
            detail=f"Thresholds: {rules}.",
        )
        _tell_everyone(
            application,
            actor,
            plan,
            f"{application.reference} is under post-clearance monitoring",
            f"{summary}\nReport each checkpoint as during testing, on the site or the API.",
        )
    return plan


def monitoring_plan_end(*, actor: User, plan_id: int, reason: str) -> MonitoringPlan:
    """End a running monitoring plan before its end date.

    Steps: lock the case, then the plan; check the actor is a lead reviewer free of a
    conflict, a reason is given, and the plan is still running; mark it ended early; drop its
    checkpoints not yet due (those already overdue stay on the record, and no longer chase
    anyone); audit; tell both sides.
    """
    if not reason.strip():
        raise ValidationError({"reason": "Say why monitoring ends early."})
    application_id = MonitoringPlan.objects.values_list("application_id", flat=True).get(pk=plan_id)
    with transaction.atomic():
        application = lock_application(application_id)
        plan = MonitoringPlan.objects.select_for_update().get(pk=plan_id)
        _require_lead(application, actor)
        status = plan.status_on(timezone.localdate())
        if status == MonitoringStatus.ENDED_EARLY:
            raise TransitionRefused("This monitoring plan has been ended already.")
        if status == MonitoringStatus.FINISHED:
            raise TransitionRefused(
                f"This monitoring plan ran to its end on {_day(plan.ends_on)}: there is "
                "nothing to end."
            )
        plan.status = MonitoringStatus.ENDED_EARLY
        plan.ended_by, plan.ended_at = actor, timezone.now()
        plan.end_reason = reason.strip()
        plan.save(update_fields=["status", "ended_by", "ended_at", "end_reason"])
        _stamp(application)
        dropped, _ = Checkpoint.objects.filter(
            monitoring_plan=plan, status=CheckpointStatus.SCHEDULED, report__isnull=True
        ).delete()
        summary = (
            f"Post-clearance monitoring ended early ({dropped} scheduled checkpoints dropped)."
        )
        AuditEntry.objects.create(
            application=application,
            actor=actor,
            action=AuditAction.MONITORING_ENDED,
            summary=summary,
            detail=plan.end_reason,
        )
        _tell_everyone(
            application,
            actor,
            plan,
            f"Post-clearance monitoring of {application.reference} has ended",
            f"{summary}\n\n{plan.end_reason}",
        )
    return plan
