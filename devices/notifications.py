"""Who hears about a state change, and the outbox sweep that makes sure they do."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from airlock.emails import send_templated
from airlock.models import User
from devices.models import ApplicationEvent

# Give the on-commit task time to run before the sweep treats an event as missed.
SWEEP_GRACE = timedelta(minutes=2)


def event_recipients(event: ApplicationEvent) -> list[str]:
    """The manufacturer's team always hears about their case; so does the assigned reviewer.
    Never the person who acted: they know."""
    application = event.application
    team = User.objects.filter(
        membership__organisation_id=application.organisation_id, is_active=True
    ).values_list("email", flat=True)
    recipients = set(team)
    if application.assignee_id and application.assignee.is_active:
        recipients.add(application.assignee.email)
    if event.actor_id:
        recipients.discard(event.actor.email)
    return sorted(recipients)


def event_notify(*, event_id: int) -> int:
    """Email everyone concerned about one transition, once.

    The event row is locked while sending, so two deliveries of the same task cannot both
    send; a stamped row is skipped.
    """
    with transaction.atomic():
        event = (
            ApplicationEvent.objects.select_for_update(of=("self",))
            .select_related("application__device", "application__assignee", "actor")
            .get(pk=event_id)
        )
        if event.notified_at is not None:
            return 0
        sent = send_templated(
            "transition",
            {"event": event, "application": event.application},
            event_recipients(event),
        )
        event.notified_at = timezone.now()
        event.save(update_fields=["notified_at"])
    return sent


def pending_events_notify() -> int:
    cutoff = timezone.now() - SWEEP_GRACE
    pending = ApplicationEvent.objects.filter(
        notified_at__isnull=True, created_at__lt=cutoff
    ).values_list("pk", flat=True)
    return sum(event_notify(event_id=pk) for pk in pending[:500])
