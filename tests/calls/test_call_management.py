"""Lead reviewers and administrators set up and change calls: every refusal of
calls.services.call_save is tested on the service itself, with its boundaries, and every change
is audited. The pages are tested in test_call_pages.py."""

from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine

from airlock.roles import Role
from calls.models import Call, CallEvent, CallEventKind, SelectionOutcome
from calls.services import CallRefused, CallTerms, CriterionTerms, call_locks, call_save
from devices.models import ApplicationState
from ledger.models import ChainLink
from reviews.models import EligibilityCriterion, ScreeningAssessment, ScreeningOutcome
from tests.calls.call_helpers import NOW, call_terms, open_call, scored
from tests.factories import (
    CallFactory,
    CohortFactory,
    UserFactory,
    make_application,
)

pytestmark = pytest.mark.django_db


def _refused(actor, terms, call_id=None) -> dict[str, str]:
    with pytest.raises(CallRefused) as refused:
        call_save(actor=actor, terms=terms, call_id=call_id)
    return refused.value.problems


# --- Setting up a call ----------------------------------------------------------------------


def test_it_sets_up_a_call_with_weighted_criteria_and_audits_it(frozen, lead_reviewer):
    call, changed = call_save(actor=lead_reviewer, terms=call_terms())

    assert changed
    assert call.title == "Phase 3: AI in diagnostics"
    assert [(c.title, c.weight) for c in call.selection_criteria.all()] == [
        ("Novel regulatory question", 3),
        ("Patient and NHS benefit", 1),
    ]
    (event,) = CallEvent.objects.filter(call=call)
    assert (event.kind, event.actor) == (CallEventKind.CREATED, lead_reviewer)
    assert "Novel regulatory question (weight 3)" in event.detail
    assert ChainLink.objects.filter(source="calls.callevent", object_id=event.pk).exists()


def test_an_administrator_sets_up_a_call_too(frozen, admin_user):
    call, _ = call_save(actor=admin_user, terms=call_terms())

    assert CallEvent.objects.get(call=call).actor == admin_user


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.MANUFACTURER, Role.OBSERVER, None])
def test_only_a_lead_reviewer_or_an_administrator_sets_up_a_call(frozen, role):
    with pytest.raises(PermissionError, match="Only a lead reviewer or an administrator"):
        call_save(actor=UserFactory(role=role), terms=call_terms())

    assert not Call.objects.filter(title="Phase 3: AI in diagnostics").exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"closes_at": NOW + timedelta(days=1)}, "closes_at", "close after it opens"),
        ({"closes_at": NOW + timedelta(hours=12)}, "closes_at", "close after it opens"),
        ({"capacity": 0}, "capacity", "from 1 to 500"),
        ({"capacity": 501}, "capacity", "from 1 to 500"),
        ({"moderation_margin": 101}, "moderation_margin", "0 to 100"),
        ({"title": "  "}, "title", "Enter the call's title"),
        ({"challenge_areas": "\n \n"}, "challenge_areas", "at least one challenge area"),
        ({"criteria": ()}, "criteria", "at least one selection criterion"),
        ({"criteria": (CriterionTerms("A", 0),)}, "criteria", "weight from 1 to 10"),
        ({"criteria": (CriterionTerms("A", 11),)}, "criteria", "weight from 1 to 10"),
        ({"criteria": (CriterionTerms("A", 1), CriterionTerms("a ", 2))}, "criteria", "different"),
    ],
)
def test_it_refuses_terms_wrong_in_themselves_at_their_field(
    frozen, lead_reviewer, changes, field, message
):
    problems = _refused(lead_reviewer, call_terms(**changes))

    assert message in problems[field]
    assert not Call.objects.filter(title="Phase 3: AI in diagnostics").exists()
    assert not CallEvent.objects.exists()


def test_the_boundaries_of_places_and_weights_are_accepted(frozen, lead_reviewer):
    call, _ = call_save(
        actor=lead_reviewer,
        terms=call_terms(
            capacity=1,
            moderation_margin=0,
            criteria=(CriterionTerms("Low", 1), CriterionTerms("High", 10)),
        ),
    )

    assert call.capacity == 1
    assert sorted(c.weight for c in call.selection_criteria.all()) == [1, 10]


