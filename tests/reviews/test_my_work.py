"""A reviewer's home list (`reviews.selectors.my_work`) read directly: which cases count as
theirs, the new submissions up to the list's limit, and the information requests due within
five working days but not after."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from devices.models import Application, ApplicationState, ClockStage
from reviews.models import ConflictOfInterest, InformationRequest
from reviews.selectors import HOME_LIST_LIMIT, my_work
from tests.factories import make_application

pytestmark = pytest.mark.django_db

S = ApplicationState
# A Monday: five working days on is the next Monday, 8 June.
MONDAY = datetime(2026, 6, 1, 9, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture(autouse=True)
def _monday():
    with time_machine.travel(MONDAY, tick=False):
        yield


def _set(application: Application, **fields) -> Application:
    Application.objects.filter(pk=application.pk).update(**fields)
    application.refresh_from_db()
    return application


def test_it_lists_my_open_cases_soonest_clock_first_and_no_closed_ones(reviewer):
    late = _set(make_application(S.SCREENING), assignee=reviewer, clock_due_on=date(2026, 6, 9))
    soon = _set(
        make_application(S.EVIDENCE_REVIEW),
        assignee=reviewer,
        clock_stage=ClockStage.SCREENING,
        clock_due_on=date(2026, 6, 3),
    )
    unclocked = _set(make_application(S.SUSPENDED), assignee=reviewer)
    for state in (S.CLEARED, S.NOT_CLEARED, S.REJECTED, S.WITHDRAWN):
        _set(make_application(state), assignee=reviewer)
    make_application(S.SCREENING)  # someone else's

    assert my_work(user=reviewer).assigned == [soon, late, unclocked]


def test_it_shows_new_submissions_up_to_its_limit_and_counts_them_all(reviewer):
    new = [make_application(S.SUBMITTED) for _ in range(HOME_LIST_LIMIT + 1)]
    _set(make_application(S.SUBMITTED), assignee=reviewer)  # taken already
    make_application(S.SCREENING)  # past submission

    work = my_work(user=reviewer)

    assert HOME_LIST_LIMIT == 10
    assert work.unassigned_new == new[:HOME_LIST_LIMIT]
    assert work.unassigned_total == HOME_LIST_LIMIT + 1


@pytest.mark.parametrize(
    ("due_on", "listed"),
    [(date(2026, 6, 1), True), (date(2026, 6, 8), True), (date(2026, 6, 9), False)],
)
def test_it_lists_a_request_due_within_five_working_days_only(reviewer, due_on, listed):
    asked = make_application(S.INFORMATION_REQUESTED)
    InformationRequest.objects.filter(application=asked).update(due_on=due_on)

    requests = my_work(user=reviewer).requests_due_soon

    assert [r.application for r in requests] == ([asked] if listed else [])


def test_it_leaves_out_answered_requests_and_cases_the_reviewer_may_not_see(reviewer):
    answered = make_application(S.INFORMATION_REQUESTED)
    InformationRequest.objects.filter(application=answered).update(
        due_on=date(2026, 6, 2), responded_at=MONDAY
    )
    conflicted = make_application(S.INFORMATION_REQUESTED)
    InformationRequest.objects.filter(application=conflicted).update(due_on=date(2026, 6, 2))
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=conflicted.organisation, reason="Advised them."
    )
    _set(make_application(S.SUBMITTED, organisation=conflicted.organisation))

    work = my_work(user=reviewer)

    assert work.requests_due_soon == []
    assert work.unassigned_new == []
    assert work.unassigned_total == 0


def test_it_lists_requests_soonest_first_up_to_its_limit(reviewer):
    asked = []
    for day in (5, 2, 3, 4, 2, 3, 4, 5, 2, 3, 4):
        application = make_application(S.INFORMATION_REQUESTED)
        InformationRequest.objects.filter(application=application).update(due_on=date(2026, 6, day))
        asked.append((day, application))
    expected = [a for _, a in sorted(asked, key=lambda pair: (pair[0], pair[1].pk))]

    requests = my_work(user=reviewer).requests_due_soon

    assert [r.application for r in requests] == expected[:HOME_LIST_LIMIT]


def test_only_a_lead_reviewer_is_shown_clearances_to_countersign(reviewer, lead_reviewer):
    clearance = make_application(S.EVIDENCE_REVIEW)

    assert my_work(user=reviewer).pending_countersignatures == []
    assert [d.application for d in my_work(user=lead_reviewer).pending_countersignatures] == [
        clearance
    ]
