"""The review-clock sweep: warnings before a review clock runs out, and breaches."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from airlock.emails import send_templated
from devices.clocks import add_working_days
from devices.models import (
    DUE_SOON_WORKING_DAYS,
    FINAL_STATES,
    Application,
)
from notifications.recipients import ReviewerDirectory
from reviews.models import (
    ClockNotice,
    ClockNoticeKind,
)

logger = logging.getLogger(__name__)


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
            reviewers = ReviewerDirectory(app.assignee_id for app in applications.values())
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
