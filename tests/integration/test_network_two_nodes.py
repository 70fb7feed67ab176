"""Two Airlocks as nodes of the regulators' network, live on loopback: each its own gunicorn,
its own Celery worker, its own PostgreSQL database and its own Redis database.

Node A's database is this test's database (so the test reads it directly); node B's is a
copy of it made with CREATE DATABASE ... TEMPLATE (no migrations to run). `manage.py
network_node` loads the demo data on each and registers the other as a partner with one
shared secret. Then: a checkpoint report breaches a threshold on A, A's worker raises the
signal and a reviewer shares it; it reaches B once (also when A delivers it again), valid,
in B's incoming alerts; B's automatic "received" receipt and its reviewer's triage reach A,
whose signal page shows them; A rotates its key in the middle (old and new overlap, B
installs the new one, A retires the old) and nothing is lost; a replayed message is refused.
Runs on PostgreSQL and Redis, as in CI; skipped otherwise with the reason.
"""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from airlock.models import User
from reviews.models import AlertDelivery, AlertReceipt, DeliveryStatus, SafetySignal
from reviews.monitoring import partners
from reviews.network import alerts, keys, schema, signing
from tests.integration.processes import database_url, wait_for
from tests.needs import missing, require
from tests.s3 import free_port

REDIS_URL = os.environ.get("REDIS_URL", "")
ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "airlock-demo"
REVIEWER = "reviewer@demo.airlock"

pytestmark = pytest.mark.django_db(transaction=True)


def second_redis_url(url: str) -> str:
    """Node B's own Redis database: NETWORK_TEST_REDIS_URL, else the next database number."""
    if os.environ.get("NETWORK_TEST_REDIS_URL"):
        return os.environ["NETWORK_TEST_REDIS_URL"]
    base, _, number = url.rstrip("/").rpartition("/")
    return f"{base}/{(int(number) + 1) % 16 if number.isdigit() else 1}"


class Node:
    def __init__(self, name: str, tmp_path: Path, database: str, redis: str):
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.inbox = f"{self.url}/api/network/inbox/"
        self.logs = tmp_path / name
        self.logs.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in {"STORAGE_URL"}}
        self.env = env | {
            "DATABASE_URL": database,
            "REDIS_URL": redis,
            "CELERY_BROKER_URL": redis,
            "DEBUG": "false",
            "AIRLOCK_REQUIRE_2FA": "false",
            "PRIVATE_STORAGE_ROOT": str(self.logs / "private"),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "SITE_URL": self.url,
            "NETWORK_ISSUER_NAME": f"Airlock {name}",
            # The partner node is on this machine: allowed here, never in production.
            "PARTNER_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
            "PARTNER_WEBHOOK_ALLOW_HTTP": "true",
            "LOG_LEVEL": "WARNING",
        }
        self.processes: list[subprocess.Popen] = []

    def manage(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def start(self) -> None:
        queues = ",".join(django_settings.CELERY_TASK_QUEUES)
        for kind, command in (
            (
                "web",
                [
                    "-m",
                    "gunicorn",
                    "airlock.wsgi:application",
                    f"--bind=127.0.0.1:{self.port}",
                    "--workers=2",
                    "--log-level=warning",
                ],
            ),
            (
                "worker",
                [
                    "-m",
                    "celery",
                    "-A",
                    "airlock",
                    "worker",
                    "--pool=solo",
                    f"--queues={queues}",
                    f"--hostname=node{self.name}-{uuid.uuid4().hex[:6]}@%h",
                    "--loglevel=INFO",
                    "--without-mingle",
                    "--without-gossip",
                ],
            ),
        ):
            log = (self.logs / f"{kind}.log").open("w")
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, *command],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def ready(self) -> bool:
        try:
            answered = requests.get(f"{self.url}/healthz/", timeout=2).status_code == 200
        except requests.RequestException:
            return False
        return answered and "ready." in (self.logs / "worker.log").read_text()

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def sign_in(self) -> requests.Session:
        browser = requests.Session()
        login = f"{self.url}/accounts/login/"
        response = browser.post(
            login,
            data={
                "username": REVIEWER,
                "password": DEMO_PASSWORD,
                "csrfmiddlewaretoken": csrf(browser, login),
            },
            headers={"Referer": login},
            timeout=10,
        )
        assert response.status_code == 200, response.status_code
        assert "Sign out" in response.text, response.text[:300]
        return browser


