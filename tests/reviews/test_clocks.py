"""Review clocks in working days (England and Wales bank holidays), paused while the
manufacturer answers an information request, driven through the real services."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine
from django.urls import reverse

from devices.clocks import add_working_days, working_days_between
from devices.models import Application, ApplicationState, ClockStage
from devices.services import application_transition, information_respond
from reviews.services import information_request_create
from tests.factories import make_application, make_manufacturer

S = ApplicationState
LONDON = ZoneInfo("Europe/London")


def on(day: date):
    """Mid-morning in London on `day`, with the clock standing still."""
    return time_machine.travel(
        datetime(day.year, day.month, day.day, 10, tzinfo=LONDON), tick=False
    )


def test_working_days_skip_weekends_and_bank_holidays():
    # Friday 25 December 2026, Saturday 26th (its substitute is Monday 28th), New Year's Day.
    assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
    assert working_days_between(date(2026, 12, 23), date(2027, 1, 4)) == 5
    # Easter 2027: Good Friday 26 March and Easter Monday 29 March.
    assert add_working_days(date(2027, 3, 25), 1) == date(2027, 3, 30)
    assert working_days_between(date(2027, 3, 24), date(2027, 3, 31)) == 3
    assert working_days_between(date(2027, 3, 31), date(2027, 3, 24)) == 0


def test_the_screening_clock_pauses_over_christmas_and_restarts_with_the_days_added(
    reviewer, client
):
    with on(date(2026, 12, 14)):
        application = make_application(S.DRAFT)
        manufacturer = make_manufacturer(application.organisation)
        application_transition(application_id=application.pk, action="submit", actor=manufacturer)
        application.refresh_from_db()
        # 20 working days from Monday 14 December, skipping 25th, 28th and 1 January.
        assert (application.clock_stage, application.clock_due_on) == (
            ClockStage.SCREENING,
            date(2027, 1, 14),
        )
        application_transition(
            application_id=application.pk, action="start_screening", actor=reviewer
        )

    with on(date(2026, 12, 23)):
        information_request_create(
            application_id=application.pk,
            actor=reviewer,
            questions="Which trusts have agreed?",
            due_on=date(2027, 1, 8),
        )
        application.refresh_from_db()
        assert application.clock_paused_on == date(2026, 12, 23)
        assert application.clock_status == "paused"

    with on(date(2027, 1, 20)):
        # Paused: however late the answer, the clock is not breached while it waits.
        assert Application.objects.get(pk=application.pk).clock_status == "paused"

    with on(date(2027, 1, 4)):
        information_respond(application_id=application.pk, actor=manufacturer, response="Leeds.")
        application.refresh_from_db()
        # Paused 24, 29, 30, 31 December and 4 January: five working days added.
        assert application.state == S.SCREENING
        assert application.clock_paused_on is None
        assert application.clock_due_on == date(2027, 1, 21)
        assert application.clock_status == "on_track"

    with on(date(2027, 1, 15)):
        assert Application.objects.get(pk=application.pk).clock_status == "due_soon"
    with on(date(2027, 1, 22)):
        client.force_login(reviewer)
        assert Application.objects.get(pk=application.pk).clock_status == "breached"
        page = client.get(reverse("reviews:queue"), {"clock": "breached"}).content.decode()
        assert application.reference in page
        assert "Breached" in page


def test_the_evidence_review_clock_pauses_over_easter(reviewer, manufacturer, organisation):
    with on(date(2027, 3, 1)):
        application = make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)
        application_transition(
            application_id=application.pk,
            action="complete_testing",
            actor=reviewer,
            reason="Enough cases seen.",
            confirmed=True,
        )
        application.refresh_from_db()
        # 30 working days from Monday 1 March 2027, skipping Good Friday and Easter Monday.
        assert (application.clock_stage, application.clock_due_on) == (
            ClockStage.EVIDENCE_REVIEW,
            date(2027, 4, 14),
        )

    with on(date(2027, 3, 24)):
        information_request_create(
            application_id=application.pk,
            actor=reviewer,
            questions="Subgroup results by site?",
            due_on=date(2027, 4, 7),
        )

    with on(date(2027, 3, 31)):
        information_respond(application_id=application.pk, actor=manufacturer, response="Yes.")
        application.refresh_from_db()
        # Paused 25, 30 and 31 March (26th and 29th are bank holidays): three days added.
        assert application.state == S.EVIDENCE_REVIEW
        assert application.clock_due_on == date(2027, 4, 19)


def test_an_answer_on_the_same_day_adds_nothing(reviewer, manufacturer, organisation):
    with on(date(2026, 6, 1)):
        application = make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)
        application_transition(
            application_id=application.pk,
            action="complete_testing",
            actor=reviewer,
            reason="Enough cases seen.",
            confirmed=True,
        )
        application.refresh_from_db()
        due = application.clock_due_on
        information_request_create(
            application_id=application.pk,
            actor=reviewer,
            questions="Typo in the report?",
            due_on=date(2026, 6, 5),
        )
        information_respond(application_id=application.pk, actor=manufacturer, response="Fixed.")
        application.refresh_from_db()
        assert application.clock_due_on == due


def test_accepting_starts_the_plan_clock_and_beginning_testing_stops_it(reviewer):
    with on(date(2027, 3, 22)):
        application = make_application(S.ACCEPTED)
        Application.objects.filter(pk=application.pk).update(
            clock_stage=ClockStage.PLAN, clock_due_on=date(2027, 4, 20)
        )
        application_transition(
            application_id=application.pk, action="begin_testing", actor=reviewer
        )
        application.refresh_from_db()
        assert (application.clock_stage, application.clock_due_on) == ("", None)
        assert application.clock_status == ""
