"""A worker that dies mid-task: running the task again sends no email twice and creates no row
twice.

Every task acknowledges late and is rejected back to the queue if its worker process is lost
(CELERY_TASK_ACKS_LATE, CELERY_TASK_REJECT_ON_WORKER_LOST), so a message whose worker died is
delivered again; what has to hold is that the rerun is harmless. The scheduled sweeps stamp the
rows they act on in the same transaction as the emails they owe (the checkpoint sweep's outbox,
sent by tasks of its own), and each email's sender locks and stamps its row (a notification, an
owed checkpoint email), so a task that dies before an email went out leaves it unstamped and
the rerun sends it once. (One window remains, documented in
docs/OPERATIONS.md: a process killed after the mail server took an email but before the
transaction committed sends that email again.)

The last test kills a real worker process sending a checkpoint email with SIGKILL on real
Redis; it runs when REDIS_URL is set and the test database is PostgreSQL, which another process
can open (as in CI).
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

import airlock.queue
from airlock.celery import app as celery_app
from devices.models import ApplicationEvent, ApplicationState
from devices.notifications import transition_notify
from devices.services import application_transition
from notifications import services as notifications
from notifications.models import Notification
from notifications.services import notification_emails_send, pending_emails_send
from reviews.models import Checkpoint, CheckpointEmail, TestingPlan
from reviews.monitoring import checkpoint_emails, checkpoint_notices
from reviews.monitoring.checkpoint_emails import (
    checkpoint_emails_send,
    pending_checkpoint_emails_send,
)
from reviews.monitoring.checkpoints import CheckpointSweepResult, checkpoints_sweep
from tests.checkpoint_emails import send_owed_emails
from tests.factories import make_application, make_manufacturer
from tests.needs import missing, require

S = ApplicationState
LONDON = ZoneInfo("Europe/London")
START = date(2026, 6, 1)  # plans start today; the first checkpoint falls due on 29 June
REDIS_URL = os.environ.get("REDIS_URL", "")
ROOT = Path(__file__).resolve().parents[2]


def at(day: date, hour: int = 6, minute: int = 0):
    return time_machine.travel(
        datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON), tick=False
    )


class WorkerLost(Exception):
    """What the rest of a task sees when its process dies: nothing after this point runs."""


def dies(*args, **kwargs):
    raise WorkerLost


@pytest.fixture
def team(organisation, manufacturer):
    return [manufacturer, make_manufacturer(organisation, email="colleague@example.test")]


@pytest.fixture
def case(organisation, team, reviewer):
    with at(START):
        return make_application(
            S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
        )


# --- A sweep dies mid-run --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sweep_that_dies_before_committing_a_step_owes_its_emails_once_on_the_rerun(
    case, team, monkeypatch
):
    # The step stamps its rows, writes the emails it owes, then dies adding the notices.
    monkeypatch.setattr(checkpoint_notices, "record", dies)
    with at(date(2026, 6, 22)), pytest.raises(WorkerLost):
        checkpoints_sweep()
    # The checkpoint was inserted (and committed) before the crash; the reminder's stamp
    # rolled back with the emails owed.
    assert Checkpoint.objects.filter(application=case).count() == 1
    assert not Checkpoint.objects.filter(reminded_7_days_at__isnull=False).exists()
    assert not CheckpointEmail.objects.exists()

    monkeypatch.undo()
    with at(date(2026, 6, 22), minute=5):
        rerun = checkpoints_sweep()
        again = checkpoints_sweep()
    send_owed_emails()

    assert (rerun.created, rerun.reminded_7_days) == (0, 1)
    assert again == CheckpointSweepResult()
    assert sorted(message.to[0] for message in mail.outbox) == sorted(u.email for u in team)
    assert list(Checkpoint.objects.filter(application=case).values_list("sequence", flat=True)) == [
        1
    ]


@pytest.mark.django_db
def test_an_email_task_that_dies_part_way_through_its_batch_sends_the_rest_once_again(
    case, team, reviewer, monkeypatch
):
    with at(date(2026, 6, 22)):
        checkpoints_sweep()
    send_owed_emails()
    mail.outbox.clear()
    # Three days late, the checkpoint goes overdue (the team is owed an email) and is
    # escalated (the reviewer is owed one); the task sending that batch dies at the escalation,
    # after the overdue emails went.
    with at(date(2026, 7, 2)):
        rerun = checkpoints_sweep()
    batch = list(CheckpointEmail.objects.filter(sent_at__isnull=True).values_list("pk", flat=True))
    send = checkpoint_emails.send_templated
    monkeypatch.setattr(
        checkpoint_emails,
        "send_templated",
        lambda name, *args: dies() if name == "checkpoint_escalation" else send(name, *args),
    )
    with at(date(2026, 7, 2), minute=1), pytest.raises(WorkerLost):
        checkpoint_emails_send(email_ids=batch)

    # The message is delivered again (acks late); then the repair sweep finds nothing left.
    monkeypatch.undo()
    with at(date(2026, 7, 2), minute=2):
        redelivered = checkpoint_emails_send(email_ids=batch)
    with at(date(2026, 7, 2), minute=10):
        repaired = pending_checkpoint_emails_send()

    assert (rerun.overdue, rerun.escalated) == (1, 1)
    assert (redelivered, repaired) == (1, 0)
    subjects = [(m.to[0], m.subject) for m in mail.outbox]
    overdue = f"{case.reference}: checkpoint 1 report is overdue"
    escalated = f"{case.reference}: checkpoint 1 report 3 days overdue"
    # Each email is stamped sent in its own transaction, so the ones that went before the
    # crash are not sent again: every address hears once.
    assert subjects.count((reviewer.email, escalated)) == 1
    for member in team:
        assert subjects.count((member.email, overdue)) == 1
    assert len(subjects) == len(team) + 1


# --- A transition email dies mid-send --------------------------------------------------------


@pytest.mark.django_db
def test_a_transition_email_that_died_is_sent_once_by_the_outbox_sweep(
    case, team, reviewer, monkeypatch
):
    with at(START, hour=10):
        application_transition(
            application_id=case.pk, action="suspend", actor=reviewer, reason="Site audit."
        )
    event = ApplicationEvent.objects.get(application=case, transition="suspend")
    key = f"event:{event.pk}"
    monkeypatch.setattr(notifications, "send_templated", dies)
    with at(START, hour=10), pytest.raises(WorkerLost):
        notification_emails_send(key=key)
    assert not Notification.objects.filter(key=key, emailed_at__isnull=False).exists()

    monkeypatch.undo()
    with at(START, hour=10, minute=5):
        sent = pending_emails_send()
        again = pending_emails_send() + notification_emails_send(key=key)

    assert (sent, again) == (len(team), 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in team)


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_transition_email_at_once_send_it_once(
    organisation, team, reviewer, monkeypatch
):
    # Row locks: SQLite serialises whole transactions instead.
    require(missing(vendor=connection.vendor, redis_url=REDIS_URL, needs_postgresql=True))
    application = make_application(S.SCREENING, organisation=organisation, assignee=reviewer)
    event = ApplicationEvent.objects.create(
        application=application,
        actor=None,
        transition="start_screening",
        from_state=S.SUBMITTED,
        to_state=S.SCREENING,
    )
    transition_notify(event)
    key = f"event:{event.pk}"
    send = notifications.send_templated

    def slow_send(*args, **kwargs):
        # Holds the row lock long enough for the other delivery to arrive and wait on it.
        time.sleep(0.5)
        return send(*args, **kwargs)

    monkeypatch.setattr(notifications, "send_templated", slow_send)
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def deliver():
        try:
            barrier.wait(timeout=5)
            sent.append(notification_emails_send(key=key))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    recipients = len(team) + 1  # the team and the assigned reviewer
    assert sum(sent) == recipients
    assert len(mail.outbox) == recipients
    assert not Notification.objects.filter(key=key, emailed_at__isnull=True).exists()


# --- A real worker, killed -------------------------------------------------------------------


def _database_url() -> str:
    """The PostgreSQL test database as another process can reach it."""
    settings = connection.settings_dict
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
    host = f"{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}"
    return f"postgres://{quote(settings['USER'], safe='')}{password}@{host}/{settings['NAME']}"


def _wait_for(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def worker_process(tmp_path):
    """Start tests/integration/killable_worker.py on its own queue; stop it afterwards."""
    require(
        missing(
            vendor=connection.vendor, redis_url=REDIS_URL, needs_redis=True, needs_postgresql=True
        )
    )
    database_url = _database_url()
    queue = f"killed-{uuid.uuid4().hex[:8]}"
    files = {"hang": tmp_path / "hang.pid", "sent": tmp_path / "sent.log"}
    env = os.environ | {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "AIRLOCK_HANG_FILE": str(files["hang"]),
        "AIRLOCK_SENT_LOG": str(files["sent"]),
    }
    conf = celery_app.conf
    saved = conf.broker_url
    conf.broker_url = REDIS_URL
    celery_app._pool = None
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.killable_worker", queue], cwd=ROOT, env=env
    )
    try:
        yield queue, files
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        conf.broker_url = saved
        celery_app._pool = None


@pytest.mark.django_db(transaction=True)
def test_an_email_task_killed_mid_send_is_redelivered_and_sends_once(
    organisation, manufacturer, reviewer, worker_process, monkeypatch
):
    from reviews.tasks import send_checkpoint_emails

    queue, files = worker_process
    case = make_application(S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer)
    # Started 25 days ago: the first checkpoint is 3 days off, inside the 7-day reminder.
    TestingPlan.objects.filter(application=case).update(
        starts_on=timezone.localdate() - timedelta(days=25)
    )
    # The sweep runs here; its own task messages (for the `emails` queue) are not sent, the
    # test sends the batch to the killable worker's queue instead.
    monkeypatch.setattr(airlock.queue, "enqueue", lambda task_name, *args: True)
    checkpoints_sweep()
    [owed] = CheckpointEmail.objects.all()

    send_checkpoint_emails.apply_async(args=[[owed.pk]], queue=queue)
    killed = int(_wait_for(lambda: files["hang"].exists() and files["hang"].read_text(), "hang"))
    os.kill(killed, signal.SIGKILL)
    sent = _wait_for(
        lambda: files["sent"].exists() and files["sent"].read_text().splitlines(),
        "the redelivered task to send the reminder",
    )
    _wait_for(
        lambda: CheckpointEmail.objects.filter(sent_at__isnull=False).exists(),
        "the redelivered task to commit",
    )

    [line] = sent
    pid, name, recipients = line.split(" ")
    assert int(pid) != killed
    assert (name, recipients) == ("checkpoint_reminder", manufacturer.email)
    assert Checkpoint.objects.filter(application=case).count() == 1
    assert checkpoints_sweep() == CheckpointSweepResult()
    assert pending_checkpoint_emails_send() == 0
    assert not mail.outbox