def test_a_new_call_must_close_later_than_now(frozen, lead_reviewer):
    problems = _refused(lead_reviewer, call_terms(opens_at=NOW - timedelta(days=10), closes_at=NOW))
    assert problems == {"closes_at": "The closing time must be later than now"}

    call, _ = call_save(
        actor=lead_reviewer,
        terms=call_terms(opens_at=NOW - timedelta(days=10), closes_at=NOW + timedelta(seconds=1)),
    )
    assert call.is_open


def test_a_title_another_call_has_is_refused_whatever_its_case(frozen, lead_reviewer):
    CallFactory(title="Phase 3: AI in Diagnostics")

    assert "Another call has this title" in _refused(lead_reviewer, call_terms())["title"]


# --- Changing a call ------------------------------------------------------------------------


def test_an_open_call_s_closing_time_can_be_extended_and_the_change_is_audited(
    frozen, lead_reviewer
):
    call = open_call(lead_reviewer)
    later = call.closes_at + timedelta(days=7)

    _, changed = call_save(
        actor=lead_reviewer, terms=replace(CallTerms.of(call), closes_at=later), call_id=call.pk
    )

    call.refresh_from_db()
    assert changed
    assert call.closes_at == later
    event = CallEvent.objects.get(call=call, kind=CallEventKind.CHANGED)
    assert event.detail == "Closes: 6 June 2026 at 12:00 → 13 June 2026 at 12:00"


def test_an_open_call_s_closing_time_cannot_be_brought_forward(frozen, lead_reviewer):
    call = open_call(lead_reviewer)

    problems = _refused(
        lead_reviewer,
        replace(CallTerms.of(call), closes_at=call.closes_at - timedelta(minutes=1)),
        call.pk,
    )

    assert "extended, not brought forward" in problems["closes_at"]
    call.refresh_from_db()
    assert call.closes_at == NOW + timedelta(days=5)
    assert CallEvent.objects.filter(call=call).count() == 1


def test_a_call_not_yet_open_can_have_its_dates_moved_either_way(frozen, lead_reviewer):
    call, _ = call_save(actor=lead_reviewer, terms=call_terms())
    terms = replace(
        CallTerms.of(call),
        opens_at=NOW + timedelta(days=2),
        closes_at=NOW + timedelta(days=30),
    )

    call_save(actor=lead_reviewer, terms=terms, call_id=call.pk)

    call.refresh_from_db()
    assert (call.opens_at, call.closes_at) == (terms.opens_at, terms.closes_at)


def test_the_opening_time_is_fixed_from_the_moment_the_call_opens(lead_reviewer):
    with time_machine.travel(NOW, tick=False):
        call, _ = call_save(actor=lead_reviewer, terms=call_terms())
    moved = replace(CallTerms.of(call), opens_at=call.opens_at + timedelta(hours=1))

    with time_machine.travel(call.opens_at - timedelta(seconds=1), tick=False):
        assert "opens_at" not in call_locks(call)
    with time_machine.travel(call.opens_at, tick=False):
        problems = _refused(lead_reviewer, moved, call.pk)

    assert problems["opens_at"].startswith("Fixed: the call opened on 2 June 2026 at 12:00")


def test_the_closing_time_is_fixed_from_the_moment_the_call_closes(lead_reviewer):
    with time_machine.travel(NOW, tick=False):
        call = open_call(lead_reviewer)
    extended = replace(CallTerms.of(call), closes_at=call.closes_at + timedelta(days=1))

    with time_machine.travel(call.closes_at, tick=False):
        problems = _refused(lead_reviewer, extended, call.pk)
    with time_machine.travel(call.closes_at - timedelta(seconds=1), tick=False):
        call_save(actor=lead_reviewer, terms=extended, call_id=call.pk)

    assert problems["closes_at"].startswith("Fixed: the call closed on")
    call.refresh_from_db()
    assert call.closes_at == extended.closes_at


