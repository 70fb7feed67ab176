"""Alerts in the network: the document we send for a shared signal (each change a new
version of the same alert), and what we do with one a partner sends."""

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from airlock.queue import enqueue_on_commit
from reviews.judging import counts_of
from reviews.models import (
    AlertStatus,
    IncomingAlert,
    MetricThreshold,
    PartnerRegulator,
    SafetySignal,
)
from reviews.network import schema
from reviews.network.models import ReceiptDelivery, ReceiptKind, WebhookMessage
from reviews.statistics import wilson_interval

ALERT_ID_PREFIX = "airlock-signal-"


def alert_id(signal: SafetySignal) -> str:
    return f"{ALERT_ID_PREFIX}{signal.pk}"


def signal_for_alert_id(value: str) -> int | None:
    number = value.removeprefix(ALERT_ID_PREFIX)
    if value.startswith(ALERT_ID_PREFIX) and number.isdigit() and len(number) < 12:
        return int(number)
    return None


def alert_status(signal: SafetySignal) -> str:
    return AlertStatus.RETRACTED if signal.retracted_at else signal.status


def _number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _finding(signal: SafetySignal) -> dict | None:
    """The metric, its value and what it was measured on: where the report gave counts for the
    metric, its denominator and 95% Wilson interval; otherwise the checkpoint's cases processed
    and no interval (null, as the schema allows)."""
    if not signal.metric:
        return None
    report = signal.checkpoint_report
    threshold = (
        MetricThreshold.objects.filter(plan__application_id=signal.application_id)
        .filter(metric=signal.metric)
        .first()
    )
    reported = report.counts if report and isinstance(report.counts, dict) else {}
    counts = counts_of(reported.get(signal.metric))
    interval = wilson_interval(*counts) if counts else None
    return {
        "metric": signal.metric,
        "observed_value": _number(signal.observed_value),
        "sample_size": counts[1] if counts else (report.cases_processed if report else None),
        "interval": (
            {"lower": round(interval.lower, 4), "upper": round(interval.upper, 4), "level": 0.95}
            if interval
            else None
        ),
        "threshold": (
            {"comparator": threshold.comparator, "value": float(threshold.value)}
            if threshold
            else None
        ),
    }


def _model_version(signal: SafetySignal) -> str | None:
    """The model version the finding is about: the reporting checkpoint's, else the latest
    version recorded for the device (read only: sharing never records a version)."""
    report = signal.checkpoint_report
    if report and report.model_version_id:
        return report.model_version.label
    device = signal.application.device
    latest = device.model_versions.order_by("-recorded_at", "-pk").first() if device else None
    return latest.label if latest else None


def alert_document(signal: SafetySignal) -> dict:
    """The alert as partners receive it, by webhook and in the feed (`data` of a message)."""
    application = signal.application
    device = application.device
    code = schema.IMDRF_CODE_FOR_METRIC.get(signal.metric, schema.IMDRF_CODE_DEFAULT)
    return {
        "id": alert_id(signal),
        "version": signal.alert_version,
        "issuer": {
            "name": settings.NETWORK_ISSUER_NAME,
            "country": settings.NETWORK_ISSUER_COUNTRY,
        },
        "title": signal.title,
        "description": signal.description,
        "severity": signal.severity,
        "status": alert_status(signal),
        "retraction_reason": signal.retraction_reason or None,
        "source": signal.source,
        "raised_at": signal.raised_at.isoformat(),
        "updated_at": (signal.retracted_at or signal.closed_at or signal.raised_at).isoformat(),
        "shared_at": signal.shared_at.isoformat() if signal.shared_at else None,
        "device": {
            "manufacturer": application.organisation.name,
            "name": device.name if device else "",
            "version": device.version if device else None,
            "model_version": _model_version(signal),
            "uk_mdr_class": device.mdr_class if device else None,
            "imdrf_samd_category": device.imdrf_category if device else None,
            "udi_di": None,
            "gmdn_term": None,
            "clinical_area": device.get_clinical_area_display() if device else None,
        },
        "finding": _finding(signal),
        "imdrf_codes": [{"code": code, "term": schema.IMDRF_DEVICE_PROBLEMS[code]}],
        "links": [
            {"rel": "feed", "href": settings.SITE_URL + reverse("api:alert-feed")},
            {"rel": "schema", "href": settings.SITE_URL + reverse("network:schema")},
        ],
    }


