"""What the reviewer-side services write when they go ahead, asked of the service itself.

The refusals are in test_service_refusals.py; these pin the records a service leaves: the
audit row of a transition, the rows of an assignment, what is stored of what was typed, and
which cases of a batch are touched. Mutation testing (docs/TESTING.md) found each of them
unchecked: a service could drop the actor from its audit row or end the wrong assignment and
still pass every other test.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from airlock.roles import Role
from devices.models import ApplicationEvent, ApplicationState
from devices.services import TransitionRefused
from reviews.models import Assignment, ConflictOfInterest, InformationRequest
from reviews.services import (
    application_assign,
    application_bulk_assign,
    conflict_declare,
    information_request_create,
)
from tests.factories import UserFactory, make_application

pytestmark = pytest.mark.django_db

S = ApplicationState


@pytest.fixture
def other_reviewer(db):
    return UserFactory(email="second@example.test", full_name="Sam Second", role=Role.REVIEWER)


def in_a_week():
    return timezone.localdate() + timedelta(days=7)


# --- Information requests --------------------------------------------------------------------


def test_it_records_who_asked_why_and_the_questions_as_typed_but_trimmed(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)
    due_on = timezone.localdate() + timedelta(days=10)

    request = information_request_create(
        application_id=application.pk,
        actor=reviewer,
        questions="  Which NHS sites?\n",
        due_on=due_on,
        expected_state=S.SCREENING,
    )

    request.refresh_from_db()
    assert (request.questions, request.due_on, request.requested_by) == (
        "Which NHS sites?",
        due_on,
        reviewer,
    )
    event = ApplicationEvent.objects.get(application=application)
    assert (event.actor, event.transition, event.from_state, event.to_state) == (
        reviewer,
        "request_information",
        S.SCREENING,
        S.INFORMATION_REQUESTED,
    )
    assert event.reason == (
        f"Questions sent to the manufacturer; answers due by {due_on:%-d %B %Y}."
    )


def test_it_refuses_questions_sent_from_a_page_showing_an_older_state(organisation, reviewer):
    # The page was read while the case was submitted; it has since moved on to screening.
    application = make_application(S.SCREENING, organisation=organisation)

    with pytest.raises(TransitionRefused, match="Someone else changed this application"):
        information_request_create(
            application_id=application.pk,
            actor=reviewer,
            questions="Which sites?",
            due_on=in_a_week(),
            expected_state=S.SUBMITTED,
        )

    application.refresh_from_db()
    assert application.state == S.SCREENING
    assert not InformationRequest.objects.exists()
    assert not ApplicationEvent.objects.filter(application=application).exists()


# --- Single assignment -----------------------------------------------------------------------


def test_it_ends_the_current_assignment_and_opens_one_for_the_new_reviewer(
    organisation, lead_reviewer, reviewer, other_reviewer
):
    application = make_application(S.SUBMITTED, organisation=organisation)
    application_assign(application_id=application.pk, actor=lead_reviewer, reviewer=reviewer)
    application_assign(application_id=application.pk, actor=lead_reviewer, reviewer=other_reviewer)

    first, second = Assignment.objects.order_by("pk")
    assert (first.reviewer, first.assigned_by, first.ended_at is not None) == (
        reviewer,
        lead_reviewer,
        True,
    )
    assert (second.reviewer, second.assigned_by, second.ended_at) == (
        other_reviewer,
        lead_reviewer,
        None,
    )


# --- Bulk assignment -------------------------------------------------------------------------


def test_it_refuses_in_bulk_every_case_of_an_organisation_the_assignee_is_conflicted_with(
    organisation, other_manufacturer, lead_reviewer, reviewer
):
    ConflictOfInterest.objects.create(reviewer=reviewer, organisation=organisation, reason="X.")
    conflicted = make_application(S.SUBMITTED, organisation=organisation)
    elsewhere = make_application(
        S.SUBMITTED, organisation=other_manufacturer.membership.organisation
    )

    result = application_bulk_assign(
        application_ids=[conflicted.pk, elsewhere.pk], actor=lead_reviewer, reviewer=reviewer
    )

    assert result.assigned == [elsewhere.reference]
    assert result.refused == [
        (
            conflicted.reference,
            f"{reviewer} has declared a conflict of interest with {organisation}, "
            "so cannot be assigned.",
        )
    ]
    conflicted.refresh_from_db()
    assert conflicted.assignee is None
    assert list(Assignment.objects.values_list("application_id", flat=True)) == [elsewhere.pk]


def test_it_goes_on_in_bulk_past_a_case_the_lead_cannot_see(
    organisation, other_manufacturer, lead_reviewer, reviewer
):
    ConflictOfInterest.objects.create(
        reviewer=lead_reviewer, organisation=organisation, reason="Former employer."
    )
    # Locked in primary-key order: the hidden case comes first, the visible ones after it.
    hidden = make_application(S.SUBMITTED, organisation=organisation)
    other_organisation = other_manufacturer.membership.organisation
    visible = [make_application(S.SUBMITTED, organisation=other_organisation) for _ in range(2)]

    result = application_bulk_assign(
        application_ids=[hidden.pk, *(case.pk for case in visible)],
        actor=lead_reviewer,
        reviewer=reviewer,
    )

    assert result.assigned == [case.reference for case in visible]
    assert result.refused == []
    hidden.refresh_from_db()
    assert hidden.assignee is None


def test_it_checks_each_case_in_bulk_against_the_assignees_conflicts_not_the_leads_alone(
    organisation, lead_reviewer, reviewer
):
    # An administrator (no conflicts of their own) assigning to a conflicted reviewer.
    administrator = UserFactory(email="admin@example.test", is_superuser=True, is_staff=True)
    ConflictOfInterest.objects.create(reviewer=reviewer, organisation=organisation, reason="X.")
    case = make_application(S.SUBMITTED, organisation=organisation)

    result = application_bulk_assign(
        application_ids=[case.pk], actor=administrator, reviewer=reviewer
    )

    assert result.assigned == []
    assert [reference for reference, _ in result.refused] == [case.reference]


def test_it_assigns_in_bulk_in_a_fixed_number_of_queries(
    organisation, other_manufacturer, lead_reviewer, reviewer
):
    # The refusal messages name each case's organisation: loaded once for the batch, not per
    # case. One case of each organisation, then three of each: the count must not move.
    ConflictOfInterest.objects.create(reviewer=reviewer, organisation=organisation, reason="X.")
    other_organisation = other_manufacturer.membership.organisation

    def batch(size):
        return [
            make_application(S.SUBMITTED, organisation=owner).pk
            for owner in (organisation, other_organisation)
            for _ in range(size)
        ]

    for user in (lead_reviewer, reviewer):
        user.has_perm("airlock.lead_review")  # each user's permissions, loaded once
    counts = []
    for ids in (batch(1), batch(3)):
        with CaptureQueriesContext(connection) as queries:
            result = application_bulk_assign(
                application_ids=ids, actor=lead_reviewer, reviewer=reviewer
            )
        assert len(result.refused) == len(result.assigned) == len(ids) // 2
        assert all(str(organisation) in reason for _, reason in result.refused)
        counts.append(len(queries))

    assert counts[0] == counts[1]


# --- Conflicts -------------------------------------------------------------------------------


def test_it_ends_only_the_declarers_open_assignments_of_that_organisation(
    organisation, other_manufacturer, lead_reviewer, reviewer, other_reviewer
):
    mine = make_application(S.SUBMITTED, organisation=organisation)
    colleagues = make_application(S.SUBMITTED, organisation=organisation)
    elsewhere = make_application(
        S.SUBMITTED, organisation=other_manufacturer.membership.organisation
    )
    for case, assignee in ((mine, reviewer), (colleagues, other_reviewer), (elsewhere, reviewer)):
        application_assign(application_id=case.pk, actor=lead_reviewer, reviewer=assignee)
    earlier = Assignment.objects.get(application=mine)
    # An assignment that had already ended keeps the time it ended.
    ended_at = timezone.now() - timedelta(days=3)
    Assignment.objects.filter(pk=earlier.pk).update(ended_at=ended_at)
    Assignment.objects.create(application=mine, reviewer=reviewer, assigned_by=lead_reviewer)

    conflict = conflict_declare(actor=reviewer, organisation=organisation, reason="  Shares.  ")

    assert (conflict.reviewer, conflict.organisation, conflict.reason) == (
        reviewer,
        organisation,
        "Shares.",
    )
    open_rows = Assignment.objects.filter(ended_at__isnull=True)
    assert sorted(open_rows.values_list("application_id", flat=True)) == sorted(
        [colleagues.pk, elsewhere.pk]
    )
    assert Assignment.objects.get(pk=earlier.pk).ended_at == ended_at
    mine.refresh_from_db()
    assert mine.assignee is None