def csrf(browser: requests.Session, url: str) -> str:
    page = browser.get(url, timeout=10)
    assert page.status_code == 200, (url, page.status_code)
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def post_form(browser: requests.Session, page: str, action: str, data: dict) -> requests.Response:
    response = browser.post(
        action,
        data=data | {"csrfmiddlewaretoken": csrf(browser, page)},
        headers={"Referer": page},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    return response


def finished(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def network(tmp_path):
    require(
        missing(
            vendor=connection.vendor,
            redis_url=REDIS_URL,
            needs_redis=True,
            needs_postgresql=True,
        )
    )
    database_a = database_url()
    name_a = connection.settings_dict["NAME"]
    name_b = f"{name_a}_node_b"
    database_b = database_a.rsplit("/", 1)[0] + f"/{name_b}"
    admin_url = database_a.rsplit("/", 1)[0] + "/postgres"
    # A template may have no other connection while it is copied: close this process's (a
    # mirror alias included) and end any an earlier test's processes left behind.
    connections.close_all()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name_a],
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name_b}"')
        admin.execute(f'CREATE DATABASE "{name_b}" TEMPLATE "{name_a}"')
    node_a = Node("A", tmp_path, database_a, REDIS_URL)
    node_b = Node("B", tmp_path, database_b, second_redis_url(REDIS_URL))
    secret, token_a, token_b = signing.new_secret(), uuid.uuid4().hex, uuid.uuid4().hex
    try:
        setups = [
            node.manage(
                "network_node",
                f"--partner-name=Airlock {other.name}",
                f"--partner-inbox={other.inbox}",
                f"--secret={secret}",
                f"--their-token={theirs}",
                f"--our-token={ours}",
            )
            for node, other, theirs, ours in (
                (node_a, node_b, token_b, token_a),
                (node_b, node_a, token_a, token_b),
            )
        ]
        node_a.setup, node_b.setup = map(finished, setups)
        for node in (node_a, node_b):
            node.start()
        for node in (node_a, node_b):
            # Generous: on a loaded shared machine a cold gunicorn and worker take a while.
            wait_for(node.ready, f"node {node.name} and its worker", 180)
        node_b.their_token, node_b.our_token = token_a, token_b
        yield node_a, node_b
    finally:
        node_a.stop()
        node_b.stop()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name_b}" WITH (FORCE)')


def incoming_on(node: Node, browser: requests.Session) -> str:
    return browser.get(f"{node.url}{reverse('reviews:incoming-alerts')}", timeout=10).text


