"""The partner network: the signed outbound webhook, the feed payload and inbound alerts."""

import hashlib
import hmac
import http.client
import json
import logging
import time
from collections.abc import Mapping
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone

from airlock import outbound
from airlock.queue import enqueue
from reviews.models import (
    AlertDelivery,
    DeliveryStatus,
    IncomingAlert,
    PartnerRegulator,
    SafetySignal,
)
from reviews.monitoring import SWEEP_BATCH, SWEEP_GRACE

logger = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 8
DELIVERY_BASE_DELAY_SECONDS = 30
DELIVERY_TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Airlock-Signature"
TIMESTAMP_HEADER = "X-Airlock-Timestamp"


def alert_payload(signal: SafetySignal) -> dict:
    """What partners receive, by webhook and in the feed. `id` is stable: deduplicate on it."""
    application = signal.application
    device = application.device
    return {
        "id": f"airlock-signal-{signal.pk}",
        "issuer": "Airlock",
        "title": signal.title,
        "severity": signal.severity,
        "source": signal.source,
        "status": signal.status,
        "metric": signal.metric or None,
        "observed_value": str(signal.observed_value) if signal.observed_value is not None else None,
        "description": signal.description,
        "raised_at": signal.raised_at.isoformat(),
        "shared_at": signal.shared_at.isoformat() if signal.shared_at else None,
        "device": {
            "name": device.name if device else "",
            "version": device.version if device else "",
            "manufacturer": application.organisation.name,
            "uk_mdr_class": device.mdr_class if device else "",
            "imdrf_category": device.imdrf_category if device else "",
            "clinical_area": device.clinical_area if device else "",
        },
    }


def alert_body(signal: SafetySignal) -> bytes:
    return json.dumps(alert_payload(signal), sort_keys=True, separators=(",", ":")).encode()


def alert_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<raw body>": the timestamp is signed so a captured request
    cannot be replayed later with a fresh timestamp."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def retry_delay(attempts: int) -> int:
    """Seconds before the next delivery attempt: 30 s, 1 min, 2 min, 4 min ... doubling."""
    return DELIVERY_BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """One delivery attempt: the partner's status code (None if it was not reached) and,
    when it failed, why, for administrators (reviewers see AlertDelivery.outcome). The
    destination is checked again here, not only when the URL was saved: DNS can change."""
    try:
        status = outbound.post(url, body, headers, timeout=DELIVERY_TIMEOUT_SECONDS)
    except outbound.UnsafeDestination as exc:
        logger.warning("alert delivery to %s refused: %s", url, exc)
        return None, f"Refused before sending: {exc}"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if 200 <= status < 300:
        return status, ""
    return status, f"HTTP {status}"


def alert_deliver(*, delivery_id: int) -> AlertDelivery:
    """Make one signed delivery attempt and log it on the delivery row.

    The result is DELIVERED on a 2xx answer, FAILED once MAX_DELIVERY_ATTEMPTS attempts have
    failed, otherwise still PENDING (the task retries after `retry_delay`). No transaction is
    held over the HTTP call; a delivery sent twice carries the same `id` for the partner to
    deduplicate.
    """
    delivery = AlertDelivery.objects.select_related(
        "partner", "signal__application__device", "signal__application__organisation"
    ).get(pk=delivery_id)
    if delivery.status != DeliveryStatus.PENDING:
        return delivery
    partner = delivery.partner
    body = alert_body(delivery.signal)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Airlock-Alerts/1.0",
        "X-Airlock-Delivery": str(delivery.pk),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: alert_signature(
            secret=partner.signing_secret, timestamp=timestamp, body=body
        ),
    }
    status_code, error = _post(partner.webhook_url, body, headers)
    delivered = status_code is not None and 200 <= status_code < 300
    attempts = delivery.attempts + 1
    if delivered:
        status = DeliveryStatus.DELIVERED
    elif attempts >= MAX_DELIVERY_ATTEMPTS:
        status = DeliveryStatus.FAILED
    else:
        status = DeliveryStatus.PENDING
    now = timezone.now()
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        last_status_code=status_code,
        last_error="" if delivered else error[:2000],
        status=status,
        delivered_at=now if delivered else None,
    )
    if status == DeliveryStatus.FAILED:
        logger.error("alert delivery %s to %s failed: gave up", delivery.pk, partner)
    delivery.refresh_from_db()
    return delivery


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
