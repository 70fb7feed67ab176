from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from airlock.roles import Role
from devices.models import ApplicationState
from reviews.models import Checkpoint, CheckpointStatus, ConflictOfInterest
from reviews.monitoring.checkpoints import checkpoint_due_dates, checkpoints_sweep
from tests.checkpoint_emails import sweep_and_send as sweep
from tests.factories import UserFactory, make_application, make_manufacturer

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
START = date(2026, 6, 1)  # plans start today; checkpoints every 28 days: 29 June, 27 July ...


def at(day: date, hour: int = 6):
    return time_machine.travel(
        datetime(day.year, day.month, day.day, hour, tzinfo=LONDON), tick=False
    )


@pytest.fixture
def case(organisation, manufacturer, reviewer):
    with at(START):
        return make_application(
            ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
        )


def test_it_lists_every_checkpoint_date_of_a_plan():
    assert checkpoint_due_dates(
        starts_on=date(2026, 6, 1), ends_on=date(2026, 8, 24), cadence_days=28
    ) == [date(2026, 6, 29), date(2026, 7, 27), date(2026, 8, 24)]


def test_it_creates_a_checkpoint_two_weeks_before_it_falls_due(case):
    with at(START):
        assert sweep().created == 0
    with at(date(2026, 6, 15)):
        result = sweep()

    assert result.created == 1
    checkpoint = Checkpoint.objects.get(application=case)
    assert (checkpoint.sequence, checkpoint.due_on) == (1, date(2026, 6, 29))
    assert checkpoint.status == CheckpointStatus.SCHEDULED


def test_it_catches_up_on_every_missed_checkpoint_at_once(case):
    with at(date(2026, 8, 12)):
        result = sweep()

    assert result.created == 3  # 29 June, 27 July, and 24 August within the lead time
    assert list(Checkpoint.objects.filter(application=case).values_list("sequence", "due_on")) == [
        (1, date(2026, 6, 29)),
        (2, date(2026, 7, 27)),
        (3, date(2026, 8, 24)),
    ]


def test_it_creates_nothing_the_second_time(case):
    with at(date(2026, 8, 12)):
        sweep()
        mail.outbox.clear()
        again = sweep()

    assert again.created == again.reminded_7_days == again.reminded_1_day == 0
    assert again.overdue == again.escalated == 0
    assert Checkpoint.objects.count() == 3
    assert mail.outbox == []


def test_it_leaves_cases_that_are_not_in_testing_alone(organisation, manufacturer):
    with at(START):
        make_application(ApplicationState.SUSPENDED, organisation=organisation)
        make_application(ApplicationState.ACCEPTED, organisation=organisation)
    with at(date(2026, 8, 12)):
        assert sweep().created == 0


def test_it_reminds_the_manufacturer_a_week_before(case, manufacturer):
    with at(date(2026, 6, 15)):
        sweep()
    mail.outbox.clear()

    with at(date(2026, 6, 22)):
        result = sweep()
        rerun = sweep()

    assert (result.reminded_7_days, rerun.reminded_7_days) == (1, 0)
    [email] = mail.outbox
    assert email.to == [manufacturer.email]
    assert email.subject == f"{case.reference}: checkpoint 1 report due in 7 days"
    assert "is due on Monday 29 June 2026" in email.body
    link = reverse("devices:checkpoint-report", args=[case.pk, 1])
    assert f"http://127.0.0.1:8000{link}" in email.body
    html = email.alternatives[0][0]
    assert f'href="http://127.0.0.1:8000{link}"' in html


def test_it_reminds_the_manufacturer_the_day_before(case, manufacturer):
    with at(date(2026, 6, 22)):
        sweep()
    mail.outbox.clear()

    with at(date(2026, 6, 28)):
        result = sweep()

    assert result.reminded_1_day == 1
    assert result.reminded_7_days == 0
    [email] = mail.outbox
    assert email.subject == f"{case.reference}: checkpoint 1 report due tomorrow"


def test_a_late_first_run_sends_only_the_one_day_reminder(case):
    with at(date(2026, 6, 28)):
        result = sweep()

    assert (result.created, result.reminded_7_days, result.reminded_1_day) == (1, 0, 1)


def test_it_marks_an_unreported_checkpoint_overdue_and_tells_the_manufacturer(case, manufacturer):
    with at(date(2026, 6, 28)):
        sweep()
    mail.outbox.clear()

    with at(date(2026, 6, 30)):
        result = sweep()

    assert result.overdue == 1
    checkpoint = Checkpoint.objects.get(application=case, sequence=1)
    assert checkpoint.status == CheckpointStatus.OVERDUE
    assert checkpoint.overdue_at is not None
    [email] = mail.outbox
    assert email.subject == f"{case.reference}: checkpoint 1 report is overdue"
    assert "was due on 29 June 2026 and has not arrived" in email.body
    assert "3 days after the due date" in email.body


