"""The network inbox: Standard Webhooks signatures, the time window, de-duplication on the
message id, several secrets per partner, and messages validated against the schema."""

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from reviews.models import AlertStatus, IncomingAlert, ReceiptDelivery, WebhookMessage
from reviews.network import keys, schema, signing
from tests.reviews.network_helpers import alert_message, make_partner, signed_post

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def partner():
    return make_partner()


def test_it_stores_a_signed_alert_and_queues_a_received_receipt(
    client, partner, django_capture_on_commit_callbacks
):
    _, secret = partner

    with django_capture_on_commit_callbacks() as callbacks:
        response = signed_post(client, alert_message(), [secret])

    assert response.status_code == 201, response.content
    assert response.json() == {"outcome": "alert created"}
    alert = IncomingAlert.objects.get()
    assert (alert.external_id, alert.version, alert.status) == ("HC-2026-17", 1, "open")
    assert alert.device_name == "ChestTriage"
    receipt = ReceiptDelivery.objects.get()
    assert (receipt.kind, receipt.alert_version) == ("received", 1)
    assert len(callbacks) == 1


def test_the_same_message_delivered_twice_is_stored_once(client, partner):
    _, secret = partner
    first = signed_post(client, alert_message(), [secret], message_id="msg_same")

    again = signed_post(client, alert_message(), [secret], message_id="msg_same")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {"outcome": "duplicate"}
    assert IncomingAlert.objects.count() == 1
    assert WebhookMessage.objects.count() == 1
    assert ReceiptDelivery.objects.count() == 1


@pytest.mark.parametrize(
    ("shift", "words"), [(-301, "more than 5 minutes old"), (301, "in the future")]
)
def test_a_timestamp_outside_five_minutes_is_refused(client, partner, shift, words):
    _, secret = partner
    now = int(time.time())

    # The clock is held still: a second's delay on a busy machine would otherwise bring the
    # 301-second future timestamp back inside the window.
    with time_machine.travel(now, tick=False):
        response = signed_post(client, alert_message(), [secret], timestamp=now + shift)

    assert response.status_code == 401
    assert words in response.json()["detail"]
    assert not IncomingAlert.objects.exists()


def test_a_replayed_message_is_refused_later_and_ignored_inside_the_window(client, partner):
    _, secret = partner
    body = json.dumps(alert_message()).encode()
    captured = signing.signed_headers(secret_values=[secret], message_id="msg_c", body=body)
    auth = {"Authorization": "Bearer network-partner-token-0123456789"}
    post = lambda: client.post(  # noqa: E731
        "/api/network/inbox/", body, content_type="application/json", headers=auth | captured
    )
    assert post().status_code == 201

    assert post().json() == {"outcome": "duplicate"}
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        late = post()

    assert late.status_code == 401
    assert IncomingAlert.objects.count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"webhook-signature": "v1"},
        {"webhook-signature": "v1,!!!not base64"},
        {"webhook-signature": "nonsense"},
        {"webhook-timestamp": "nan"},
        {"webhook-timestamp": "1e400"},
        {"webhook-timestamp": "tomorrow"},
        {"webhook-id": ""},
        {"webhook-id": "x" * 300},
        {"webhook-signature": "v1a,AAAA v2,BBBB"},
    ],
)
def test_a_malformed_signature_is_refused_in_words(client, partner, headers):
    _, secret = partner
    body = json.dumps(alert_message()).encode()
    signed = signing.signed_headers(secret_values=[secret], message_id="msg_m", body=body)

    response = client.post(
        "/api/network/inbox/",
        body,
        content_type="application/json",
        headers={"Authorization": "Bearer network-partner-token-0123456789"} | signed | headers,
    )

    assert response.status_code == 401
    assert response.json()["detail"]
    assert not IncomingAlert.objects.exists()


def test_a_signature_with_another_secret_or_over_another_body_is_refused(client, partner):
    response = signed_post(client, alert_message(), [signing.new_secret()])

    assert response.status_code == 401
    assert response.json()["detail"] == "No signature matched an active secret."


def test_without_the_partner_s_token_nothing_is_read(client, partner):
    _, secret = partner
    body = json.dumps(alert_message()).encode()
    headers = signing.signed_headers(secret_values=[secret], message_id="msg_t", body=body)

    response = client.post(
        "/api/network/inbox/", body, content_type="application/json", headers=headers
    )

    assert response.status_code == 401


# --- Several secrets, rotation ---------------------------------------------------------------


def test_any_active_secret_verifies_and_an_ended_one_does_not(client, partner, admin_user):
    regulator, old = partner
    new = keys.secret_rotate(actor=admin_user, partner_id=regulator.pk).secret

    assert signed_post(client, alert_message("A-1"), [old], message_id="m1").status_code == 201
    assert signed_post(client, alert_message("A-2"), [new], message_id="m2").status_code == 201
    overlap = timedelta(hours=72, minutes=1)
    with time_machine.travel(timezone.now() + overlap):
        assert signed_post(client, alert_message("A-3"), [old], message_id="m3").status_code == 401
        assert signed_post(client, alert_message("A-4"), [new], message_id="m4").status_code == 201


