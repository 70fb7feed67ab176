"""The weekly reviewer digest."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from airlock.emails import send_templated
from airlock.models import User
from airlock.roles import Role
from devices.clocks import add_working_days
from devices.models import (
    DUE_SOON_WORKING_DAYS,
    FINAL_STATES,
    ApplicationState,
)
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    DigestReceipt,
    IncomingAlert,
    SafetySignal,
    SignalStatus,
)
from reviews.network import receipts


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
        "unacknowledged": receipts.unacknowledged(
            SafetySignal.objects.filter(application__in=visible)
        )[1],
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
