"""Thin Celery tasks: take ids, call a service in reviews.monitoring, safe to run twice.

Every task acknowledges late (a worker that dies mid-task leaves the message for another) and
has a time limit; each task sent on commit has a sweep in the beat schedule that repairs what a
dead broker or a lost message left undone.
"""

from dataclasses import asdict

from celery import shared_task
from django.db import OperationalError

from reviews.models import DeliveryStatus
from reviews.monitoring import checkpoint_emails, checkpoints, clocks, digest, partners, reports
from reviews.network import alerts, receipts

# Database hiccups (a locked SQLite file, a PostgreSQL failover) are worth retrying.
RETRYABLE = (OperationalError, OSError)


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def sweep_checkpoints() -> dict:
    return asdict(checkpoints.checkpoints_sweep())


@shared_task(
    acks_late=True,
    autoretry_for=RETRYABLE,
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=180,
)
def send_checkpoint_emails(email_ids: list[int]) -> int:
    """The emails a checkpoint sweep owes, a batch of outbox ids at a time (`emails` queue)."""
    return checkpoint_emails.checkpoint_emails_send(email_ids=email_ids)


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def send_pending_checkpoint_emails() -> int:
    """Sweep: the checkpoint emails whose task never ran."""
    return checkpoint_emails.pending_checkpoint_emails_send()


@shared_task(
    acks_late=True,
    autoretry_for=RETRYABLE,
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def evaluate_checkpoint_report(report_id: int) -> int:
    return len(reports.checkpoint_report_evaluate(report_id=report_id))


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def evaluate_pending_reports() -> int:
    """Sweep: reports whose evaluation never ran."""
    return reports.pending_reports_evaluate()


@shared_task(
    bind=True,
    acks_late=True,
    # The delivery row counts attempts and gives up; this is only a backstop.
    max_retries=partners.MAX_DELIVERY_ATTEMPTS,
    soft_time_limit=partners.DELIVERY_TIMEOUT_SECONDS * 3,
    time_limit=partners.DELIVERY_TIMEOUT_SECONDS * 4,
)
def deliver_alert(self, delivery_id: int) -> str:
    delivery = partners.alert_deliver(delivery_id=delivery_id)
    if delivery.status == DeliveryStatus.PENDING:
        raise self.retry(countdown=partners.retry_delay(delivery.attempts))
    return delivery.status


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=partners.MAX_DELIVERY_ATTEMPTS,
    soft_time_limit=partners.DELIVERY_TIMEOUT_SECONDS * 3,
    time_limit=partners.DELIVERY_TIMEOUT_SECONDS * 4,
)
def deliver_receipt(self, receipt_id: int) -> str:
    receipt = receipts.receipt_deliver(receipt_id=receipt_id)
    if receipt.status == DeliveryStatus.PENDING:
        raise self.retry(countdown=partners.retry_delay(receipt.attempts))
    return receipt.status


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def retry_pending_deliveries() -> int:
    """Sweep: alert and receipt deliveries never attempted or whose retry was lost; and the
    network's old message ids forgotten (bounded per run)."""
    alerts.webhook_messages_prune()
    return partners.pending_deliveries_retry() + receipts.pending_receipts_retry()


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def sweep_review_clocks() -> int:
    return clocks.review_clocks_sweep()


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def send_reviewer_digest() -> int:
    return digest.reviewer_digest_send()