def test_it_escalates_to_the_assigned_reviewer_three_days_late(case, reviewer):
    with at(date(2026, 6, 30)):
        sweep()
    mail.outbox.clear()
    with at(date(2026, 7, 1)):
        assert sweep().escalated == 0

    with at(date(2026, 7, 2)):
        result = sweep()
        rerun = sweep()

    assert (result.escalated, rerun.escalated) == (1, 0)
    [email] = mail.outbox
    assert email.to == [reviewer.email]
    assert email.subject == f"{case.reference}: checkpoint 1 report 3 days overdue"
    assert (
        f"- {case.reference} ({case.device}), Demo Diagnostics Ltd: checkpoint 1, "
        "due 29 June 2026 (3 days ago)."
    ) in email.body
    assert reverse("reviews:performance", args=[case.pk]) in email.body


def test_an_unassigned_case_escalates_to_lead_reviewers_without_a_conflict(
    organisation, manufacturer, lead_reviewer
):
    conflicted = UserFactory(role=Role.LEAD_REVIEWER, email="conflicted@example.test")
    ConflictOfInterest.objects.create(
        reviewer=conflicted, organisation=organisation, reason="Former employee."
    )
    with at(START):
        make_application(ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation)
    with at(date(2026, 7, 2)):
        sweep()

    [escalation] = [m for m in mail.outbox if "overdue" in m.subject and "days" in m.subject]
    assert escalation.to == [lead_reviewer.email]


def test_a_reported_checkpoint_is_neither_reminded_nor_overdue(case):
    with at(date(2026, 6, 15)):
        sweep()
    Checkpoint.objects.update(status=CheckpointStatus.SUBMITTED)
    mail.outbox.clear()

    with at(date(2026, 7, 10)):
        result = sweep()

    assert result.reminded_7_days == result.reminded_1_day == result.overdue == 0
    assert mail.outbox == []


def test_a_manufacturer_hears_once_about_all_its_checkpoints(
    case, organisation, manufacturer, reviewer, monkeypatch
):
    with at(START):
        second = make_application(ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation)
        third = make_application(ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation)
    monkeypatch.setattr("reviews.monitoring.checkpoint_emails.EMAIL_LIST_LIMIT", 2)

    with at(date(2026, 6, 22)):
        sweep()

    [email] = mail.outbox
    assert email.subject == "3 checkpoint reports due within a week"
    assert f"- {case.reference}" in email.body
    assert f"- {second.reference}" in email.body
    assert third.reference not in email.body
    assert "- and 1 more: http://127.0.0.1:8000/" in email.body
    assert "1 more</a>" in email.alternatives[0][0]


def test_each_team_member_gets_their_own_reminder(case, organisation, manufacturer):
    colleague = make_manufacturer(organisation, email="colleague@example.test")
    with at(date(2026, 6, 22)):
        sweep()

    assert sorted(m.to[0] for m in mail.outbox) == sorted([manufacturer.email, colleague.email])


def test_the_sweep_costs_the_same_queries_for_one_case_or_many(organisation, reviewer):
    def queries_for_run(day, hour):
        # (Each run at its own time: a frozen clock would give both runs one stamp.)
        with at(day, hour), CaptureQueriesContext(connection) as queries:
            checkpoints_sweep()
        return len(queries)

    with at(START):
        make_application(
            ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
        )
    few = queries_for_run(date(2026, 7, 2), 6)
    with at(START):
        for _ in range(8):
            make_application(
                ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
            )
    many = queries_for_run(date(2026, 7, 2), 7)

    assert many == few
    assert Checkpoint.objects.count() == 9


def test_a_checkpoint_created_late_is_written_overdue_and_escalated_at_once(case, reviewer):
    with at(date(2026, 7, 2)):
        result = sweep()

    [checkpoint] = Checkpoint.objects.filter(application=case)
    assert checkpoint.status == CheckpointStatus.OVERDUE
    # One stamp, the run's: written by the insert, not by a second pass over the rows.
    assert checkpoint.overdue_at == checkpoint.escalated_at
    assert (result.created, result.overdue, result.escalated) == (1, 1, 1)
    assert {m.to[0] for m in mail.outbox} >= {reviewer.email}


def test_unassigned_cases_of_several_organisations_reach_the_leads_in_one_email(
    organisation, manufacturer, lead_reviewer, monkeypatch
):
    other = make_manufacturer().membership.organisation
    with at(START):
        first = make_application(ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation)
        second = make_application(ApplicationState.IN_CONTROLLED_TESTING, organisation=other)
    # The database lists the first of each (assignee, organisation); the emails merge them.
    monkeypatch.setattr("reviews.monitoring.checkpoint_emails.EMAIL_LIST_LIMIT", 1)

    with at(date(2026, 7, 2)):
        result = sweep()

    [escalation] = [m for m in mail.outbox if m.to == [lead_reviewer.email]]
    assert result.escalated == 2
    assert f"- {first.reference}" in escalation.body
    assert second.reference not in escalation.body
    assert "- and 1 more" in escalation.body
