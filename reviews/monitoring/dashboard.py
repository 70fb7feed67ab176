"""Reads for the programme dashboard and the signal lists."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from airlock.models import User
from devices.models import (
    FINAL_STATES,
    ApplicationState,
)
from postclearance.selectors import under_monitoring
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    IncomingAlert,
    SafetySignal,
    SignalSeverity,
    SignalStatus,
)
from reviews.network import receipts


def signals_for(user: User) -> QuerySet[SafetySignal]:
    from devices.selectors import applications_for

    return SafetySignal.objects.filter(application__in=applications_for(user)).select_related(
        "application__device", "raised_by"
    )


DASHBOARD_LIST_LIMIT = 20


def programme_dashboard(user: User) -> dict:
    """The programme at a glance: cases per state, breached clocks, overdue checkpoints, open
    signals. A fixed number of queries whatever the size of the programme, all of them on the
    reporting database (a replica when DATABASE_REPLICA_URL is set)."""
    from devices.selectors import applications_for

    today = timezone.localdate()
    db = settings.REPORTING_DATABASE
    # Drafts are still the manufacturer's own: the regulator's side does not count them.
    visible = applications_for(user).using(db).exclude(state=ApplicationState.DRAFT)
    counts = dict(visible.order_by().values_list("state").annotate(n=Count("pk")))
    breached = (
        visible.exclude(clock_stage="")
        .exclude(state__in=FINAL_STATES)
        .filter(clock_paused_on__isnull=True, clock_due_on__lt=today)
    )
    overdue = Checkpoint.objects.using(db).filter(
        application__in=visible, status=CheckpointStatus.OVERDUE
    )
    open_signals = SafetySignal.objects.using(db).filter(
        application__in=visible, status__in=[SignalStatus.OPEN, SignalStatus.INVESTIGATING]
    )
    # A stage of work of its own: cleared devices still reporting, under a running plan.
    monitored = under_monitoring(visible).using(db)
    unacknowledged_count, unacknowledged = receipts.unacknowledged(
        SafetySignal.objects.using(db).filter(application__in=visible), using=db
    )
    return {
        "unacknowledged_count": unacknowledged_count,
        "unacknowledged": unacknowledged,
        "ack_hours": settings.PARTNER_ACK_HOURS,
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
        "monitored_count": monitored.count(),
        "monitored": list(
            monitored.select_related("application__device", "application__assignee").order_by(
                "ends_on", "pk"
            )[:DASHBOARD_LIST_LIMIT]
        ),
        "open_signal_count": open_signals.count(),
        "critical_signal_count": open_signals.filter(severity=SignalSeverity.CRITICAL).count(),
        "incoming_week_count": IncomingAlert.objects.using(db)
        .filter(received_at__gte=timezone.now() - timedelta(days=7))
        .count(),
    }
