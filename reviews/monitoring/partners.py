"""The partner network: outbound alert deliveries, the feed payload and alerts pushed
through the older intake endpoint (the network's own inbox is reviews/network/inbox.py)."""

import hashlib
import logging
from collections.abc import Mapping
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from airlock.queue import enqueue
from reviews.models import (
    AlertDelivery,
    DeliveryStatus,
    IncomingAlert,
    PartnerRegulator,
    SafetySignal,
)
from reviews.monitoring import SWEEP_BATCH, SWEEP_GRACE
from reviews.network import alerts, delivery

logger = logging.getLogger(__name__)

# Kept here for the tasks that import them; the values live with the network's delivery.
MAX_DELIVERY_ATTEMPTS = delivery.MAX_DELIVERY_ATTEMPTS
DELIVERY_TIMEOUT_SECONDS = delivery.DELIVERY_TIMEOUT_SECONDS
retry_delay = delivery.retry_delay


def alert_payload(signal: SafetySignal) -> dict:
    """What partners receive, by webhook (as a message's `data`) and in the feed. `id` is
    stable across versions: deduplicate on it, keep the highest `version`."""
    return alerts.alert_document(signal)


def alert_deliver(*, delivery_id: int) -> AlertDelivery:
    """Make one signed delivery attempt of one version of an alert and log it on the row.

    The result is DELIVERED on a 2xx answer, FAILED once MAX_DELIVERY_ATTEMPTS attempts have
    failed, otherwise still PENDING (the task retries after `retry_delay`), or SUPERSEDED when
    the signal has a newer version than this row (that version's own row is sent instead).
    No transaction is held over the HTTP call; every attempt carries the same webhook-id.
    """
    row = AlertDelivery.objects.select_related(
        "partner",
        "signal__application__device",
        "signal__application__organisation",
        "signal__checkpoint_report",
    ).get(pk=delivery_id)
    if row.status != DeliveryStatus.PENDING:
        return row
    if row.version < row.signal.alert_version:
        AlertDelivery.objects.filter(pk=row.pk, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SUPERSEDED
        )
        row.refresh_from_db()
        return row
    status_code, error = delivery.post_message(
        partner=row.partner,
        message_id=f"airlock-alert-delivery-{row.pk}",
        message=alerts.alert_message(row.signal),
    )
    delivery.record_attempt(AlertDelivery, row.pk, row.attempts, status_code, error)
    row.refresh_from_db()
    return row


def pending_deliveries_retry() -> int:
    """Sweep: queue deliveries that were never attempted (broker down when shared) or whose
    retry message was lost (no attempt for an hour)."""
    now = timezone.now()
    stalled = AlertDelivery.objects.filter(status=DeliveryStatus.PENDING).filter(
        Q(attempts=0, signal__shared_at__lt=now - SWEEP_GRACE)
        | Q(last_attempt_at__lt=now - timedelta(hours=1))
    )

    return sum(
        enqueue("reviews.tasks.deliver_alert", pk)
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
