"""The rules of notifications.services, asked of the functions themselves: who is told once
and who not at all, what each row keeps, when the email is queued, which emails a send or a
sweep picks (the sweep's grace at, below and above its limit; its batch), and whose
notifications are marked read.

test_notifications.py follows notices through the services that raise them; mutation testing
(docs/TESTING.md) changed these rules without it noticing.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from devices.models import ApplicationState
from notifications import services
from notifications.models import Notification, NotificationKind
from notifications.recipients import Recipient
from notifications.services import (
    notification_email_send,
    notification_emails_send,
    notifications_mark_read,
    notify,
    pending_emails_send,
)
from tests.factories import make_application

pytestmark = pytest.mark.django_db

S = ApplicationState
NOW = datetime(2026, 7, 1, 10, tzinfo=ZoneInfo("Europe/London"))
MAILBOX = "team@regulator.example.test"


def person(user, email=None) -> Recipient:
    return Recipient(user.pk, user.email if email is None else email, str(user))


def tell(recipients, *, key="event:1", application=None, **kwargs):
    return notify(
        recipients,
        application=application,
        kind=NotificationKind.MESSAGE,
        key=key,
        title=kwargs.pop("title", "A title"),
        url="/applications/1/",
        **kwargs,
    )


# --- Who is told -----------------------------------------------------------------------------


def test_each_person_and_each_mailbox_is_told_once_and_the_actor_not_at_all(
    manufacturer, reviewer, lead_reviewer
):
    # The same person by another address, and the same mailbox twice, count once; a person
    # with no email (shown in Airlock only) is still one person.
    recipients = [
        person(manufacturer),
        person(reviewer, email=""),
        Recipient(None, MAILBOX, "the reviewers' team"),
        person(manufacturer, email="other@example.test"),
        person(lead_reviewer),
        Recipient(None, MAILBOX, "again"),
        person(reviewer, email=""),
    ]

    told = tell(recipients, exclude=lead_reviewer)

    assert told == [recipients[0], recipients[1], recipients[2]]
    rows = Notification.objects.order_by("pk").values_list("recipient", "email_to")
    assert list(rows) == [(manufacturer.pk, manufacturer.email), (reviewer.pk, ""), (None, MAILBOX)]


def test_without_an_actor_to_leave_out_everyone_is_told(manufacturer, reviewer):
    told = tell([person(manufacturer), person(reviewer)], exclude=None)

    assert [r.user_id for r in told] == [manufacturer.pk, reviewer.pk]


def test_a_rerun_tells_no_one_twice(manufacturer, reviewer):
    tell([person(manufacturer)])

    tell([person(manufacturer), person(reviewer)])

    assert sorted(Notification.objects.values_list("recipient", flat=True)) == sorted(
        [manufacturer.pk, reviewer.pk]
    )


# --- What a notification keeps ---------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_a_notification_keeps_the_event_as_given(manufacturer):
    application = make_application(S.SUBMITTED)

    tell(
        [person(manufacturer)],
        key="event:42",
        application=application,
        title="t" * 201,
        body="What happened.",
    )

    row = Notification.objects.get()
    assert (row.recipient, row.email_to, row.application, row.kind, row.key) == (
        manufacturer,
        manufacturer.email,
        application,
        NotificationKind.MESSAGE,
        "event:42",
    )
    # The title is cut to the column's 200 characters, not refused.
    assert (row.title, row.body, row.url, row.created_at) == (
        "t" * 200,
        "What happened.",
        "/applications/1/",
        NOW,
    )
    assert (row.read_at, row.emailed_at) == (None, None)


def test_the_body_is_empty_unless_given(manufacturer):
    tell([person(manufacturer)])

    assert Notification.objects.get().body == ""


def test_the_email_is_queued_after_commit_only_when_someone_has_an_address(
    manufacturer, reviewer, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("airlock.queue.enqueue", lambda name, *args: queued.append((name, args)))

    with django_capture_on_commit_callbacks(execute=True):
        tell([person(reviewer, email="")], key="event:quiet")
    with django_capture_on_commit_callbacks(execute=True):
        tell([person(reviewer, email=""), person(manufacturer)], key="event:loud")

    assert queued == [("notifications.tasks.send_notification_emails", ("event:loud",))]


# --- Sending the emails ----------------------------------------------------------------------


def test_one_email_goes_once_to_its_address(manufacturer):
    tell([person(manufacturer)], title="Your case moved")
    row = Notification.objects.get()

    with time_machine.travel(NOW, tick=False):
        first = notification_email_send(notification_id=row.pk)
    again = notification_email_send(notification_id=row.pk)
    missing = notification_email_send(notification_id=row.pk + 1)

    assert (first, again, missing) == (1, 0, 0)
    assert [message.to for message in mail.outbox] == [[manufacturer.email]]
    assert "Your case moved" in mail.outbox[0].subject + mail.outbox[0].body
    row.refresh_from_db()
    assert row.emailed_at == NOW


def test_a_notice_shown_in_airlock_only_is_never_emailed(reviewer):
    tell([person(reviewer, email="")])

    assert notification_email_send(notification_id=Notification.objects.get().pk) == 0
    assert notification_emails_send(key="event:1") == 0
    assert mail.outbox == []


def test_an_event_s_emails_go_in_order_and_only_that_event_s(manufacturer, reviewer, lead_reviewer):
    tell([person(manufacturer), person(reviewer)], key="event:7")
    tell([person(lead_reviewer)], key="event:8")

    sent = notification_emails_send(key="event:7")

    assert sent == 2
    assert [message.to for message in mail.outbox] == [[manufacturer.email], [reviewer.email]]
    assert list(
        Notification.objects.filter(emailed_at__isnull=True).values_list("recipient", flat=True)
    ) == [lead_reviewer.pk]


@pytest.mark.parametrize(
    ("age", "swept"),
    [
        (timedelta(minutes=2) - timedelta(seconds=1), False),
        (timedelta(minutes=2), False),
        (timedelta(minutes=2) + timedelta(seconds=1), True),
    ],
)
def test_the_sweep_sends_only_what_is_older_than_its_grace(manufacturer, age, swept):
    assert timedelta(minutes=2) == services.SWEEP_GRACE
    with time_machine.travel(NOW, tick=False):
        tell([person(manufacturer)])

    with time_machine.travel(NOW + age, tick=False):
        sent = pending_emails_send()

    assert sent == (1 if swept else 0)
    assert len(mail.outbox) == sent


def test_the_sweep_sends_the_oldest_first_a_batch_at_a_time(
    manufacturer, reviewer, lead_reviewer, monkeypatch
):
    assert services.SWEEP_BATCH == 500
    monkeypatch.setattr(services, "SWEEP_BATCH", 2)
    # Created newest first in primary-key order: the sweep goes by age, not by key.
    for minutes, user, key in (
        (1, manufacturer, "event:a"),
        (3, reviewer, "event:b"),
        (3, lead_reviewer, "event:c"),
    ):
        with time_machine.travel(NOW - timedelta(minutes=minutes), tick=False):
            tell([person(user)], key=key)

    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        first = pending_emails_send()
        second = pending_emails_send()

    assert (first, second) == (2, 1)
    assert [message.to for message in mail.outbox] == [
        [reviewer.email],
        [lead_reviewer.email],
        [manufacturer.email],
    ]


# --- Marking read ----------------------------------------------------------------------------


def test_only_the_actor_s_own_named_notifications_are_marked_read(manufacturer, reviewer):
    tell([person(manufacturer), person(reviewer)], key="event:1")
    tell([person(manufacturer)], key="event:2")
    tell([person(manufacturer)], key="event:3")
    mine = list(
        Notification.objects.filter(recipient=manufacturer)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    theirs = Notification.objects.get(recipient=reviewer).pk

    with time_machine.travel(NOW, tick=False):
        marked = notifications_mark_read(actor=manufacturer, ids=[mine[0], theirs])
    none = notifications_mark_read(actor=manufacturer, ids=[])
    again = notifications_mark_read(actor=manufacturer, ids=[mine[0]])

    assert (marked, none, again) == (1, 0, 0)
    read = dict(Notification.objects.values_list("pk", "read_at"))
    assert read == {mine[0]: NOW, mine[1]: None, mine[2]: None, theirs: None}
    assert notifications_mark_read(actor=manufacturer) == 2
    assert Notification.objects.get(pk=theirs).read_at is None
