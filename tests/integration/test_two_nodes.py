"""Airlock on two machines' worth of processes: two web nodes (gunicorn, two loopback ports) and
two Celery workers, sharing one PostgreSQL database, one Redis and one S3 bucket (moto's
server over HTTP). Nothing is shared through a local disk or a process's memory:

- a manufacturer uploads evidence on node 1, and a reviewer downloads the same bytes on node 2;
- a reviewer starts screening on node 2, and node 1 shows the new state at once, queue
  included (its page cache lives in Redis);
- the notification that transition sends is run by a worker, and the worker's log lines carry
  the request id of the click on node 2 and the case reference;
- a checkpoint sweep sent once is run by exactly one of the two workers, and its reminders go
  out once; sent again while both workers are free, it repeats nothing.

The nodes and workers use Django's connection pool (DATABASE_POOL). Runs on PostgreSQL and
Redis, with moto installed (as in CI); skipped otherwise with the reason.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from airlock.celery import app as celery_app
from devices.models import Application, ApplicationState, EvidenceDocument
from reviews.models import Checkpoint, TestingPlan
from tests.factories import ApplicationFactory, make_application, make_manufacturer
from tests.integration.processes import database_url, wait_for
from tests.needs import missing, require
from tests.s3 import CREDENTIALS, free_port

REDIS_URL = os.environ.get("REDIS_URL", "")
ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.7\n" + os.urandom(300_000).hex().encode() + b"\n%%EOF\n"

pytestmark = pytest.mark.django_db(transaction=True)


class Stack:
    def __init__(self, tmp_path: Path, env: dict):
        self.tmp_path, self.env, self.processes = tmp_path, env, []

    def start(self, name: str, command: list[str]) -> Path:
        log = self.tmp_path / f"{name}.log"
        self.processes.append(
            subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT
            )
        )
        return log

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def check_alive(self) -> None:
        for process in self.processes:
            assert process.poll() is None, f"{process.args} stopped ({process.returncode})"


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def stack(tmp_path, s3_server):
    require(
        missing(
            vendor=connection.vendor,
            redis_url=REDIS_URL,
            needs_redis=True,
            needs_postgresql=True,
            needs_s3=True,
        )
    )
    bucket = s3_server.new_bucket()
    mail = tmp_path / "mail"
    mail.mkdir()
    env = (
        os.environ
        | CREDENTIALS
        | {
            "DATABASE_URL": database_url(),
            # Each node and worker process keeps its connections in Django's native pool.
            "DATABASE_POOL": "on",
            "DATABASE_POOL_MAX_SIZE": "4",
            "REDIS_URL": REDIS_URL,
            "CELERY_BROKER_URL": REDIS_URL,
            "STORAGE_URL": s3_server.storage_url(bucket),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail),
            "DEBUG": "false",
            "AIRLOCK_REQUIRE_2FA": "false",
            "LOG_FORMAT": "json",
            "LOG_REQUESTS": "on",
            "LOG_LEVEL": "INFO",
        }
    )
    # Point this process's Celery at the same Redis, and drop whatever earlier tests left on
    # the queues, so the workers run only what this test sends.
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options
    conf.broker_url = REDIS_URL
    conf.broker_transport_options = {"socket_connect_timeout": 2, "max_retries": 0}
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.control.purge()
    running = Stack(tmp_path, env)
    ports = [free_port(), free_port()]
    queues = ",".join(django_settings.CELERY_TASK_QUEUES)
    try:
        for node, port in enumerate(ports, start=1):
            running.start(
                f"web-{node}",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "airlock.wsgi:application",
                    f"--bind=127.0.0.1:{port}",
                    "--workers=2",
                    "--log-level=warning",
                ],
            )
        workers = [
            running.start(
                f"worker-{node}",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "airlock",
                    "worker",
                    f"--hostname=node{node}-{uuid.uuid4().hex[:6]}@%h",
                    "--pool=solo",
                    f"--queues={queues}",
                    "--loglevel=INFO",
                    "--without-mingle",
                    "--without-gossip",
                ],
            )
            for node in (1, 2)
        ]
        nodes = [f"http://127.0.0.1:{port}" for port in ports]
        for node in nodes:
            wait_for(lambda node=node: _answers(f"{node}/healthz/"), f"{node} to answer", 60)
        # A worker is ready once it has joined the queues: ping each one by name.
        wait_for(
            lambda: len(celery_app.control.ping(timeout=0.5)) == 2, "both workers to answer", 60
        )
        running.nodes, running.workers, running.mail = nodes, workers, mail
        running.bucket, running.s3 = bucket, s3_server.client()
        yield running
    finally:
        running.stop()
        conf.broker_url, conf.broker_transport_options = saved
        celery_app._pool = None
        celery_app.amqp._producer_pool = None


def session_for(user) -> requests.Session:
    """A browser signed in as `user`: the session lives in the shared database, so it is good
    on either node."""
    client = Client()
    client.force_login(user)
    browser = requests.Session()
    browser.cookies.set(
        django_settings.SESSION_COOKIE_NAME,
        client.cookies[django_settings.SESSION_COOKIE_NAME].value,
        domain="127.0.0.1",
    )
    return browser


def csrf_token(browser: requests.Session, url: str) -> str:
    page = browser.get(url, timeout=10)
    assert page.status_code == 200, page.status_code
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def json_lines(log: Path) -> list[dict]:
    lines = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def mail_about(mail: Path, reference: str) -> list[str]:
    """Every email the nodes sent that mentions `reference` (Django's file backend writes each
    connection's messages to a file, separated by a line of dashes)."""
    messages = []
    for batch in mail.iterdir():
        messages += [m for m in batch.read_text().split("-" * 79) if reference in m]
    return messages


def sweeps_run(log: Path) -> int:
    return len(re.findall(r"sweep_checkpoints\[[^\]]+\] succeeded", log.read_text()))


def test_two_web_nodes_and_two_workers_share_everything_that_matters(
    stack, organisation, manufacturer, reviewer
):
    node_1, node_2 = stack.nodes
    maker, checker = session_for(manufacturer), session_for(reviewer)

    # --- Evidence uploaded on node 1 is downloaded, byte for byte, from node 2 ---------------
    # Submitted: the regulator sees a case's evidence only from then on.
    submitted = ApplicationFactory(organisation=organisation, created_by=manufacturer)
    Application.objects.filter(pk=submitted.pk).update(
        state=ApplicationState.SUBMITTED, submitted_at=timezone.now()
    )
    upload_page = f"{node_1}{reverse('devices:evidence-upload', args=[submitted.pk])}"
    response = maker.post(
        upload_page,
        data={"csrfmiddlewaretoken": csrf_token(maker, upload_page), "kind": "risk_management"},
        files={"file": ("risk file.pdf", PDF, "application/pdf")},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:500]
    document = EvidenceDocument.objects.get(application=submitted)
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert stack.s3.head_object(Bucket=stack.bucket, Key=document.file.name)[
        "ContentLength"
    ] == len(PDF)

    download = checker.get(
        f"{node_2}{reverse('devices:evidence-download', args=[document.pk])}", timeout=30
    )
    assert download.status_code == 200
    assert download.content == PDF
    assert "risk file.pdf" in download.headers["Content-Disposition"]

    # --- A transition on node 2 is seen on node 1 ---------------------------------------------
    colleague = make_manufacturer(organisation, email="colleague@example.test")
    case = make_application(ApplicationState.SUBMITTED, organisation=organisation)
    queue_url = f"{node_1}{reverse('reviews:queue')}?state=screening"
    assert case.reference not in checker.get(queue_url, timeout=10).text  # cached on node 1
    case_page = f"{node_2}{reverse('reviews:application', args=[case.pk])}"
    click = f"multinode-{uuid.uuid4().hex}"
    response = checker.post(
        f"{node_2}{reverse('reviews:transition', args=[case.pk, 'start_screening'])}",
        data={"csrfmiddlewaretoken": csrf_token(checker, case_page), "expected_state": "submitted"},
        headers={"X-Request-ID": click},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    assert response.headers["X-Request-ID"] == click
    on_node_1 = checker.get(f"{node_1}{reverse('reviews:application', args=[case.pk])}").text
    assert ApplicationState.SCREENING.label in on_node_1
    assert case.reference in checker.get(queue_url, timeout=10).text

    # The state-change email goes through Redis to a worker; its log follows the click.
    told = wait_for(lambda: mail_about(stack.mail, case.reference), "the state-change email")
    assert any(colleague.email in message for message in told)
    worker_lines = [line for log in stack.workers for line in json_lines(log)]
    followed = [line for line in worker_lines if line.get("request_id") == click]
    assert followed, f"no worker line carries request id {click}"
    assert all(line["case"] == case.reference for line in followed)
    assert all(line["task_id"] for line in followed)

    # --- A checkpoint sweep is run by one worker, once ----------------------------------------
    testing = make_application(ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation)
    # Started 25 days ago: the first checkpoint is 3 days off, inside the 7-day reminder.
    TestingPlan.objects.filter(application=testing).update(
        starts_on=timezone.localdate() - timedelta(days=25)
    )
    celery_app.send_task("reviews.tasks.sweep_checkpoints")
    wait_for(lambda: sum(map(sweeps_run, stack.workers)) == 1, "the sweep")
    assert sorted(map(sweeps_run, stack.workers)) == [0, 1]
    reminders = mail_about(stack.mail, testing.reference)
    for member in (manufacturer, colleague):
        assert sum(member.email in message for message in reminders) == 1
    assert Checkpoint.objects.get(application=testing).reminded_7_days_at is not None

    # Sent twice more at once, one for each worker: nothing is made or sent again.
    celery_app.send_task("reviews.tasks.sweep_checkpoints")
    celery_app.send_task("reviews.tasks.sweep_checkpoints")
    wait_for(lambda: sum(map(sweeps_run, stack.workers)) == 3, "both sweeps to finish")
    stack.check_alive()
    assert Checkpoint.objects.filter(application=testing).count() == 1
    assert mail_about(stack.mail, testing.reference) == reminders
