"""The checkpoint sweep's emails go through an outbox: written in the sweep's transaction, sent
once by tasks on the `emails` queue, and by the repair sweep when a task's message was lost."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.db.utils import IntegrityError
from django.test.utils import CaptureQueriesContext

import airlock.queue
from airlock.roles import Role
from devices.models import ApplicationState
from reviews.models import Checkpoint, CheckpointEmail, CheckpointEmailKind, ConflictOfInterest
from reviews.monitoring import checkpoint_emails, checkpoint_notices
from reviews.monitoring.checkpoint_emails import (
    checkpoint_email_send,
    checkpoint_emails_send,
    pending_checkpoint_emails_send,
)
from reviews.monitoring.checkpoints import checkpoints_sweep
from tests.checkpoint_emails import send_owed_emails
from tests.factories import UserFactory, make_application, make_manufacturer

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
START = date(2026, 6, 1)  # plans start today; the first checkpoint falls due on 29 June


def at(day: date, hour: int = 6, minute: int = 0):
    return time_machine.travel(
        datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON), tick=False
    )


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(
        airlock.queue, "enqueue", lambda task_name, *args: sent.append((task_name, args)) or True
    )
    return sent


@pytest.fixture
def case(organisation, manufacturer, reviewer):
    with at(START):
        return make_application(
            ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
        )


def test_the_sweep_owes_emails_and_sends_none_itself(
    case, manufacturer, reviewer, queued, django_capture_on_commit_callbacks
):
    with at(date(2026, 7, 2)), django_capture_on_commit_callbacks(execute=True):
        result = checkpoints_sweep()

    assert (result.overdue, result.escalated) == (1, 1)
    assert mail.outbox == []
    owed = CheckpointEmail.objects.order_by("kind")
    assert [(e.kind, e.email_to, e.total) for e in owed] == [
        (CheckpointEmailKind.ESCALATED, reviewer.email, 1),
        (CheckpointEmailKind.OVERDUE, manufacturer.email, 1),
    ]
    checkpoint = Checkpoint.objects.get(application=case)
    assert all(e.checkpoint_ids == [checkpoint.pk] for e in owed)
    assert all(e.stamped_at == checkpoint.overdue_at for e in owed)
    # After commit, tasks carrying the outbox ids (one message per step's batch).
    assert sorted(queued) == [
        ("reviews.tasks.send_checkpoint_emails", ([email.pk],)) for email in owed.order_by("pk")
    ]


def test_each_owed_email_is_sent_once_however_often_its_task_runs(case, manufacturer, reviewer):
    with at(date(2026, 7, 2)):
        checkpoints_sweep()
    ids = list(CheckpointEmail.objects.values_list("pk", flat=True))

    with at(date(2026, 7, 2), minute=1):
        first = checkpoint_emails_send(email_ids=ids)
        again = checkpoint_emails_send(email_ids=ids) + checkpoint_email_send(email_id=ids[0])

    assert (first, again) == (2, 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([manufacturer.email, reviewer.email])
    assert not CheckpointEmail.objects.filter(sent_at__isnull=True).exists()


def test_the_repair_sweep_sends_what_a_lost_message_left_after_a_grace(case, manufacturer):
    with at(date(2026, 6, 22)):
        checkpoints_sweep()  # the task's message is lost: nothing runs it
        early = pending_checkpoint_emails_send()
    with at(date(2026, 6, 22), minute=5):
        swept = pending_checkpoint_emails_send()
        again = pending_checkpoint_emails_send()

    assert (early, swept, again) == (0, 1, 0)
    [email] = mail.outbox
    assert email.to == [manufacturer.email]
    assert email.subject == f"{case.reference}: checkpoint 1 report due in 7 days"


def test_the_email_counts_its_days_from_the_run_not_from_when_it_is_sent(case, manufacturer):
    with at(date(2026, 6, 22)):
        checkpoints_sweep()
    # The broker was down all day: the repair sweep sends it the next morning.
    with at(date(2026, 6, 23)):
        pending_checkpoint_emails_send()

    [email] = mail.outbox
    assert email.subject == f"{case.reference}: checkpoint 1 report due in 7 days"


def test_a_sweep_that_fails_after_stamping_owes_nothing_and_its_rerun_owes_once(
    case, manufacturer, monkeypatch
):
    def dies(*args):
        raise RuntimeError("the notification insert failed")

    monkeypatch.setattr(checkpoint_notices, "record", dies)
    with at(date(2026, 6, 22)), pytest.raises(RuntimeError):
        checkpoints_sweep()
    # The stamps and the owed email went in one transaction, and went together.
    assert not CheckpointEmail.objects.exists()
    assert not Checkpoint.objects.filter(reminded_7_days_at__isnull=False).exists()

    monkeypatch.undo()
    with at(date(2026, 6, 22), minute=5):
        checkpoints_sweep()
        checkpoints_sweep()
    send_owed_emails()

    assert CheckpointEmail.objects.count() == 1
    assert [m.to for m in mail.outbox] == [[manufacturer.email]]


def test_a_run_owes_an_address_each_kind_of_email_once(case, manufacturer):
    with at(date(2026, 6, 22)):
        checkpoints_sweep()
    email = CheckpointEmail.objects.get()

    with pytest.raises(IntegrityError):
        CheckpointEmail.objects.create(
            kind=email.kind,
            email_to=email.email_to,
            stamped_at=email.stamped_at,
            checkpoint_ids=[],
            total=0,
        )


def test_a_lead_reviewer_for_two_organisations_gets_one_email_listing_both(
    organisation, lead_reviewer
):
    other = make_manufacturer().membership.organisation
    conflicted = UserFactory(role=Role.LEAD_REVIEWER, email="conflicted@example.test")
    ConflictOfInterest.objects.create(reviewer=conflicted, organisation=other, reason="Adviser.")
    with at(START):
        first = make_application(ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation)
        second = make_application(ApplicationState.IN_CONTROLLED_TESTING, organisation=other)
    with at(date(2026, 7, 2)):
        checkpoints_sweep()
    send_owed_emails()

    # The two cases have different lead reviewers (one is conflicted with the second's
    # organisation); each lead still hears once, about the cases that are theirs.
    [both] = [m for m in mail.outbox if m.to == [lead_reviewer.email]]
    [one] = [m for m in mail.outbox if m.to == [conflicted.email]]
    assert both.subject == "2 checkpoint reports overdue"
    assert f"- {first.reference}" in both.body
    assert f"- {second.reference}" in both.body
    assert f"- {first.reference}" in one.body
    assert second.reference not in one.body


def test_sending_costs_the_same_queries_per_email_however_many_it_lists(
    organisation, manufacturer, reviewer
):
    def queries_to_send():
        with CaptureQueriesContext(connection) as queries:
            assert send_owed_emails() == 2
        return len(queries)

    with at(START):
        make_application(
            ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
        )
    with at(date(2026, 7, 2)):
        checkpoints_sweep()
    one = queries_to_send()
    with at(date(2026, 7, 1)):
        for _ in range(6):
            make_application(
                ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
            )
    with at(date(2026, 8, 2)):
        checkpoints_sweep()
    seven = queries_to_send()

    assert seven == one
    assert max(e.total for e in CheckpointEmail.objects.all()) == 7


def test_the_owed_emails_go_to_the_queue_a_batch_of_ids_per_message(
    organisation, queued, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(checkpoint_emails, "IDS_PER_TASK", 2)
    for n in range(5):
        make_manufacturer(organisation, email=f"member{n}@example.test")
    with at(START):
        make_application(ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation)
    with at(date(2026, 6, 22)), django_capture_on_commit_callbacks(execute=True):
        checkpoints_sweep()

    owed = sorted(CheckpointEmail.objects.values_list("pk", flat=True))
    assert len(owed) == 5  # one per member of the team
    assert queued == [
        ("reviews.tasks.send_checkpoint_emails", (owed[0:2],)),
        ("reviews.tasks.send_checkpoint_emails", (owed[2:4],)),
        ("reviews.tasks.send_checkpoint_emails", (owed[4:5],)),
    ]