def test_two_nodes_exchange_an_alert_receipts_versions_and_a_key_rotation(network, settings):
    node_a, node_b = network
    settings.PARTNER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    started = time.monotonic()

    # --- A breach on A: the report goes in by the API, A's worker raises the signal ---------
    case = node_a.setup["case"]
    response = requests.post(
        f"{node_a.url}/api/applications/{case}/checkpoints/2/report/",
        json={"cases_processed": 812, "metrics": {"sensitivity": 0.71, "specificity": 0.9}},
        headers={"Authorization": f"Token {node_a.setup['manufacturer_token']}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    signal = wait_for(
        lambda: (
            SafetySignal.objects.filter(application__reference=case, metric="sensitivity")
            .select_related("checkpoint_report")
            .first()
        ),
        "A's worker to raise the signal",
    )
    assert schema.problems(alerts.alert_message(signal)) == []
    assert alerts.alert_document(signal)["finding"]["sample_size"] == 812

    # --- A's reviewer shares it; it reaches B once, valid, in B's incoming alerts ----------
    reviewer_a = Client()
    reviewer_a.force_login(User.objects.get(email=REVIEWER))
    on_a = requests.Session()
    on_a.cookies.set(
        django_settings.SESSION_COOKIE_NAME,
        reviewer_a.cookies[django_settings.SESSION_COOKIE_NAME].value,
        domain="127.0.0.1",
    )
    signal_page = f"{node_a.url}{reverse('reviews:signal-detail', args=[signal.pk])}"
    post_form(
        on_a, signal_page, f"{node_a.url}{reverse('reviews:signal-share', args=[signal.pk])}", {}
    )
    on_b = node_b.sign_in()
    wait_for(lambda: signal.title in incoming_on(node_b, on_b), "the alert on B")
    first = AlertDelivery.objects.get(signal=signal)
    assert first.status == DeliveryStatus.DELIVERED

    # Delivered again (as after a lost answer): the same webhook-id, stored once on B.
    AlertDelivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.PENDING)
    assert partners.alert_deliver(delivery_id=first.pk).last_status_code == 200
    listing = incoming_on(node_b, on_b)
    assert listing.count(signal.title) == 1
    alert_page = re.search(r'href="(/reviews/alerts/incoming/\d+/)"', listing).group(1)

    # B's automatic "received" receipt reaches A.
    wait_for(
        lambda: AlertReceipt.objects.filter(signal=signal, kind="received").exists(),
        "B's received receipt on A",
    )

    # --- A rotates its key mid-exchange: both secrets sign and verify for the overlap ---------
    partner_b = signal.deliveries.get().partner
    new_secret = keys.secret_rotate(actor=None, partner_id=partner_b.pk).secret

    # B triages (signed with the old secret, which A still accepts); A shows it.
    post_form(
        on_b,
        f"{node_b.url}{alert_page}",
        f"{node_b.url}{alert_page}receipt/",
        {"kind": "triaged", "assessment": "relevant", "note": "Same device on our market."},
    )
    wait_for(
        lambda: AlertReceipt.objects.filter(signal=signal, kind="triaged").exists(),
        "B's triage on A",
    )
    page_a = on_a.get(signal_page, timeout=10).text
    assert "Airlock B" in page_a
    assert "relevant to devices on our market" in page_a

    # A moves the signal on: version 2, signed with both secrets; B holds only the old one.
    post_form(
        on_a,
        signal_page,
        f"{node_a.url}{reverse('reviews:signal-status', args=[signal.pk])}",
        {"status": "investigating", "findings": "", "actions": ""},
    )
    wait_for(lambda: "version 2" in incoming_on(node_b, on_b), "version 2 on B")

    # B installs the new secret, A retires the old: version 3 (a retraction) uses the new only.
    finished(
        node_b.manage(
            "network_node",
            "--no-demo",
            "--partner-name=Airlock A",
            f"--partner-inbox={node_a.inbox}",
            f"--secret={new_secret}",
            f"--their-token={node_b.their_token}",
            f"--our-token={node_b.our_token}",
        )
    )
    assert keys.secrets_retire_older(actor=None, partner_id=partner_b.pk) == 1
    post_form(
        on_a,
        signal_page,
        f"{node_a.url}{reverse('reviews:signal-retract', args=[signal.pk])}",
        {"reason": "The site's data feed was misconfigured."},
    )
    wait_for(lambda: "Retracted" in incoming_on(node_b, on_b), "the retraction on B")

    # B answers before A's worker records the delivery: wait for the record, not only B's page.
    def versions() -> dict:
        return dict(signal.deliveries.values_list("version", "status"))

    delivered = dict.fromkeys((1, 2, 3), DeliveryStatus.DELIVERED)
    wait_for(lambda: versions() == delivered, "A's record of version 3 delivered")
    assert versions() == delivered, versions()

    # --- A replay of A's first message is refused: too old, or already seen ------------------
    body = json.dumps(alerts.alert_message(SafetySignal.objects.get(pk=signal.pk))).encode()
    for timestamp, expected in ((int(time.time()) - 600, 401), (None, 200)):
        headers = signing.signed_headers(
            secret_values=[new_secret],
            message_id=f"airlock-alert-delivery-{first.pk}",
            body=body,
            timestamp=timestamp,
        )
        replay = requests.post(
            node_b.inbox,
            data=body,
            headers=headers
            | {"Content-Type": "application/json", "Authorization": f"Bearer {node_b.their_token}"},
            timeout=10,
        )
        assert replay.status_code == expected, replay.text
    assert incoming_on(node_b, on_b).count(signal.title) == 1
    for node in (node_a, node_b):
        assert all(p.poll() is None for p in node.processes), f"a process of {node.name} stopped"
    print(f"exchange took {time.monotonic() - started:.1f} s")
