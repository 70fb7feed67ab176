"""Thin Celery tasks: take ids, call a service, safe to run twice."""

from celery import shared_task

from devices import notifications


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_event_notifications(event_id: int) -> int:
    return notifications.event_notify(event_id=event_id)


# Run by beat every 5 minutes (airlock/celery.py).
@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def notify_pending_events() -> int:
    """Sweep: send what a lost message or a dead broker left unsent."""
    return notifications.pending_events_notify()
