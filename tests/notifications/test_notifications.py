"""Every message reaches someone: one notification per person per event, shown in their
notification centre and emailed (the row is the email's outbox)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from airlock.roles import Role
from devices.models import ApplicationState
from devices.services import TransitionRefused, application_transition, message_post
from notifications.models import Notification, NotificationKind
from notifications.recipients import Recipient
from notifications.services import notification_emails_send, notify, pending_emails_send
from reviews.models import ConflictOfInterest
from reviews.monitoring.checkpoints import checkpoints_sweep
from tests.factories import UserFactory, make_application, make_manufacturer

pytestmark = pytest.mark.django_db

S = ApplicationState
LONDON = ZoneInfo("Europe/London")


def told(**filters) -> list[int | None]:
    return sorted(
        Notification.objects.filter(**filters).values_list("recipient", flat=True),
        key=lambda pk: pk or 0,
    )


# --- Messages reach the other side ---------------------------------------------------------


def test_a_message_from_the_manufacturer_reaches_the_assigned_reviewer(
    manufacturer, organisation, reviewer, lead_reviewer
):
    application = make_application(S.SCREENING, organisation=organisation, assignee=reviewer)

    sent = message_post(application=application, author=manufacturer, body="Any news?")
    notification_emails_send(key=f"message:{sent.message.pk}")

    assert told(kind=NotificationKind.MESSAGE) == [reviewer.pk]
    assert sent.told == f"Your reviewer, {reviewer}, has been told."
    [email] = mail.outbox
    assert email.to == [reviewer.email]
    assert email.subject == f"{application.reference}: new message from the manufacturer"
    assert "Any news?" not in email.body  # the words stay behind sign-in
    assert reverse("reviews:application", args=[application.pk]) in email.body


def test_with_nobody_assigned_every_unconflicted_lead_reviewer_hears(
    manufacturer, organisation, reviewer, lead_reviewer
):
    conflicted = UserFactory(role=Role.LEAD_REVIEWER)
    ConflictOfInterest.objects.create(
        reviewer=conflicted, organisation=organisation, reason="Former employer."
    )
    application = make_application(S.SUBMITTED, organisation=organisation)

    sent = message_post(application=application, author=manufacturer, body="Hello?")

    assert told(kind=NotificationKind.MESSAGE) == [lead_reviewer.pk]
    assert "lead reviewers have been told" in sent.told


def test_with_a_team_address_the_mailbox_is_emailed_and_the_leads_see_it_in_airlock(
    manufacturer, organisation, lead_reviewer, settings
):
    settings.REVIEW_TEAM_EMAIL = "reviews-team@regulator.example"
    application = make_application(S.SUBMITTED, organisation=organisation)

    sent = message_post(application=application, author=manufacturer, body="Hello?")
    notification_emails_send(key=f"message:{sent.message.pk}")

    rows = Notification.objects.order_by("pk").values_list("recipient", "email_to")
    assert list(rows) == [(lead_reviewer.pk, ""), (None, "reviews-team@regulator.example")]
    assert [m.to for m in mail.outbox] == [["reviews-team@regulator.example"]]
    assert "review team has been told" in sent.told


def test_a_message_from_the_regulator_reaches_the_manufacturer_s_team_not_the_sender(
    manufacturer, organisation, reviewer
):
    colleague = make_manufacturer(organisation, email="colleague@example.test")
    application = make_application(S.SCREENING, organisation=organisation, assignee=reviewer)

    sent = message_post(application=application, author=reviewer, body="Call us.")

    assert told(kind=NotificationKind.MESSAGE) == sorted([manufacturer.pk, colleague.pk])
    assert sent.told == "The manufacturer's team (2 people) has been told."


def test_the_sender_sees_who_was_told(client, manufacturer, organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation, assignee=reviewer)
    client.force_login(manufacturer)

    page = client.post(
        reverse("devices:message-create", args=[application.pk]),
        {"body": "When is the next step?"},
        follow=True,
    ).content.decode()
    partial = client.post(
        reverse("devices:message-create", args=[application.pk]),
        {"body": "And another thing."},
        headers={"HX-Request": "true"},
    ).content.decode()

    assert f"Message sent. Your reviewer, {reviewer}, has been told." in page
    assert f"Message sent. Your reviewer, {reviewer}, has been told." in partial


def test_a_message_on_a_draft_stays_with_the_team_until_it_is_submitted(
    manufacturer, organisation, reviewer, lead_reviewer
):
    # The regulator cannot open a draft, so a notice would only leak its reference and title.
    colleague = make_manufacturer(organisation, email="colleague@example.test")
    application = make_application(S.DRAFT, organisation=organisation, created_by=manufacturer)

    sent = message_post(application=application, author=manufacturer, body="Draft thoughts")

    assert told(kind=NotificationKind.MESSAGE) == []
    assert sent.told == "The regulator will see it once the application is submitted."
    assert not Notification.objects.exclude(recipient=colleague).exists()


def test_a_draft_withdrawn_unsent_is_news_to_no_one_at_the_regulator(
    manufacturer, organisation, lead_reviewer
):
    colleague = make_manufacturer(organisation, email="colleague@example.test")
    application = make_application(S.DRAFT, organisation=organisation, created_by=manufacturer)

    application_transition(
        application_id=application.pk, action="withdraw", actor=manufacturer, reason="Not ready."
    )

    assert told() == [colleague.pk]


# --- State changes ---------------------------------------------------------------------------


def test_a_submission_nobody_has_picked_up_reaches_the_lead_reviewers(
    manufacturer, organisation, lead_reviewer
):
    application = make_application(S.DRAFT, organisation=organisation, created_by=manufacturer)

    application_transition(application_id=application.pk, action="submit", actor=manufacturer)

    assert told(kind=NotificationKind.TRANSITION) == [lead_reviewer.pk]
    notice = Notification.objects.get()
    assert notice.title == f"{application.reference}: now submitted"


def test_a_reviewer_s_change_reaches_the_team_and_the_assignee_but_not_every_lead(
    manufacturer, organisation, reviewer, lead_reviewer
):
    application = make_application(S.SUBMITTED, organisation=organisation, assignee=reviewer)

    application_transition(application_id=application.pk, action="start_screening", actor=reviewer)

    assert told(kind=NotificationKind.TRANSITION) == [manufacturer.pk]
    assert Notification.objects.get().title == f"{application.reference}: now being screened"


def test_information_requests_and_responses_have_their_own_notices(
    manufacturer, organisation, reviewer
):
    from devices.services import information_respond
    from reviews.services import information_request_create

    application = make_application(S.SCREENING, organisation=organisation, assignee=reviewer)
    information_request_create(
        application_id=application.pk,
        actor=reviewer,
        questions="Which sites?",
        due_on=timezone.localdate() + timedelta(days=10),
    )
    information_respond(application_id=application.pk, actor=manufacturer, response="Leeds.")

    assert told(kind=NotificationKind.INFORMATION_REQUESTED) == [manufacturer.pk]
    assert told(kind=NotificationKind.INFORMATION_PROVIDED) == [reviewer.pk]


def test_nothing_is_told_when_the_change_is_refused(manufacturer, organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation, assignee=reviewer)

    with pytest.raises(TransitionRefused):
        application_transition(application_id=application.pk, action="suspend", actor=reviewer)

    assert not Notification.objects.exists()


# --- The outbox -----------------------------------------------------------------------------


def _notify(application, people, key="event:test"):
    return notify(
        [Recipient(person.pk, person.email, str(person)) for person in people],
        application=application,
        kind=NotificationKind.TRANSITION,
        key=key,
        title="Something happened",
        url="/",
    )


def test_the_same_event_is_never_told_to_the_same_person_twice(manufacturer, reviewer):
    application = make_application(S.SCREENING)

    _notify(application, [manufacturer, reviewer, manufacturer])
    _notify(application, [manufacturer])

    assert Notification.objects.count() == 2


def test_each_email_goes_once_and_the_sweep_sends_what_a_lost_message_left(manufacturer, reviewer):
    application = make_application(S.SCREENING)
    now = datetime(2026, 7, 1, 10, tzinfo=LONDON)
    with time_machine.travel(now, tick=False):
        _notify(application, [manufacturer, reviewer])
        early = pending_emails_send()
    with time_machine.travel(now + timedelta(minutes=5), tick=False):
        swept = pending_emails_send()
        again = pending_emails_send() + notification_emails_send(key="event:test")

    assert (early, swept, again) == (0, 2, 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([manufacturer.email, reviewer.email])


# --- The notification centre ----------------------------------------------------------------


def test_the_header_counts_unread_and_the_list_shows_only_one_s_own(
    client, manufacturer, reviewer, django_assert_max_num_queries
):
    application = make_application(S.SCREENING)
    for n in range(3):
        _notify(application, [manufacturer], key=f"event:{n}")
    _notify(application, [reviewer], key="event:theirs")
    Notification.objects.filter(key="event:0").update(read_at=timezone.now())
    client.force_login(manufacturer)
    client.get(reverse("notifications:list"))

    # Session, user, the page's count and rows, and the header's unread count (shown twice,
    # counted once): a fixed number, however many notifications.
    with django_assert_max_num_queries(7):
        response = client.get(reverse("notifications:list"))

    page = response.content.decode()
    assert '2<span class="govuk-visually-hidden"> unread</span>' in page
    assert len(response.context["page"].object_list) == 3
    unread = client.get(reverse("notifications:list"), {"show": "unread"})
    assert len(unread.context["page"].object_list) == 2


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(client, manufacturer):
    application = make_application(S.SCREENING)
    _notify(application, [manufacturer])
    notice = Notification.objects.get()
    client.force_login(manufacturer)

    response = client.get(reverse("notifications:open", args=[notice.pk]))

    assert response.url == "/"
    notice.refresh_from_db()
    assert notice.read_at is not None


def test_mark_as_read_one_or_all(client, manufacturer):
    application = make_application(S.SCREENING)
    for n in range(3):
        _notify(application, [manufacturer], key=f"event:{n}")
    first = Notification.objects.order_by("pk").first()
    client.force_login(manufacturer)

    client.post(reverse("notifications:read", args=[first.pk]))
    assert Notification.objects.filter(read_at__isnull=True).count() == 2
    response = client.post(reverse("notifications:read-all"), follow=True)

    assert not Notification.objects.filter(read_at__isnull=True).exists()
    assert "Marked 2 notifications as read." in response.content.decode()


def test_someone_else_s_notification_is_not_found_nor_marked(client, manufacturer, reviewer):
    application = make_application(S.SCREENING)
    _notify(application, [reviewer])
    theirs = Notification.objects.get()
    client.force_login(manufacturer)

    assert client.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    client.post(reverse("notifications:read-all"))
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_notification_never_sends_anyone_off_the_site(client, manufacturer):
    application = make_application(S.SCREENING)
    _notify(application, [manufacturer])
    Notification.objects.update(url="//evil.example/")
    client.force_login(manufacturer)

    response = client.get(reverse("notifications:open", args=[Notification.objects.get().pk]))

    assert response.status_code == 404


def test_the_centre_needs_signing_in(client):
    response = client.get(reverse("notifications:list"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- The checkpoint sweep, set-based ---------------------------------------------------------


def _at(day: date, hour: int = 6):
    return time_machine.travel(
        datetime(day.year, day.month, day.day, hour, tzinfo=LONDON), tick=False
    )


def test_the_checkpoint_sweep_tells_each_person_about_each_checkpoint_once(
    organisation, manufacturer, reviewer, lead_reviewer
):
    colleague = make_manufacturer(organisation, email="colleague@example.test")
    with _at(date(2026, 6, 1)):
        assigned = make_application(
            S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
        )
        unassigned = make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)
    with _at(date(2026, 7, 3)):  # checkpoint 1 (due 29 June) is 4 days late
        result = checkpoints_sweep()
        again = checkpoints_sweep()

    assert (result.overdue, result.escalated) == (2, 2)
    assert (again.overdue, again.escalated) == (0, 0)
    overdue = Notification.objects.filter(kind=NotificationKind.CHECKPOINT_OVERDUE)
    assert overdue.count() == 4  # two people, two cases
    assert set(overdue.values_list("recipient", flat=True)) == {manufacturer.pk, colleague.pk}
    notice = overdue.filter(application=assigned).first()
    assert notice.title == f"{assigned.reference}: checkpoint 1 report is overdue"
    assert "was due on 29 June 2026 and has not arrived" in notice.body
    assert notice.url == reverse("devices:checkpoint-report", args=[assigned.pk, 1])
    # The sweep's own email told them, in the same transaction.
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()
    escalated = Notification.objects.filter(kind=NotificationKind.CHECKPOINT_ESCALATED)
    assert list(escalated.filter(application=assigned).values_list("recipient", flat=True)) == [
        reviewer.pk
    ]
    assert list(escalated.filter(application=unassigned).values_list("recipient", flat=True)) == [
        lead_reviewer.pk
    ]
    assert escalated.filter(application=assigned).get().url == reverse(
        "reviews:performance", args=[assigned.pk]
    )


def test_a_catch_up_tells_each_person_once_per_case_how_many_are_overdue(
    organisation, manufacturer, reviewer
):
    with _at(date(2026, 6, 1)):
        case = make_application(
            S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
        )
    # The first run in weeks: 29 June and 27 July both overdue (and escalated) at once.
    with _at(date(2026, 8, 12)):
        result = checkpoints_sweep()

    assert (result.overdue, result.escalated) == (2, 2)
    [overdue] = Notification.objects.filter(kind=NotificationKind.CHECKPOINT_OVERDUE)
    assert overdue.recipient == manufacturer
    assert overdue.title == f"{case.reference}: 2 checkpoint reports are overdue"
    assert overdue.body == (
        f"2 checkpoint reports of {case.reference} are overdue, the first due on 29 June 2026, "
        "and have not arrived. A report still missing three days after its due date is passed "
        "to your reviewer."
    )
    assert overdue.url == reverse("devices:checkpoint-report", args=[case.pk, 1])
    [escalated] = Notification.objects.filter(kind=NotificationKind.CHECKPOINT_ESCALATED)
    assert escalated.recipient == reviewer
    assert escalated.title == f"{case.reference}: 2 checkpoint reports are overdue (escalated)"
    assert "and the manufacturer has not sent them." in escalated.body
    # Keyed by the first checkpoint: the next run, finding nothing new, tells no one again.
    first = case.checkpoints.get(sequence=1)
    assert overdue.key == f"checkpoint:{first.pk}:overdue"
    with _at(date(2026, 8, 13)):
        checkpoints_sweep()
    assert Notification.objects.filter(kind=NotificationKind.CHECKPOINT_OVERDUE).count() == 1


def test_due_soon_reminders_reach_the_notification_centre_too(organisation, manufacturer):
    with _at(date(2026, 6, 1)):
        application = make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)
    with _at(date(2026, 6, 23)):
        checkpoints_sweep()

    notice = Notification.objects.get(kind=NotificationKind.CHECKPOINT_DUE)
    assert notice.recipient == manufacturer
    assert notice.title == f"{application.reference}: checkpoint 1 report due within a week"
    assert "is due on 29 June 2026" in notice.body


def test_the_sweep_s_notices_cost_the_same_statements_however_many_cases(
    organisation, manufacturer
):
    with _at(date(2026, 6, 1)):
        make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)
    with _at(date(2026, 7, 3)), CaptureQueriesContext(connection) as one:
        checkpoints_sweep()
    with _at(date(2026, 7, 1)):
        for _ in range(6):
            make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)
    with _at(date(2026, 8, 2)), CaptureQueriesContext(connection) as seven:
        checkpoints_sweep()

    def notice_statements(queries) -> int:
        return len(
            [q for q in queries.captured_queries if "notifications_notification" in q["sql"]]
        )

    assert notice_statements(seven) == notice_statements(one) > 0
    # One late in July for the first case, then one each in August for all seven.
    assert Notification.objects.filter(kind=NotificationKind.CHECKPOINT_OVERDUE).count() == 8