def message_type(signal: SafetySignal) -> str:
    if signal.retracted_at:
        return "alert.retracted"
    return "alert.published" if signal.alert_version == 1 else "alert.updated"


def envelope(kind: str, data: dict) -> dict:
    return {
        "type": kind,
        "schema_version": schema.SCHEMA_VERSION,
        "timestamp": timezone.now().isoformat(),
        "data": data,
    }


def alert_message(signal: SafetySignal) -> dict:
    return envelope(message_type(signal), alert_document(signal))


# --- Receiving -------------------------------------------------------------------------------


# How long message ids are remembered: far longer than the 5-minute signature window, so a
# retry days later (a partner's queue drained after an outage) is still recognised.
MESSAGE_ID_RETENTION = timedelta(days=30)


def webhook_messages_prune() -> int:
    """Forget message ids past MESSAGE_ID_RETENTION; older messages fail the time window."""
    cutoff = timezone.now() - MESSAGE_ID_RETENTION
    stale = WebhookMessage.objects.filter(received_at__lt=cutoff).values_list("pk", flat=True)
    return WebhookMessage.objects.filter(pk__in=list(stale[:10_000])).delete()[0]


class Duplicate(Exception):
    """This partner sent a message with this webhook-id before: nothing to do."""


def message_seen(*, partner: PartnerRegulator, webhook_id: str, kind: str) -> None:
    """Record the message id, or raise Duplicate. Called inside the transaction that stores
    the message's effect, so a failure leaves the id free for the sender's retry."""
    try:
        with transaction.atomic():
            WebhookMessage.objects.create(partner=partner, webhook_id=webhook_id, kind=kind)
    except IntegrityError:
        raise Duplicate(webhook_id) from None


def alert_receive(
    *, partner: PartnerRegulator, webhook_id: str, message: Mapping
) -> tuple[IncomingAlert, str]:
    """Store or update a partner's alert from a valid message; (alert, what happened):
    "created", "updated" (a higher version), or "stale" (a version we already have).
    The whole payload is kept, properties we do not know included. A new alert or version
    gets a "received" receipt, sent after commit."""
    data = message["data"]
    device = data.get("device", {})
    fields = {
        "title": data["title"],
        "severity": data["severity"],
        "summary": data.get("description") or "",
        "device_name": (device.get("name") or "")[:200],
        "payload": dict(message),
        "version": data["version"],
        "status": data["status"],
        "updated_at": parse_datetime(data.get("updated_at") or data["raised_at"]),
    }
    with transaction.atomic():
        message_seen(partner=partner, webhook_id=webhook_id, kind=message["type"])
        alert = (
            IncomingAlert.objects.select_for_update()
            .filter(partner=partner, external_id=data["id"])
            .first()
        )
        if alert is None:
            try:
                with transaction.atomic():
                    alert = IncomingAlert.objects.create(
                        partner=partner, external_id=data["id"], **fields
                    )
            except IntegrityError:  # the same alert in a concurrent message
                alert = IncomingAlert.objects.select_for_update().get(
                    partner=partner, external_id=data["id"]
                )
                outcome = "stale"
            else:
                outcome = "created"
        elif data["version"] > alert.version:
            for name, value in fields.items():
                setattr(alert, name, value)
            alert.save(update_fields=list(fields))
            outcome = "updated"
        else:
            outcome = "stale"
        if outcome != "stale":
            receipt = ReceiptDelivery.objects.create(
                alert=alert, kind=ReceiptKind.RECEIVED, alert_version=alert.version
            )
            enqueue_on_commit("reviews.tasks.deliver_receipt", receipt.pk)
    return alert, outcome