def test_rotating_signs_with_both_secrets_until_the_overlap_ends(partner, admin_user):
    regulator, old = partner
    new = keys.secret_rotate(actor=admin_user, partner_id=regulator.pk).secret
    from reviews.network.models import active_secrets

    header = signing.signed_headers(
        secret_values=active_secrets(regulator), message_id="m", body=b"{}"
    )["webhook-signature"]

    assert header.count("v1,") == 2
    for secret in (old, new):
        signing.verify(
            secret_values=[secret],
            body=b"{}",
            headers=signing.signed_headers(
                secret_values=active_secrets(regulator), message_id="m", body=b"{}"
            ),
        )
    event = regulator.key_events.get()
    assert (event.actor, event.action) == (admin_user, "issued")
    assert "end in 72 h" in event.summary


def test_a_partner_s_secret_is_added_and_older_ones_retired_with_an_audit_trail(
    partner, admin_user
):
    regulator, _ = partner
    theirs = signing.new_secret()

    keys.secret_add(actor=admin_user, partner_id=regulator.pk, value=theirs)
    retired = keys.secrets_retire_older(actor=admin_user, partner_id=regulator.pk)

    from reviews.network.models import active_secrets

    assert retired == 1
    assert active_secrets(regulator) == [theirs]
    assert [e.action for e in regulator.key_events.order_by("created_at", "pk")] == [
        "added",
        "retired",
    ]
    with pytest.raises(Exception, match="whsec_"):
        keys.secret_add(actor=admin_user, partner_id=regulator.pk, value="not-a-secret")
    with pytest.raises(PermissionError):
        regulator.key_events.first().delete()


def test_an_administrator_rotates_from_the_admin(client, partner, admin_user):
    regulator, _ = partner
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:reviews_partnerregulator_changelist"),
        {"action": "rotate_secret", "_selected_action": [regulator.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert regulator.secrets.count() == 2
    newest = regulator.secrets.first()
    assert newest.secret in response.content.decode()  # shown once, to be sent on
    assert regulator.key_events.get().actor == admin_user
    page = client.get(reverse("admin:reviews_partnerregulator_change", args=[regulator.pk]))
    assert newest.secret not in page.content.decode()  # only its last characters
    assert f"…{newest.secret[-4:]}" in page.content.decode()


# --- The schema ------------------------------------------------------------------------------


def test_a_message_off_the_schema_is_a_400_listing_each_problem(client, partner):
    _, secret = partner
    message = alert_message(severity="apocalyptic", version=0)
    del message["data"]["title"]

    response = signed_post(client, message, [secret])

    assert response.status_code == 400
    problems = response.json()["problems"]
    assert any(p.startswith("data:") and "'title' is a required property" in p for p in problems)
    assert any(p.startswith("data.severity:") for p in problems)
    assert any(p.startswith("data.version:") for p in problems)
    assert not IncomingAlert.objects.exists()
    assert not WebhookMessage.objects.exists()  # a corrected resend with the same id works


def test_a_date_that_is_not_a_date_is_a_400(client, partner):
    _, secret = partner

    response = signed_post(client, alert_message(raised_at="last Tuesday"), [secret])

    assert response.status_code == 400
    assert "data.raised_at" in response.json()["problems"][0]


def test_properties_from_a_newer_version_are_kept(client, partner):
    _, secret = partner
    message = alert_message(population={"age_band": "65+"})
    message["schema_version"] = "1.4"
    message["data"]["device"]["software_bill_of_materials"] = "https://example.test/sbom"

    response = signed_post(client, message, [secret])

    assert response.status_code == 201
    payload = IncomingAlert.objects.get().payload
    assert payload["data"]["population"] == {"age_band": "65+"}
    assert payload["data"]["device"]["software_bill_of_materials"]


def test_a_higher_version_updates_the_alert_and_a_late_lower_one_changes_nothing(client, partner):
    _, secret = partner
    signed_post(client, alert_message(), [secret], message_id="v1")
    retracted = alert_message(version=3, status="retracted", retraction_reason="Data error.")
    retracted["type"] = "alert.retracted"

    assert signed_post(client, retracted, [secret], message_id="v3").status_code == 201
    late = signed_post(
        client, alert_message(version=2, status="investigating"), [secret], message_id="v2"
    )

    assert late.json() == {"outcome": "alert stale"}
    alert = IncomingAlert.objects.get()
    assert (alert.version, alert.status) == (3, AlertStatus.RETRACTED)
    assert list(
        ReceiptDelivery.objects.order_by("alert_version").values_list("alert_version", flat=True)
    ) == [1, 3]


def test_the_schema_is_served_public_and_is_the_one_in_docs(client):
    response = client.get(reverse("network:schema"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/schema+json"
    served = b"".join(response.streaming_content)
    assert served == (ROOT / "docs" / "network" / "message-v1.schema.json").read_bytes()
    assert json.loads(served)["$defs"]["alert"]["properties"]["finding"]


def test_the_imdrf_table_codes_match_the_schema_s_pattern():
    import re

    pattern = schema.schema()["$defs"]["alert"]["properties"]["imdrf_codes"]["items"]
    code = re.compile(pattern["properties"]["code"]["pattern"])
    assert all(code.fullmatch(c) for c in schema.IMDRF_DEVICE_PROBLEMS)
    assert schema.code_terms([{"code": "A11"}, {"code": "A0901", "term": "Theirs"}]) == [
        ("A11", "Computer Software Problem"),
        ("A0901", "Theirs"),
    ]


def test_message_ids_are_forgotten_after_thirty_days_not_before(client, partner):
    from reviews.network.alerts import webhook_messages_prune

    _, secret = partner
    signed_post(client, alert_message(), [secret], message_id="old")

    assert webhook_messages_prune() == 0
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert webhook_messages_prune() == 1
    assert not WebhookMessage.objects.exists()
