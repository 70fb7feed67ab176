"""A real Celery worker on real Redis: report submission -> evaluation -> signal -> email.

Runs on Redis and PostgreSQL (as in CI); skipped otherwise, with the reason (tests/integration/
needs.py). The worker is a thread of this process writing to the test database beside the test,
which SQLite's in-memory test database cannot take. No eager mode: the web request commits,
the on-commit hook sends the evaluation task to Redis, the worker evaluates the report, raises
the signal, suspends testing, and sends the notification task back through Redis, which the
worker runs to email the assigned reviewer.
"""

import os
import time
from datetime import date

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import connection
from django.urls import reverse

from airlock.celery import app as celery_app
from devices.models import ApplicationEvent, ApplicationState, CheckpointReport
from notifications.models import Notification
from reviews.models import Checkpoint, SafetySignal, SignalSeverity
from tests.factories import make_application
from tests.needs import missing, require

REDIS_URL = os.environ.get("REDIS_URL", "")

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


@pytest.fixture
def redis_worker(settings):
    require(
        missing(
            vendor=connection.vendor, redis_url=REDIS_URL, needs_redis=True, needs_postgresql=True
        )
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options
    conf.broker_url = REDIS_URL
    conf.broker_transport_options = {"socket_connect_timeout": 2, "max_retries": 0}
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    # Messages other tests sent without a worker would otherwise run here.
    celery_app.control.purge()
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10
    ) as worker:
        yield worker
    conf.broker_url, conf.broker_transport_options = saved
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_a_critical_breach_travels_through_redis_to_the_reviewers_inbox(
    client, organisation, manufacturer, reviewer, redis_worker
):
    case = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    Checkpoint.objects.create(application=case, sequence=1, due_on=date.today())
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:checkpoint-report", args=[case.pk, 1]),
        {"cases_processed": "800", "metric_sensitivity": "0.72", "incidents_count": "0"},
    )

    assert response.status_code == 302
    report = CheckpointReport.objects.get()
    signal = wait_for(lambda: SafetySignal.objects.filter(checkpoint_report=report).first())
    assert signal.severity == SignalSeverity.CRITICAL
    email = wait_for(
        lambda: next((m for m in mail.outbox if m.subject.startswith("Critical safety")), None)
    )
    assert email.to == [reviewer.email]
    assert signal.title in email.subject
    assert "Controlled testing is now suspended." in email.body
    report.refresh_from_db()
    assert report.evaluated_at is not None
    case.refresh_from_db()
    assert case.state == ApplicationState.SUSPENDED
    suspension = ApplicationEvent.objects.get(application=case, transition="suspend")
    assert suspension.actor is None
    # The worker stamps the row as it commits, just after the email went.
    notice = wait_for(
        lambda: Notification.objects.filter(
            key=f"signal:{signal.pk}", emailed_at__isnull=False
        ).first()
    )
    assert notice.recipient == reviewer
