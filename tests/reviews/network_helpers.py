"""Building signed network messages as a partner node would, for the network tests."""

import hashlib
import json

from django.utils import timezone

from reviews.models import PartnerRegulator, PartnerSecret
from reviews.network import signing

PARTNER_TOKEN = "network-partner-token-0123456789"


def make_partner(name: str = "Health Canada", **fields) -> tuple[PartnerRegulator, str]:
    """A partner that authenticates with PARTNER_TOKEN, and the secret we share with it."""
    partner = PartnerRegulator.objects.create(
        name=name,
        country="Canada",
        inbound_token_sha256=hashlib.sha256(PARTNER_TOKEN.encode()).hexdigest(),
        **fields,
    )
    secret = signing.new_secret()
    PartnerSecret.objects.create(partner=partner, secret=secret)
    return partner, secret


def alert_message(alert_id: str = "HC-2026-17", version: int = 1, **data) -> dict:
    now = timezone.now().isoformat()
    return {
        "type": "alert.published" if version == 1 else "alert.updated",
        "schema_version": "1.0",
        "timestamp": now,
        "data": {
            "id": alert_id,
            "version": version,
            "issuer": {"name": "Health Canada", "country": "CA"},
            "title": "Drift in a chest X-ray triage model",
            "description": "Specificity fell after a scanner upgrade.",
            "severity": "high",
            "status": "open",
            "raised_at": now,
            "device": {"manufacturer": "Northern Imaging", "name": "ChestTriage"},
            "finding": {
                "metric": "specificity",
                "observed_value": 0.81,
                "sample_size": 1200,
                "interval": {"lower": 0.78, "upper": 0.84, "level": 0.95},
                "threshold": {"comparator": "gte", "value": 0.9},
            },
            "imdrf_codes": [{"code": "A09"}],
        }
        | data,
    }


def signed_post(
    client,
    message: dict,
    secrets: list[str],
    *,
    message_id: str = "msg_1",
    timestamp: int | None = None,
    url: str = "/api/network/inbox/",
):
    body = json.dumps(message).encode()
    headers = signing.signed_headers(
        secret_values=secrets, message_id=message_id, body=body, timestamp=timestamp
    )
    return client.post(
        url,
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {PARTNER_TOKEN}"} | headers,
    )
