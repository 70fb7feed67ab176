"""Partner webhooks cannot be pointed into our own network (airlock/outbound.py).

The attack: a partner's webhook URL could be http://169.254.169.254/…, http://127.0.0.1:6379/,
http://[::1]:…, http://10.0.0.1/ or ftp://…; a shared signal was then POSTed there, and the
delivery log showed reviewers the error text, revealing which internal ports answered. Each
spelling below is refused where an administrator saves it (the admin, over HTTP), and again
when a delivery is attempted, since DNS can change in between.
"""

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.urls import reverse

from airlock import outbound
from devices.models import ApplicationState
from reviews.models import (
    AlertDelivery,
    DeliveryStatus,
    PartnerRegulator,
    PartnerSecret,
    SafetySignal,
    SignalSeverity,
    SignalSource,
)
from reviews.monitoring import partners
from reviews.network import signing
from tests.factories import make_application

pytestmark = pytest.mark.django_db

INTERNAL = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:6379/",
    "http://[::1]:8000/",
    "http://10.0.0.1/",
    "http://192.168.1.10/alerts",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0:8000/",
    "http://localhost:5432/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[2002:7f00:1::]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
]
NOT_WEB = [
    "ftp://partner.example/alerts",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "https://user:password@partner.example/alerts",
    "https:///alerts",
    "https://partner.example:99999/alerts",
    "http://[::1/alerts",
]
PUBLIC = ipaddress.ip_address("93.184.216.34")


@pytest.fixture
def dns(monkeypatch):
    """Names resolve to what the test says (no test asks a real resolver)."""
    answers: dict[str, list] = {}
    real = outbound.resolve

    def resolve(host, port):
        if host in answers:
            return [ipaddress.ip_address(a) for a in answers[host]]
        return real(host, port)

    monkeypatch.setattr(outbound, "resolve", resolve)
    return answers


def _admin_save(client, url: str):
    return client.post(
        reverse("admin:reviews_partnerregulator_add"),
        {
            "name": "Probe",
            "country": "Nowhere",
            "webhook_url": url,
            "inbound_token_sha256": "",
            "is_active": "on",
        },
    )


@pytest.mark.parametrize("url", INTERNAL + NOT_WEB)
def test_the_admin_refuses_a_webhook_into_a_private_network_or_not_on_the_web(
    client, admin_user, url
):
    client.force_login(admin_user)

    response = _admin_save(client, url)

    assert response.status_code == 200, "saved"
    assert response.context["adminform"].form.errors["webhook_url"]
    assert not PartnerRegulator.objects.exists()


def test_a_name_that_resolves_to_an_internal_address_is_refused(client, admin_user, dns):
    dns["partner.example"] = ["93.184.216.34", "10.0.0.5"]
    client.force_login(admin_user)

    response = _admin_save(client, "https://partner.example/alerts")

    (error,) = response.context["adminform"].form.errors["webhook_url"]
    assert error == (
        "partner.example resolves to 10.0.0.5, a private address: webhooks must be on the "
        "public internet."
    )


def test_a_public_https_webhook_is_saved(client, admin_user, dns):
    dns["partner.example"] = [str(PUBLIC)]
    client.force_login(admin_user)

    response = _admin_save(client, "https://partner.example/alerts")

    assert response.status_code == 302
    assert PartnerRegulator.objects.get().webhook_url == "https://partner.example/alerts"


def test_plain_http_is_refused_unless_the_setting_allows_it(client, admin_user, dns, settings):
    dns["partner.example"] = [str(PUBLIC)]
    settings.PARTNER_WEBHOOK_ALLOW_HTTP = False
    client.force_login(admin_user)

    response = _admin_save(client, "http://partner.example/alerts")

    (error,) = response.context["adminform"].form.errors["webhook_url"]
    assert "Use an https:// address" in error


# --- At send time --------------------------------------------------------------------------------


class Receiver:
    """Something listening on this machine: what an internal service would be."""

    def __init__(self):
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(dict(self.headers))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def _delivery_to(url: str) -> AlertDelivery:
    application = make_application(ApplicationState.IN_CONTROLLED_TESTING)
    signal = SafetySignal.objects.create(
        application=application,
        severity=SignalSeverity.HIGH,
        source=SignalSource.REVIEWER,
        title="Drift",
        description="Seen at one site.",
    )
    # Saved as it was when its name resolved to a public address (or as legacy data).
    partner = PartnerRegulator.objects.create(name="Partner", country="Nowhere", webhook_url=url)
    PartnerSecret.objects.create(partner=partner, secret=signing.new_secret())
    return AlertDelivery.objects.create(signal=signal, partner=partner)


def test_a_name_that_now_resolves_inside_is_refused_at_delivery(dns, receiver):
    url = f"http://partner.example:{receiver.port}/alerts"
    dns["partner.example"] = [str(PUBLIC)]
    PartnerRegulator(name="Check", country="X", webhook_url=url).full_clean()
    delivery = _delivery_to(url)
    dns["partner.example"] = ["127.0.0.1"]  # DNS changed after the URL was saved

    result = partners.alert_deliver(delivery_id=delivery.pk)

    assert receiver.requests == []
    assert result.status == DeliveryStatus.PENDING
    assert result.last_status_code is None
    assert "Refused before sending" in result.last_error
    assert "loopback" in result.last_error


@pytest.mark.parametrize("url", [*INTERNAL[:5], "ftp://partner.example/", "http://[::1/"])
def test_legacy_internal_webhooks_are_refused_at_delivery(url):
    delivery = _delivery_to(url)

    result = partners.alert_deliver(delivery_id=delivery.pk)

    assert result.last_error.startswith("Refused before sending")


def test_the_delivery_connects_to_the_address_it_checked(dns, receiver, settings):
    """No second lookup between the check and the connection (DNS rebinding): the name is
    resolved once, and the request goes to that address with the name in its Host header."""
    settings.PARTNER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    dns["rebinding.example"] = ["127.0.0.1"]
    delivery = _delivery_to(f"http://rebinding.example:{receiver.port}/alerts")

    result = partners.alert_deliver(delivery_id=delivery.pk)

    assert result.status == DeliveryStatus.DELIVERED
    (request,) = receiver.requests
    assert request["Host"] == f"rebinding.example:{receiver.port}"


def test_reviewers_see_a_generic_outcome_and_administrators_the_detail(
    client, reviewer, admin_user
):
    delivery = _delivery_to("https://partner.example/alerts")
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        attempts=8,
        status=DeliveryStatus.FAILED,
        last_error="ConnectionRefusedError: [Errno 111] Connection refused (10.0.0.7:6379)",
    )
    client.force_login(reviewer)

    page = client.get(reverse("reviews:signal-detail", args=[delivery.signal_id])).content.decode()

    assert "Not delivered after 8 attempts" in page
    assert "6379" not in page
    assert "Connection refused" not in page
    client.force_login(admin_user)
    log = client.get(reverse("admin:reviews_alertdelivery_changelist")).content.decode()
    assert "Connection refused (10.0.0.7:6379)" in log
