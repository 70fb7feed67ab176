"""Telling people about an event on a case: one row per person, and its email.

Services call `notify` inside their own transaction, so the rows exist exactly when the change
they report does (and never when it rolled back). The email goes after commit, by a task named
after the event; the sweep sends whatever a lost message or a dead broker held back.
"""

from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from airlock.emails import send_templated
from airlock.models import User
from airlock.queue import enqueue_on_commit
from devices.models import Application
from notifications.models import Notification
from notifications.recipients import Recipient

# Give the on-commit task time to run before the sweep treats a row as missed.
SWEEP_GRACE = timedelta(minutes=2)
# How many missed emails one sweep sends; the next run sends the rest.
SWEEP_BATCH = 500


def notify(
    recipients: Iterable[Recipient],
    *,
    application: Application | None,
    kind: str,
    key: str,
    title: str,
    url: str,
    body: str = "",
    exclude: User | None = None,
) -> list[Recipient]:
    """Tell each recipient about one event, once; return who was told.

    Steps: leave out the person who acted (they know) and anyone listed twice; insert one row
    each in one statement (a row for the same person and event already there is skipped, so a
    rerun tells no one twice); queue the email for after commit.
    """
    told: list[Recipient] = []
    seen: set = set()
    for recipient in recipients:
        identity = recipient.user_id or recipient.email
        if identity in seen or (exclude is not None and recipient.user_id == exclude.pk):
            continue
        seen.add(identity)
        told.append(recipient)
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=recipient.user_id,
                email_to=recipient.email,
                application=application,
                kind=kind,
                key=key,
                title=title[:200],
                body=body,
                url=url,
                created_at=now,
            )
            for recipient in told
        ],
        ignore_conflicts=True,
    )
    if any(recipient.email for recipient in told):
        enqueue_on_commit("notifications.tasks.send_notification_emails", key)
    return told


def _unsent():
    return Notification.objects.filter(emailed_at__isnull=True).exclude(email_to="")


def notification_email_send(*, notification_id: int) -> int:
    """Email one notification, once.

    The row is locked while sending and must still be unsent once the lock is ours, so two
    deliveries of the same task cannot both send: the second waits, then finds it stamped.
    """
    with transaction.atomic():
        notification = _unsent().select_for_update().filter(pk=notification_id).first()
        if notification is None:
            return 0
        sent = send_templated(
            "notification", {"notification": notification}, [notification.email_to]
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return sent


def notification_emails_send(*, key: str) -> int:
    """Email everyone told about one event whose email has not gone yet."""
    pending = list(_unsent().filter(key=key).order_by("pk").values_list("pk", flat=True))
    return sum(notification_email_send(notification_id=pk) for pk in pending)


def pending_emails_send() -> int:
    """Sweep: send the emails whose on-commit task never ran."""
    cutoff = timezone.now() - SWEEP_GRACE
    pending = list(
        _unsent()
        .filter(created_at__lt=cutoff)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return sum(notification_email_send(notification_id=pk) for pk in pending)


def notifications_mark_read(*, actor: User, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's own notifications read (all of them, or those named); return how many.
    Someone else's are never touched, whatever ids are sent."""
    unread = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
