"""Thin Celery tasks: take a key, call a service, safe to run twice."""

from celery import shared_task
from django.db import OperationalError

from notifications import services


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, OSError),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def send_notification_emails(key: str) -> int:
    return services.notification_emails_send(key=key)


# Run by beat every 5 minutes (airlock/celery.py).
@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def send_pending_notification_emails() -> int:
    """Sweep: send what a lost message or a dead broker left unsent."""
    return services.pending_emails_send()
