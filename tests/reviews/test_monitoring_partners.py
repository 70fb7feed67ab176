import base64
import hashlib
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import airlock.queue
from airlock.roles import Role
from devices.models import ApplicationState
from reviews.models import (
    AlertDelivery,
    ConflictOfInterest,
    DeliveryStatus,
    PartnerRegulator,
    PartnerSecret,
    SafetySignal,
    SignalSeverity,
    SignalSource,
)
from reviews.monitoring import partners, signals
from reviews.network import schema, signing
from reviews.tasks import deliver_alert
from tests.factories import UserFactory, make_application

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + base64.b64encode(b"partner-shared-secret-of-32-bytes").decode()


class PartnerEndpoint:
    """A partner's webhook receiver on localhost that records what it was sent."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(endpoint.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _partners_on_this_machine(settings):
    # The partner receivers here listen on 127.0.0.1, which a real webhook may never be
    # (tests/security/test_webhook_destinations.py).
    settings.PARTNER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def endpoint():
    server = PartnerEndpoint()
    yield server
    server.close()


@pytest.fixture
def partner(endpoint):
    partner = PartnerRegulator.objects.create(
        name="Health Canada", country="Canada", webhook_url=endpoint.url
    )
    PartnerSecret.objects.create(partner=partner, secret=SECRET)
    return partner


@pytest.fixture
def signal(organisation, reviewer):
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation
    )
    return SafetySignal.objects.create(
        application=application,
        severity=SignalSeverity.HIGH,
        source=SignalSource.REVIEWER,
        title="Sensitivity falling at rural sites",
        description="Two sites below 0.85 for two checkpoints running.",
        raised_by=reviewer,
    )


@pytest.fixture
def sent(monkeypatch):
    """Record tasks sent instead of sending them."""
    calls = []

    def record(task_name, *args):
        calls.append((task_name, args))
        return True

    monkeypatch.setattr(airlock.queue, "enqueue", record)
    monkeypatch.setattr(partners, "enqueue", record)
    return calls


def verify(headers: dict, body: bytes, secret: str) -> bool:
    """As a partner would check it, with the Standard Webhooks package (docs/NETWORK.md)."""
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True


# --- Sharing ---------------------------------------------------------------------------------


def test_sharing_queues_one_delivery_per_active_partner_with_a_webhook(
    signal, partner, reviewer, sent, django_capture_on_commit_callbacks
):
    PartnerRegulator.objects.create(name="TGA", country="Australia", webhook_url="")
    PartnerRegulator.objects.create(
        name="Dormant", country="Nowhere", webhook_url="http://127.0.0.1:9/", is_active=False
    )

    with django_capture_on_commit_callbacks(execute=True):
        queued = signals.safety_signal_share(actor=reviewer, signal_id=signal.pk)

    assert queued == 1
    delivery = AlertDelivery.objects.get()
    assert (delivery.partner, delivery.status, delivery.attempts) == (
        partner,
        DeliveryStatus.PENDING,
        0,
    )
    signal.refresh_from_db()
    assert signal.shared_at is not None
    assert sent == [("reviews.tasks.deliver_alert", (delivery.pk,))]


def test_sharing_again_reaches_only_partners_added_since(
    signal, partner, reviewer, sent, django_capture_on_commit_callbacks
):
    signals.safety_signal_share(actor=reviewer, signal_id=signal.pk)
    first_shared_at = SafetySignal.objects.get().shared_at
    AlertDelivery.objects.update(status=DeliveryStatus.DELIVERED, attempts=1)
    PartnerRegulator.objects.create(
        name="FDA",
        country="United States",
        webhook_url="http://127.0.0.1:9/fda",
    )

    with django_capture_on_commit_callbacks(execute=True):
        queued = signals.safety_signal_share(actor=reviewer, signal_id=signal.pk)

    assert queued == 1
    assert AlertDelivery.objects.count() == 2
    assert [args for _, args in sent] == [(AlertDelivery.objects.get(partner__name="FDA").pk,)]
    assert SafetySignal.objects.get().shared_at == first_shared_at


def test_a_conflicted_reviewer_cannot_share(signal, partner, organisation):
    conflicted = UserFactory(role=Role.REVIEWER)
    ConflictOfInterest.objects.create(reviewer=conflicted, organisation=organisation, reason="x")

    with pytest.raises(PermissionError, match="conflict of interest"):
        signals.safety_signal_share(actor=conflicted, signal_id=signal.pk)
    assert not AlertDelivery.objects.exists()


def test_a_manufacturer_cannot_share(signal, partner, manufacturer):
    with pytest.raises(PermissionError):
        signals.safety_signal_share(actor=manufacturer, signal_id=signal.pk)


# --- Delivery --------------------------------------------------------------------------------


def shared(signal, partner):
    SafetySignal.objects.filter(pk=signal.pk).update(shared_at=timezone.now())
    return AlertDelivery.objects.create(signal=signal, partner=partner)


def test_it_delivers_a_signed_alert_the_partner_can_verify(signal, partner, endpoint):
    delivery = shared(signal, partner)

    result = partners.alert_deliver(delivery_id=delivery.pk)

    assert result.status == DeliveryStatus.DELIVERED
    assert (result.attempts, result.last_status_code, result.last_error) == (1, 200, "")
    assert result.delivered_at is not None
    [request] = endpoint.requests
    assert verify(request["headers"], request["body"], SECRET)
    assert not verify(request["headers"], request["body"], signing.new_secret())
    assert not verify(request["headers"], request["body"] + b" ", SECRET)
    message = json.loads(request["body"])
    assert message["type"] == "alert.published"
    assert schema.problems(message) == []
    payload = message["data"]
    assert payload["id"] == f"airlock-signal-{signal.pk}"
    assert payload["version"] == 1
    assert payload["title"] == "Sensitivity falling at rural sites"
    assert payload["severity"] == "high"
    assert payload["device"]["manufacturer"] == "Demo Diagnostics Ltd"
    assert request["headers"]["Content-Type"] == "application/json"


def test_a_refused_delivery_is_logged_and_left_to_retry(signal, partner, endpoint):
    endpoint.status = 503
    delivery = shared(signal, partner)

    result = partners.alert_deliver(delivery_id=delivery.pk)

    assert result.status == DeliveryStatus.PENDING
    assert (result.attempts, result.last_status_code) == (1, 503)
    assert "503" in result.last_error
    assert result.last_attempt_at is not None


def test_an_unreachable_partner_is_logged(signal):
    partner = PartnerRegulator.objects.create(
        name="Offline", country="X", webhook_url="http://127.0.0.1:9/"
    )
    PartnerSecret.objects.create(partner=partner, secret=SECRET)
    delivery = shared(signal, partner)

    result = partners.alert_deliver(delivery_id=delivery.pk)

    assert result.status == DeliveryStatus.PENDING
    assert result.last_status_code is None
    assert "refused" in result.last_error.lower()


def test_a_redirect_counts_as_a_failure(signal, partner, endpoint):
    endpoint.status = 302
    delivery = shared(signal, partner)

    result = partners.alert_deliver(delivery_id=delivery.pk)

    assert (result.status, result.last_status_code) == (DeliveryStatus.PENDING, 302)


def test_the_backoff_doubles():
    assert [partners.retry_delay(n) for n in range(1, 6)] == [30, 60, 120, 240, 480]


def test_the_task_retries_with_backoff_then_gives_up(signal, partner, endpoint, monkeypatch):
    endpoint.status = 500
    delivery = shared(signal, partner)
    countdowns = []
    original_retry = deliver_alert.retry

    def recording_retry(*args, countdown=None, **kwargs):
        countdowns.append(countdown)
        return original_retry(*args, countdown=countdown, **kwargs)

    monkeypatch.setattr(deliver_alert, "retry", recording_retry)

    deliver_alert.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == partners.MAX_DELIVERY_ATTEMPTS
    assert len(endpoint.requests) == partners.MAX_DELIVERY_ATTEMPTS
    assert countdowns == [partners.retry_delay(n) for n in range(1, 8)]


def test_a_delivered_alert_is_not_sent_again(signal, partner, endpoint):
    delivery = shared(signal, partner)
    partners.alert_deliver(delivery_id=delivery.pk)

    partners.alert_deliver(delivery_id=delivery.pk)

    assert len(endpoint.requests) == 1


def test_the_sweep_queues_deliveries_the_broker_never_took(signal, partner, sent):
    never_tried = shared(signal, partner)
    other = PartnerRegulator.objects.create(name="Stalled", country="Y", webhook_url="http://x/")
    stalled = AlertDelivery.objects.create(
        signal=signal,
        partner=other,
        attempts=2,
        last_attempt_at=timezone.now() - timedelta(hours=2),
    )
    assert partners.pending_deliveries_retry() == 1  # only the stalled one: the other is new

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        partners.pending_deliveries_retry()

    assert sorted(args[0] for _, args in sent) == sorted([stalled.pk, stalled.pk, never_tried.pk])


# --- Inbound ---------------------------------------------------------------------------------


def test_a_partner_is_found_by_its_token_hash(partner):
    partner.inbound_token_sha256 = hashlib.sha256(b"s3cret-token").hexdigest()
    partner.save()

    assert partners.partner_for_token("s3cret-token") == partner
    assert partners.partner_for_token("other") is None
    assert partners.partner_for_token("") is None
    partner.is_active = False
    partner.save()
    assert partners.partner_for_token("s3cret-token") is None


def test_an_incoming_alert_delivered_twice_is_stored_once(partner):
    fields = {
        "partner": partner,
        "external_id": "HC-2026-17",
        "title": "Drift in a chest X-ray triage model",
        "severity": SignalSeverity.MEDIUM,
        "summary": "Specificity fell after a scanner upgrade.",
        "payload": {"id": "HC-2026-17"},
    }

    first, created = partners.incoming_alert_receive(**fields)
    again, created_again = partners.incoming_alert_receive(**fields)

    assert (created, created_again) == (True, False)
    assert first == again
