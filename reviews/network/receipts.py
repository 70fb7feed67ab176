"""Receipts: a partner tells us how it is working one of our alerts (received, triaged with
its assessment, action taken), and we tell partners the same about theirs."""

from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from airlock.models import User
from airlock.queue import enqueue, enqueue_on_commit
from reviews.models import (
    AlertDelivery,
    IncomingAlert,
    PartnerRegulator,
    SafetySignal,
    SignalSeverity,
)
from reviews.monitoring import SWEEP_BATCH, SWEEP_GRACE
from reviews.network import alerts, delivery
from reviews.network.models import (
    AlertReceipt,
    DeliveryStatus,
    ReceiptDelivery,
    ReceiptKind,
)

ACK_LIST_LIMIT = 20


class UnknownAlert(Exception):
    """The receipt names an alert we never sent this partner."""


def receipt_receive(
    *, partner: PartnerRegulator, webhook_id: str, message: Mapping
) -> AlertReceipt:
    """Store a partner's receipt for one of our alerts (a valid message)."""
    data = message["data"]
    signal_id = alerts.signal_for_alert_id(data["alert_id"])
    with transaction.atomic():
        alerts.message_seen(partner=partner, webhook_id=webhook_id, kind=message["type"])
        signal = SafetySignal.objects.filter(
            pk=signal_id, deliveries__partner=partner, shared_at__isnull=False
        ).first()
        if signal is None:
            raise UnknownAlert(data["alert_id"])
        return AlertReceipt.objects.create(
            signal=signal,
            partner=partner,
            kind=data["kind"],
            alert_version=data["alert_version"],
            assessment=data.get("assessment") or "",
            action_category=data.get("action_category") or "",
            note=data.get("note") or "",
            issued_at=parse_datetime(data["issued_at"]),
        )


def receipt_send(
    *,
    actor: User,
    alert_id: int,
    kind: str,
    assessment: str = "",
    action_category: str = "",
    note: str = "",
) -> ReceiptDelivery:
    """Record our triage of, or action on, a partner's alert and send it to them signed."""
    if not actor.is_reviewer:
        raise PermissionError("Only reviewers answer partners' alerts.")
    if kind == ReceiptKind.TRIAGED and not assessment:
        raise ValidationError({"assessment": "Say whether it is relevant to our market."})
    if kind == ReceiptKind.ACTION_TAKEN and not (action_category and note.strip()):
        raise ValidationError({"note": "Say what was done, and choose its category."})
    if kind not in {ReceiptKind.TRIAGED, ReceiptKind.ACTION_TAKEN}:
        raise ValidationError({"kind": "Receipts sent by hand are a triage or an action."})
    with transaction.atomic():
        alert = IncomingAlert.objects.select_for_update().get(pk=alert_id)
        receipt = ReceiptDelivery.objects.create(
            alert=alert,
            kind=kind,
            alert_version=alert.version,
            assessment=assessment if kind == ReceiptKind.TRIAGED else "",
            action_category=action_category if kind == ReceiptKind.ACTION_TAKEN else "",
            note=note.strip(),
            created_by=actor,
        )
        enqueue_on_commit("reviews.tasks.deliver_receipt", receipt.pk)
    return receipt


def receipt_message(receipt: ReceiptDelivery) -> dict:
    return alerts.envelope(
        "receipt.created",
        {
            "alert_id": receipt.alert.external_id,
            "alert_version": receipt.alert_version,
            "kind": receipt.kind,
            "assessment": receipt.assessment or None,
            "action_category": receipt.action_category or None,
            "note": receipt.note or None,
            "issued_at": receipt.created_at.isoformat(),
        },
    )


def receipt_deliver(*, receipt_id: int) -> ReceiptDelivery:
    """One signed attempt to send a receipt to the partner whose alert it answers."""
    receipt = ReceiptDelivery.objects.select_related("alert__partner").get(pk=receipt_id)
    if receipt.status != DeliveryStatus.PENDING:
        return receipt
    partner = receipt.alert.partner
    if not partner.webhook_url:
        status_code, error = None, "The partner has no inbox URL."
    else:
        status_code, error = delivery.post_message(
            partner=partner,
            message_id=f"airlock-receipt-{receipt.pk}",
            message=receipt_message(receipt),
        )
    delivery.record_attempt(ReceiptDelivery, receipt.pk, receipt.attempts, status_code, error)
    receipt.refresh_from_db()
    return receipt


def partner_receipts(signal: SafetySignal) -> list[dict]:
    """For the signal page: each partner it went to, their latest receipt and the history."""
    receipts = list(signal.receipts.select_related("partner").order_by("-issued_at", "-pk"))
    partners = {d.partner for d in signal.deliveries.select_related("partner")}
    rows = []
    for partner in sorted(partners, key=lambda p: p.name):
        history = [r for r in receipts if r.partner_id == partner.pk]
        rows.append(
            {"partner": partner, "latest": history[0] if history else None, "history": history}
        )
    return rows


def unacknowledged(signals=None, *, using: str = "default") -> tuple[int, list[dict]]:
    """High and critical alerts a partner has had for longer than PARTNER_ACK_HOURS without
    sending any receipt: how many (signal, partner) pairs, and the oldest few. At most four
    queries whatever the number of alerts."""
    cutoff = timezone.now() - timedelta(hours=settings.PARTNER_ACK_HOURS)
    receipts = AlertReceipt.objects.using(using).filter(
        signal=OuterRef("signal"), partner=OuterRef("partner")
    )
    pairs = (
        AlertDelivery.objects.using(using)
        .filter(
            status=DeliveryStatus.DELIVERED,
            signal__severity__in=[SignalSeverity.HIGH, SignalSeverity.CRITICAL],
            signal__retracted_at__isnull=True,
        )
        .filter(**({"signal__in": signals} if signals is not None else {}))
        .exclude(Exists(receipts))
        .values("signal", "partner")
        .annotate(first_delivered=Min("delivered_at"))
        .filter(first_delivered__lt=cutoff)
        .order_by("first_delivered", "signal", "partner")
    )
    oldest = list(pairs[:ACK_LIST_LIMIT])
    count = len(oldest) if len(oldest) < ACK_LIST_LIMIT else pairs.count()
    signals_by_pk = SafetySignal.objects.using(using).in_bulk([p["signal"] for p in oldest])
    partners_by_pk = PartnerRegulator.objects.using(using).in_bulk([p["partner"] for p in oldest])
    return count, [
        {
            "signal": signals_by_pk[p["signal"]],
            "partner": partners_by_pk[p["partner"]],
            "delivered_at": p["first_delivered"],
        }
        for p in oldest
    ]


def pending_receipts_retry() -> int:
    """Sweep: receipts never attempted (broker down) or whose retry was lost (an hour)."""
    now = timezone.now()
    stalled = ReceiptDelivery.objects.filter(status=DeliveryStatus.PENDING).filter(
        Q(attempts=0, created_at__lt=now - SWEEP_GRACE)
        | Q(last_attempt_at__lt=now - timedelta(hours=1))
    )
    return sum(
        enqueue("reviews.tasks.deliver_receipt", pk)
        for pk in list(stalled.values_list("pk", flat=True)[:SWEEP_BATCH])
    )
