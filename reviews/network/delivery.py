"""One signed POST of a network message to a partner's inbox, and the retry bookkeeping the
alert and receipt delivery logs share."""

import http.client
import json
import logging

from django.db.models import F
from django.utils import timezone

from airlock import outbound
from reviews.models import PartnerRegulator
from reviews.network import signing
from reviews.network.models import DeliveryStatus, active_secrets

logger = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 8
DELIVERY_BASE_DELAY_SECONDS = 30
DELIVERY_TIMEOUT_SECONDS = 10


def retry_delay(attempts: int) -> int:
    """Seconds before the next delivery attempt: 30 s, 1 min, 2 min, 4 min ... doubling."""
    return DELIVERY_BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0)


def message_body(message: dict) -> bytes:
    return json.dumps(message, sort_keys=True, separators=(",", ":")).encode()


def post_message(
    *, partner: PartnerRegulator, message_id: str, message: dict
) -> tuple[int | None, str]:
    """One delivery attempt: the partner's status code (None if it was not reached) and,
    when it failed, why, for administrators. The destination is checked again here, not
    only when the URL was saved: DNS can change. The message id is the same on every
    retry, so the partner de-duplicates."""
    body = message_body(message)
    try:
        headers = signing.signed_headers(
            secret_values=active_secrets(partner), message_id=message_id, body=body
        )
    except signing.SignatureRefused as exc:
        return None, str(exc)
    headers |= {"Content-Type": "application/json", "User-Agent": "Airlock-Network/1.0"}
    if partner.outbound_token:
        headers["Authorization"] = f"Bearer {partner.outbound_token}"
    try:
        status = outbound.post(partner.webhook_url, body, headers, timeout=DELIVERY_TIMEOUT_SECONDS)
    except outbound.UnsafeDestination as exc:
        logger.warning("network message to %s refused: %s", partner.webhook_url, exc)
        return None, f"Refused before sending: {exc}"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if 200 <= status < 300:
        return status, ""
    return status, f"HTTP {status}"


def record_attempt(model, pk: int, attempts_before: int, status_code: int | None, error: str):
    """Log one attempt on a delivery row (AlertDelivery or ReceiptDelivery): DELIVERED on a
    2xx answer, FAILED after MAX_DELIVERY_ATTEMPTS, otherwise still PENDING."""
    delivered = status_code is not None and 200 <= status_code < 300
    attempts = attempts_before + 1
    if delivered:
        status = DeliveryStatus.DELIVERED
    elif attempts >= MAX_DELIVERY_ATTEMPTS:
        status = DeliveryStatus.FAILED
    else:
        status = DeliveryStatus.PENDING
    now = timezone.now()
    model.objects.filter(pk=pk).update(
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        last_status_code=status_code,
        last_error="" if delivered else error[:2000],
        status=status,
        delivered_at=now if delivered else None,
    )
    if status == DeliveryStatus.FAILED:
        logger.error("%s %s: gave up after %s attempts", model.__name__, pk, attempts)
