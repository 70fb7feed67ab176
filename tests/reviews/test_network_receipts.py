"""Receipts both ways, new versions and retractions of shared alerts, and the alerts
partners have not acknowledged."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import ApplicationState, CheckpointReport, ModelVersion
from reviews.models import (
    AlertDelivery,
    AlertReceipt,
    AuditEntry,
    Checkpoint,
    DeliveryStatus,
    IncomingAlert,
    PartnerSecret,
    ReceiptDelivery,
    SafetySignal,
    SignalSeverity,
    SignalSource,
    SignalStatus,
)
from reviews.monitoring import partners, signals
from reviews.monitoring.dashboard import programme_dashboard
from reviews.monitoring.digest import reviewer_digest_context
from reviews.network import receipts, schema, signing
from tests.factories import make_application
from tests.reviews.network_helpers import alert_message, make_partner, signed_post
from tests.reviews.test_monitoring_partners import PartnerEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _partners_on_this_machine(settings):
    settings.PARTNER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def endpoint():
    server = PartnerEndpoint()
    yield server
    server.close()


@pytest.fixture
def partner(endpoint):
    return make_partner(webhook_url=endpoint.url)


@pytest.fixture
def signal(organisation, reviewer):
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation
    )
    return SafetySignal.objects.create(
        application=application,
        severity=SignalSeverity.HIGH,
        source=SignalSource.REVIEWER,
        metric="sensitivity",
        observed_value="0.7100",
        title="Sensitivity falling at rural sites",
        description="Two sites below 0.85 for two checkpoints running.",
        raised_by=reviewer,
    )


def share(signal, reviewer, captured):
    with captured(execute=False):
        signals.safety_signal_share(actor=reviewer, signal_id=signal.pk)


def receipt_message(signal, **data) -> dict:
    return {
        "type": "receipt.created",
        "schema_version": "1.0",
        "timestamp": timezone.now().isoformat(),
        "data": {
            "alert_id": f"airlock-signal-{signal.pk}",
            "alert_version": 1,
            "kind": "triaged",
            "assessment": "relevant",
            "issued_at": timezone.now().isoformat(),
        }
        | data,
    }


# --- Receipts partners send us ---------------------------------------------------------------


def test_a_partner_s_receipts_show_on_the_signal_page_latest_first(
    client, signal, partner, reviewer, django_capture_on_commit_callbacks
):
    _, secret = partner
    share(signal, reviewer, django_capture_on_commit_callbacks)
    received = receipt_message(signal, kind="received", assessment=None)
    action = receipt_message(
        signal, kind="action_taken", action_category="manufacturer_contacted", note="Called them."
    )
    action["data"]["issued_at"] = (timezone.now() + timedelta(minutes=1)).isoformat()

    assert signed_post(client, received, [secret], message_id="r1").status_code == 201
    assert signed_post(client, action, [secret], message_id="r2").status_code == 201

    assert AlertReceipt.objects.count() == 2
    client.force_login(reviewer)
    page = client.get(reverse("reviews:signal-detail", args=[signal.pk])).content.decode()
    assert "Partners' receipts" in page
    latest = page.index("Action taken")
    assert latest < page.index("<strong>Received</strong>")
    assert "manufacturer contacted. Called them." in page


def test_a_receipt_for_an_alert_never_sent_to_that_partner_is_a_404(client, signal, partner):
    _, secret = partner

    response = signed_post(client, receipt_message(signal), [secret])

    assert response.status_code == 404
    assert not AlertReceipt.objects.exists()


def test_a_triage_without_an_assessment_is_a_400(client, signal, partner):
    _, secret = partner

    response = signed_post(client, receipt_message(signal, assessment=None), [secret])

    assert response.status_code == 400
    assert any("assessment" in p for p in response.json()["problems"])


# --- Receipts we send ------------------------------------------------------------------------


@pytest.fixture
def incoming(client, partner):
    _, secret = partner
    signed_post(client, alert_message(), [secret])
    return IncomingAlert.objects.get()


def test_it_sends_a_signed_received_receipt_the_partner_can_check(incoming, partner, endpoint):
    _, secret = partner
    receipt = ReceiptDelivery.objects.get()

    result = receipts.receipt_deliver(receipt_id=receipt.pk)

    assert result.status == DeliveryStatus.DELIVERED
    [request] = endpoint.requests
    message = json.loads(request["body"])
    assert schema.problems(message) == []
    assert message["data"]["alert_id"] == "HC-2026-17"
    assert message["data"]["kind"] == "received"
    assert request["headers"]["webhook-id"] == f"airlock-receipt-{receipt.pk}"
    assert signing.verify(secret_values=[secret], body=request["body"], headers=request["headers"])


def test_a_reviewer_triages_a_partner_s_alert_from_its_page(
    client, incoming, reviewer, django_capture_on_commit_callbacks
):
    client.force_login(reviewer)
    url = reverse("reviews:incoming-alert-receipt", args=[incoming.pk])

    refused = client.post(url, {"kind": "triaged", "assessment": ""})
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url, {"kind": "triaged", "assessment": "not_relevant"})

    assert refused.status_code == 200
    assert "Say whether it is relevant" in refused.content.decode()
    assert response.status_code == 302
    sent = ReceiptDelivery.objects.get(kind="triaged")
    assert (sent.assessment, sent.created_by, sent.alert_version) == ("not_relevant", reviewer, 1)
    assert len(callbacks) == 1
    page = client.get(reverse("reviews:incoming-alert", args=[incoming.pk])).content.decode()
    assert "Not relevant to devices on our market" in page
    assert "A09 Output Problem" in page
    assert "over 1200 cases" in page


def test_an_action_needs_what_was_done_and_its_category(incoming, reviewer, manufacturer):
    with pytest.raises(Exception, match="Say what was done"):
        receipts.receipt_send(actor=reviewer, alert_id=incoming.pk, kind="action_taken")
    with pytest.raises(PermissionError):
        receipts.receipt_send(
            actor=manufacturer, alert_id=incoming.pk, kind="triaged", assessment="relevant"
        )

    receipt = receipts.receipt_send(
        actor=reviewer,
        alert_id=incoming.pk,
        kind="action_taken",
        action_category="monitoring",
        note="Asked sites to report weekly.",
    )
    assert receipt.action_category == "monitoring"
    assert schema.problems(receipts.receipt_message(receipt)) == []


# --- Versions and retractions ----------------------------------------------------------------


def test_a_change_of_status_sends_partners_the_next_version_and_supersedes_the_last(
    signal, partner, reviewer, endpoint, django_capture_on_commit_callbacks
):
    share(signal, reviewer, django_capture_on_commit_callbacks)
    first = AlertDelivery.objects.get()

    with django_capture_on_commit_callbacks(execute=False):
        signals.safety_signal_status_set(
            actor=reviewer, signal_id=signal.pk, status=SignalStatus.INVESTIGATING
        )

    second = AlertDelivery.objects.get(version=2)
    assert partners.alert_deliver(delivery_id=first.pk).status == DeliveryStatus.SUPERSEDED
    assert partners.alert_deliver(delivery_id=second.pk).status == DeliveryStatus.DELIVERED
    [request] = endpoint.requests
    message = json.loads(request["body"])
    assert (message["type"], message["data"]["version"]) == ("alert.updated", 2)
    assert message["data"]["status"] == "investigating"
    assert schema.problems(message) == []


def test_a_retraction_is_explicit_final_and_audited(
    client, signal, partner, reviewer, endpoint, django_capture_on_commit_callbacks
):
    share(signal, reviewer, django_capture_on_commit_callbacks)
    client.force_login(reviewer)
    url = reverse("reviews:signal-retract", args=[signal.pk])

    assert client.post(url, {"reason": ""}).status_code == 302
    assert not SafetySignal.objects.get().retracted_at
    with django_capture_on_commit_callbacks(execute=False):
        client.post(url, {"reason": "The site's data feed was misconfigured."})
    again = client.post(url, {"reason": "Twice."}, follow=True)

    signal.refresh_from_db()
    assert (signal.alert_version, signal.retraction_reason) == (
        2,
        "The site's data feed was misconfigured.",
    )
    assert "already retracted" in again.content.decode()
    assert AuditEntry.objects.get(signal=signal).action == "signal_retracted"
    delivery = AlertDelivery.objects.get(version=2)
    partners.alert_deliver(delivery_id=delivery.pk)
    message = json.loads(endpoint.requests[-1]["body"])
    assert message["type"] == "alert.retracted"
    assert message["data"]["status"] == "retracted"
    assert message["data"]["retraction_reason"] == "The site's data feed was misconfigured."
    assert schema.problems(message) == []


def test_an_alert_never_shared_cannot_be_retracted(signal, reviewer):
    with pytest.raises(Exception, match="Only an alert shared"):
        signals.safety_signal_retract(actor=reviewer, signal_id=signal.pk, reason="x")


def test_the_alert_carries_sample_size_threshold_and_imdrf_code(signal):
    document = partners.alert_payload(signal)

    assert document["finding"]["metric"] == "sensitivity"
    assert document["finding"]["observed_value"] == 0.71
    assert document["imdrf_codes"] == [{"code": "A09", "term": "Output Problem"}]
    assert document["device"]["model_version"] is None


def test_the_alert_carries_the_reports_counts_interval_and_model_version(signal, manufacturer):
    """Issue 11's figures reach partners: the denominator the metric was measured on, its 95%
    Wilson interval and the model version the report names."""
    device = signal.application.device
    version = ModelVersion.objects.create(
        device=device, label="2.2-retrained", released_on=timezone.localdate(), changes="x"
    )
    checkpoint = Checkpoint.objects.create(
        application=signal.application, sequence=1, due_on=timezone.localdate()
    )
    report = CheckpointReport.objects.create(
        checkpoint=checkpoint,
        submitted_by=manufacturer,
        cases_processed=900,
        metrics={"sensitivity": 0.71},
        counts={"sensitivity": [71, 100]},
        model_version=version,
    )
    SafetySignal.objects.filter(pk=signal.pk).update(checkpoint_report=report)
    signal.refresh_from_db()

    document = partners.alert_payload(signal)

    finding = document["finding"]
    assert finding["sample_size"] == 100
    # Wilson 95% for 71/100 (Newcombe 1998, method 3), to 4 places: 0.6146 to 0.7899.
    assert finding["interval"] == {"lower": 0.6146, "upper": 0.7899, "level": 0.95}
    assert document["device"]["model_version"] == "2.2-retrained"


# --- Not acknowledged ------------------------------------------------------------------------


def test_an_unacknowledged_high_alert_is_flagged_on_the_dashboard_and_in_the_digest(
    client, signal, partner, reviewer, lead_reviewer, settings, django_assert_max_num_queries
):
    regulator, _ = partner
    settings.PARTNER_ACK_HOURS = 24
    SafetySignal.objects.filter(pk=signal.pk).update(shared_at=timezone.now())
    AlertDelivery.objects.create(
        signal=signal,
        partner=regulator,
        status=DeliveryStatus.DELIVERED,
        delivered_at=timezone.now() - timedelta(hours=25),
    )

    with django_assert_max_num_queries(4):
        count, rows = receipts.unacknowledged()

    assert count == 1
    assert rows[0]["partner"] == regulator
    assert programme_dashboard(lead_reviewer)["unacknowledged_count"] == 1
    assert reviewer_digest_context(lead_reviewer)["unacknowledged"][0]["signal"] == signal
    client.force_login(lead_reviewer)
    page = client.get(reverse("reviews:dashboard")).content.decode()
    assert "Alerts partners have not acknowledged (1)" in page
    AlertReceipt.objects.create(
        signal=signal,
        partner=regulator,
        kind="received",
        alert_version=1,
        issued_at=timezone.now(),
    )
    assert receipts.unacknowledged()[0] == 0


def test_recent_or_low_alerts_are_not_flagged(signal, partner, settings):
    regulator, _ = partner
    AlertDelivery.objects.create(
        signal=signal,
        partner=regulator,
        status=DeliveryStatus.DELIVERED,
        delivered_at=timezone.now() - timedelta(hours=2),
    )
    assert receipts.unacknowledged()[0] == 0
    settings.PARTNER_ACK_HOURS = 1
    SafetySignal.objects.filter(pk=signal.pk).update(severity=SignalSeverity.LOW)
    assert receipts.unacknowledged()[0] == 0


def test_a_secret_is_needed_to_send(signal, partner, reviewer):
    regulator, _ = partner
    PartnerSecret.objects.filter(partner=regulator).delete()
    SafetySignal.objects.filter(pk=signal.pk).update(shared_at=timezone.now())
    delivery = AlertDelivery.objects.create(signal=signal, partner=regulator)

    result = partners.alert_deliver(delivery_id=delivery.pk)

    assert result.status == DeliveryStatus.PENDING
    assert "no active secret" in result.last_error


def test_the_sweep_queues_receipts_the_broker_never_took(incoming, monkeypatch):
    import time_machine

    from reviews.network import receipts as module

    sent = []
    monkeypatch.setattr(module, "enqueue", lambda name, *args: sent.append((name, args)) or True)
    received = ReceiptDelivery.objects.get()

    assert module.pending_receipts_retry() == 0  # just made: its own task is on its way
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        assert module.pending_receipts_retry() == 1

    assert sent == [("reviews.tasks.deliver_receipt", (received.pk,))]