def test_criteria_weights_and_margin_are_fixed_once_scoring_has_started(
    frozen, lead_reviewer, reviewer
):
    call = open_call(lead_reviewer)
    scored(call, reviewer)
    terms = CallTerms.of(call)
    reweighted = (replace(terms.criteria[0], weight=5), terms.criteria[1])

    problems = _refused(
        lead_reviewer, replace(terms, criteria=reweighted, moderation_margin=20), call.pk
    )

    assert problems == {
        "criteria": "Fixed: applications have been scored against them.",
        "moderation_margin": "Fixed: applications have been scored.",
    }
    assert [c.weight for c in call.selection_criteria.all()] == [3, 1]
    # The wording of the call can still change.
    call_save(actor=lead_reviewer, terms=replace(terms, title="Phase 3 (renamed)"), call_id=call.pk)
    call.refresh_from_db()
    assert call.title == "Phase 3 (renamed)"


def test_criteria_can_be_changed_until_scoring_starts(frozen, lead_reviewer):
    call = open_call(lead_reviewer)
    terms = replace(CallTerms.of(call), criteria=(CriterionTerms("Readiness", 2),))

    call_save(actor=lead_reviewer, terms=terms, call_id=call.pk)

    assert [(c.title, c.weight) for c in call.selection_criteria.all()] == [("Readiness", 2)]
    event = CallEvent.objects.get(call=call, kind=CallEventKind.CHANGED)
    assert "Selection criteria: Novel regulatory question (weight 3); " in event.detail
    assert event.detail.endswith("→ Readiness (weight 2)")


def test_eligibility_criteria_are_fixed_once_screening_has_started(frozen, lead_reviewer, reviewer):
    call = open_call(lead_reviewer)
    criterion = EligibilityCriterion.objects.create(code="scope", title="In scope", question="?")
    assert call_locks(call).reasons.keys() == {"opens_at"}
    ScreeningAssessment.objects.create(
        application=make_application(ApplicationState.SUBMITTED, call=call),
        criterion=criterion,
        outcome=ScreeningOutcome.MET,
        comment="Met.",
        assessor=reviewer,
    )

    problems = _refused(
        lead_reviewer,
        replace(CallTerms.of(call), eligibility_criteria=(criterion,)),
        call.pk,
    )

    assert problems == {
        "eligibility_criteria": "Fixed: applications have been screened against them."
    }


def test_capacity_never_goes_below_the_number_selected_and_the_cohort_is_fixed(
    lead_reviewer,
):
    with time_machine.travel(NOW, tick=False):
        call = open_call(lead_reviewer)
    for _ in range(3):
        SelectionOutcome.objects.create(
            application=make_application(ApplicationState.ACCEPTED, call=call), selected=True
        )
    Call.objects.filter(pk=call.pk).update(selection_made_at=NOW + timedelta(days=6))
    call.refresh_from_db()
    terms = CallTerms.of(call)

    with time_machine.travel(NOW + timedelta(days=7), tick=False):
        below = _refused(lead_reviewer, replace(terms, capacity=2), call.pk)
        cohort = _refused(lead_reviewer, replace(terms, cohort=CohortFactory()), call.pk)
        call_save(actor=lead_reviewer, terms=replace(terms, capacity=3), call_id=call.pk)

    assert below == {"capacity": "3 applications are selected already: offer at least 3 places"}
    assert cohort == {"cohort": "Fixed: the selection is made, and those selected are in it."}
    call.refresh_from_db()
    assert call.capacity == 3


def test_saving_a_call_unchanged_records_nothing(frozen, lead_reviewer):
    call = open_call(lead_reviewer)

    _, changed = call_save(actor=lead_reviewer, terms=CallTerms.of(call), call_id=call.pk)

    assert not changed
    assert CallEvent.objects.filter(call=call).count() == 1


def test_a_reviewer_cannot_change_a_call(frozen, lead_reviewer, reviewer):
    call = open_call(lead_reviewer)

    with pytest.raises(PermissionError):
        call_save(actor=reviewer, terms=replace(CallTerms.of(call), capacity=9), call_id=call.pk)

    call.refresh_from_db()
    assert call.capacity == 7
