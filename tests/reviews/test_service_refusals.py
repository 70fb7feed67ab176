"""Every refusal of the reviewer-side services (reviews.services), asked of the service itself.

The queue and case pages check most of these before calling, so a service that lost its own
check would pass every view test while the admin, the API or a future page went round it.
Each test names who may not, in which state, or under which condition, and checks that
nothing changed.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from devices.models import ApplicationState
from devices.services import TransitionRefused
from reviews.models import Assignment, Cohort, ConflictOfInterest, InformationRequest, InternalNote
from reviews.services import (
    application_accept,
    application_assign,
    application_bulk_assign,
    application_claim,
    cohort_refusal,
    conflict_declare,
    information_request_create,
    internal_note_add,
)
from tests.factories import CohortFactory, UserFactory, make_application
from tests.locks import row_locks

pytestmark = pytest.mark.django_db

S = ApplicationState


@pytest.fixture
def other_reviewer(db):
    from airlock.roles import Role

    return UserFactory(email="second@example.test", full_name="Sam Second", role=Role.REVIEWER)


def assignee_of(application):
    application.refresh_from_db()
    return application.assignee


# --- Single assignment -----------------------------------------------------------------------


def test_it_refuses_a_reviewer_assigning_a_case_to_someone_else(
    organisation, reviewer, other_reviewer
):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with pytest.raises(PermissionError, match="Only a lead reviewer"):
        application_assign(application_id=application.pk, actor=reviewer, reviewer=other_reviewer)

    assert assignee_of(application) is None
    assert not Assignment.objects.exists()


def test_it_refuses_a_reviewer_taking_a_case_already_assigned(
    organisation, reviewer, other_reviewer
):
    application = make_application(S.SUBMITTED, organisation=organisation, assignee=other_reviewer)

    with pytest.raises(TransitionRefused, match="ask a lead reviewer to reassign"):
        application_claim(application_id=application.pk, actor=reviewer)

    assert assignee_of(application) == other_reviewer


def test_it_lets_a_reviewer_claim_an_unassigned_case(organisation, reviewer):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with row_locks() as locked:
        application_claim(application_id=application.pk, actor=reviewer)

    assert locked == ["devices.Application"]
    assert assignee_of(application) == reviewer
    assert Assignment.objects.get().assigned_by == reviewer


def test_it_lets_a_lead_reassign_a_case(organisation, lead_reviewer, reviewer, other_reviewer):
    application = make_application(S.SUBMITTED, organisation=organisation, assignee=reviewer)

    application_assign(application_id=application.pk, actor=lead_reviewer, reviewer=other_reviewer)

    assert assignee_of(application) == other_reviewer


def test_it_refuses_a_manufacturer_claiming_a_case(organisation, manufacturer):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with pytest.raises(PermissionError):
        application_claim(application_id=application.pk, actor=manufacturer)

    assert assignee_of(application) is None


def test_it_refuses_a_conflicted_lead_assigning_a_case(organisation, lead_reviewer, reviewer):
    ConflictOfInterest.objects.create(
        reviewer=lead_reviewer, organisation=organisation, reason="Former employer."
    )
    application = make_application(S.SUBMITTED, organisation=organisation)

    with pytest.raises(PermissionError, match="conflict of interest"):
        application_assign(application_id=application.pk, actor=lead_reviewer, reviewer=reviewer)

    assert assignee_of(application) is None


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (S.DRAFT, "has not been submitted yet"),
        (S.CLEARED, "needs no reviewer now"),
        (S.REJECTED, "needs no reviewer now"),
        (S.WITHDRAWN, "needs no reviewer now"),
        (S.NOT_CLEARED, "needs no reviewer now"),
    ],
)
def test_it_refuses_to_assign_a_draft_or_a_closed_case(
    organisation, lead_reviewer, reviewer, state, words
):
    application = make_application(state, organisation=organisation)

    with pytest.raises(TransitionRefused, match=words):
        application_assign(application_id=application.pk, actor=lead_reviewer, reviewer=reviewer)

    assert assignee_of(application) is None


def test_it_refuses_an_assignee_who_is_not_a_reviewer(organisation, lead_reviewer, manufacturer):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with pytest.raises(TransitionRefused, match="is not a reviewer"):
        application_assign(
            application_id=application.pk, actor=lead_reviewer, reviewer=manufacturer
        )

    assert assignee_of(application) is None


def test_it_refuses_an_inactive_assignee(organisation, lead_reviewer, other_reviewer):
    other_reviewer.is_active = False
    other_reviewer.save(update_fields=["is_active"])
    application = make_application(S.SUBMITTED, organisation=organisation)

    with pytest.raises(TransitionRefused, match="is not a reviewer"):
        application_assign(
            application_id=application.pk, actor=lead_reviewer, reviewer=other_reviewer
        )


def test_it_refuses_an_assignee_with_a_conflict(organisation, lead_reviewer, reviewer):
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=organisation, reason="Shares."
    )
    application = make_application(S.SUBMITTED, organisation=organisation)

    with pytest.raises(TransitionRefused, match="declared a conflict of interest"):
        application_assign(application_id=application.pk, actor=lead_reviewer, reviewer=reviewer)

    assert assignee_of(application) is None


def test_it_refuses_assigning_a_case_to_its_current_assignee(organisation, lead_reviewer, reviewer):
    application = make_application(S.SUBMITTED, organisation=organisation, assignee=reviewer)

    with pytest.raises(TransitionRefused, match="already assigned to"):
        application_assign(application_id=application.pk, actor=lead_reviewer, reviewer=reviewer)

    assert not Assignment.objects.exists()


# --- Bulk assignment -------------------------------------------------------------------------


def test_it_refuses_bulk_assignment_by_a_reviewer_who_is_not_a_lead(
    organisation, reviewer, other_reviewer
):
    cases = [make_application(S.SUBMITTED, organisation=organisation) for _ in range(2)]

    # Not even to themselves: bulk assignment is the lead's tool.
    for assignee in (other_reviewer, reviewer):
        with pytest.raises(PermissionError, match="Only a lead reviewer"):
            application_bulk_assign(
                application_ids=[case.pk for case in cases], actor=reviewer, reviewer=assignee
            )

    assert [assignee_of(case) for case in cases] == [None, None]
    assert not Assignment.objects.exists()


def test_it_assigns_in_bulk_under_one_lock_and_reports_each_refusal(
    organisation, lead_reviewer, reviewer
):
    open_case = make_application(S.SUBMITTED, organisation=organisation)
    closed_case = make_application(S.WITHDRAWN, organisation=organisation)

    with row_locks() as locked:
        result = application_bulk_assign(
            application_ids=[open_case.pk, closed_case.pk], actor=lead_reviewer, reviewer=reviewer
        )

    assert locked == ["devices.Application"]
    assert result.assigned == [open_case.reference]
    assert [reference for reference, _ in result.refused] == [closed_case.reference]
    assert assignee_of(open_case) == reviewer
    assert assignee_of(closed_case) is None


def test_it_says_nothing_in_bulk_about_cases_the_lead_is_conflicted_with(
    organisation, lead_reviewer, reviewer
):
    ConflictOfInterest.objects.create(
        reviewer=lead_reviewer, organisation=organisation, reason="Former employer."
    )
    hidden = make_application(S.SUBMITTED, organisation=organisation)

    result = application_bulk_assign(
        application_ids=[hidden.pk], actor=lead_reviewer, reviewer=reviewer
    )

    assert (result.assigned, result.refused) == ([], [])
    assert assignee_of(hidden) is None


# --- Accepting into a cohort -----------------------------------------------------------------


def test_it_refuses_a_closed_cohort(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)
    # The factory's cohort may exist already (the organisation's open call has it): close it.
    cohort = CohortFactory()
    Cohort.objects.filter(pk=cohort.pk).update(is_open=False)

    with pytest.raises(TransitionRefused, match="closed to new applications"):
        application_accept(
            application_id=application.pk, actor=reviewer, cohort=cohort, rationale="Meets all."
        )

    application.refresh_from_db()
    assert application.state == S.SCREENING


@pytest.mark.parametrize(("capacity", "full"), [(1, True), (2, False)])
def test_it_refuses_a_cohort_only_once_every_place_is_taken(organisation, capacity, full):
    # make_application puts accepted cases in the factory's cohort, which the organisation's
    # open call may have made already: set that cohort's capacity.
    cohort = CohortFactory()
    Cohort.objects.filter(pk=cohort.pk).update(capacity=capacity)
    cohort.refresh_from_db()
    make_application(S.ACCEPTED, organisation=organisation, cohort=cohort)
    # Closed cases give their place back.
    make_application(S.WITHDRAWN, organisation=organisation, cohort=cohort)
    make_application(S.REJECTED, organisation=organisation, cohort=cohort)

    assert (cohort_refusal(cohort) is not None) is full


def test_it_refuses_to_accept_without_a_rationale(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)

    with pytest.raises(TransitionRefused, match="Give the rationale"):
        application_accept(
            application_id=application.pk, actor=reviewer, cohort=CohortFactory(), rationale=" "
        )


def test_it_refuses_a_manufacturer_accepting(organisation, manufacturer):
    application = make_application(S.SCREENING, organisation=organisation)

    with pytest.raises(PermissionError):
        application_accept(
            application_id=application.pk,
            actor=manufacturer,
            cohort=CohortFactory(),
            rationale="Self-accepted.",
        )

    application.refresh_from_db()
    assert application.state == S.SCREENING


# --- Information requests --------------------------------------------------------------------


@pytest.mark.parametrize(("days", "allowed"), [(-1, False), (0, False), (1, True)])
def test_it_takes_an_answer_date_only_after_today(organisation, reviewer, days, allowed):
    application = make_application(S.SCREENING, organisation=organisation)
    due_on = timezone.localdate() + timedelta(days=days)

    def ask():
        information_request_create(
            application_id=application.pk, actor=reviewer, questions="Which sites?", due_on=due_on
        )

    if allowed:
        ask()
    else:
        with pytest.raises(TransitionRefused, match="due after today"):
            ask()

    assert InformationRequest.objects.filter(application=application).exists() is allowed


def test_it_judges_today_in_london_not_utc(organisation, reviewer):
    # 00:30 on 2 July in London is still 1 July in UTC: today is 2 July, so an answer due
    # on 2 July is refused although the UTC date is a day behind.
    application = make_application(S.SCREENING, organisation=organisation)
    with (
        time_machine.travel("2026-07-01T23:30:00+00:00", tick=False),
        pytest.raises(TransitionRefused, match="due after today"),
    ):
        information_request_create(
            application_id=application.pk,
            actor=reviewer,
            questions="Which sites?",
            due_on=timezone.localdate(),
        )


def test_it_refuses_empty_questions(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)

    with pytest.raises(TransitionRefused, match="Write the questions"):
        information_request_create(
            application_id=application.pk,
            actor=reviewer,
            questions=" ",
            due_on=timezone.localdate() + timedelta(days=7),
        )


# --- Conflicts and notes ---------------------------------------------------------------------


def test_it_refuses_a_manufacturer_declaring_a_conflict(organisation, manufacturer):
    with pytest.raises(PermissionError, match="Only regulator reviewers"):
        conflict_declare(actor=manufacturer, organisation=organisation, reason="Me.")

    assert not ConflictOfInterest.objects.exists()


def test_it_refuses_a_conflict_without_a_reason(organisation, reviewer):
    with pytest.raises(TransitionRefused, match="Describe the interest"):
        conflict_declare(actor=reviewer, organisation=organisation, reason="  ")

    assert not ConflictOfInterest.objects.exists()


def test_it_refuses_a_second_declaration_and_keeps_the_first(organisation, reviewer):
    conflict_declare(actor=reviewer, organisation=organisation, reason="Shares.")

    with pytest.raises(TransitionRefused, match="already declared"):
        conflict_declare(actor=reviewer, organisation=organisation, reason="Again.")

    assert ConflictOfInterest.objects.get().reason == "Shares."


def test_it_unassigns_only_the_declarers_cases_of_that_organisation(
    organisation, reviewer, other_reviewer, other_manufacturer
):
    mine = make_application(S.SUBMITTED, organisation=organisation, assignee=reviewer)
    colleagues = make_application(S.SUBMITTED, organisation=organisation, assignee=other_reviewer)
    elsewhere = make_application(
        S.SUBMITTED, organisation=other_manufacturer.membership.organisation, assignee=reviewer
    )

    conflict_declare(actor=reviewer, organisation=organisation, reason="Shares.")

    assert [assignee_of(case) for case in (mine, colleagues, elsewhere)] == [
        None,
        other_reviewer,
        reviewer,
    ]


def test_it_refuses_a_note_from_a_conflicted_reviewer(organisation, reviewer):
    ConflictOfInterest.objects.create(reviewer=reviewer, organisation=organisation, reason="X.")
    application = make_application(S.SUBMITTED, organisation=organisation)

    with pytest.raises(PermissionError):
        internal_note_add(application_id=application.pk, actor=reviewer, body="Looks fine.")

    assert not InternalNote.objects.exists()


def test_it_refuses_an_empty_note(organisation, reviewer):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with pytest.raises(TransitionRefused, match="Write the note"):
        internal_note_add(application_id=application.pk, actor=reviewer, body=" ")
