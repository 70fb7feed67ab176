"""The refusals of reviews.services and reviews.decisions, each matched whole.

test_service_refusals.py and test_decisions.py name who may not and check nothing changed;
they match a part of each message. Mutation testing (docs/TESTING.md) changed the words
around those parts and no test noticed. Here each message is read as a person reads it, and
each refusal is shown to leave the records as they were.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from devices.models import ApplicationState
from devices.services import TransitionRefused
from reviews.decisions import (
    PrincipleRating,
    clearance_withdraw,
    decision_record,
    evidence_assess,
)
from reviews.models import (
    ConflictOfInterest,
    Decision,
    EligibilityCriterion,
    EvidenceAssessment,
    GmlpPrinciple,
    GmlpRating,
    InformationRequest,
    InternalNote,
    ScreeningAssessment,
)
from reviews.services import (
    CriterionOutcome,
    application_accept,
    application_assign,
    application_bulk_assign,
    application_claim,
    conflict_declare,
    information_request_create,
    internal_note_add,
    require_state,
    screening_assess,
)
from tests.factories import CohortFactory, UserFactory, make_application
from tests.refusals import refused

pytestmark = pytest.mark.django_db

S = ApplicationState


@pytest.fixture
def other_reviewer(db):
    from airlock.roles import Role

    return UserFactory(email="second@example.test", full_name="Sam Second", role=Role.REVIEWER)


# --- States ----------------------------------------------------------------------------------


def test_it_names_every_state_an_action_is_allowed_in(organisation):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with refused(
        TransitionRefused,
        "You can weigh it only while an application is being screened or in evidence review; "
        "this one is submitted.",
    ):
        require_state(application, {S.EVIDENCE_REVIEW, S.SCREENING}, "weigh it")

    require_state(application, {S.SUBMITTED, S.SCREENING}, "weigh it")


# --- Screening -------------------------------------------------------------------------------


def test_it_refuses_to_assess_eligibility_outside_screening(organisation, reviewer):
    application = make_application(S.SUBMITTED, organisation=organisation)
    criterion = EligibilityCriterion.objects.filter(is_active=True).first()

    with refused(
        TransitionRefused,
        "You can assess eligibility only while an application is being screened; this one is "
        "submitted.",
    ):
        screening_assess(
            application_id=application.pk,
            actor=reviewer,
            outcomes=[CriterionOutcome(criterion.pk, "met", "Fine.")],
        )

    assert not ScreeningAssessment.objects.filter(application=application).exists()


def test_it_refuses_an_inactive_criterion_and_an_empty_comment(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)
    application.screening_assessments.all().delete()
    criterion, retired = EligibilityCriterion.objects.filter(is_active=True)[:2]
    EligibilityCriterion.objects.filter(pk=retired.pk).update(is_active=False)

    def assess(*outcomes):
        screening_assess(application_id=application.pk, actor=reviewer, outcomes=outcomes)

    with refused(
        TransitionRefused,
        "That eligibility criterion is no longer in use, or not one this case's call asks for.",
    ):
        # The good outcome first: nothing of a refused batch is kept.
        assess(
            CriterionOutcome(criterion.pk, "met", "Fine."),
            CriterionOutcome(retired.pk, "met", "Fine."),
        )
    with refused(TransitionRefused, "Every assessment needs a comment."):
        assess(
            CriterionOutcome(criterion.pk, "met", "Fine."),
            CriterionOutcome(criterion.pk, "met", " \n"),
        )

    assert not ScreeningAssessment.objects.filter(application=application).exists()


def test_it_refuses_an_assessment_sent_from_a_page_showing_an_older_state(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)
    application.screening_assessments.all().delete()
    criterion = EligibilityCriterion.objects.filter(is_active=True).first()

    with pytest.raises(TransitionRefused, match="Someone else changed this application"):
        screening_assess(
            application_id=application.pk,
            actor=reviewer,
            outcomes=[CriterionOutcome(criterion.pk, "met", "Fine.")],
            expected_state=S.SUBMITTED,
        )

    assert not ScreeningAssessment.objects.filter(application=application).exists()


def test_it_records_an_assessment_trimmed_and_revises_it_in_place(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)
    application.screening_assessments.all().delete()
    criterion = EligibilityCriterion.objects.filter(is_active=True).first()

    for outcome, comment in (("met", " Fine. "), ("not_met", "  No sites yet.\n")):
        count = screening_assess(
            application_id=application.pk,
            actor=reviewer,
            outcomes=[CriterionOutcome(criterion.pk, outcome, comment)],
        )
        assert count == 1

    assessment = ScreeningAssessment.objects.get(application=application)
    assert (assessment.criterion, assessment.outcome, assessment.comment) == (
        criterion,
        "not_met",
        "No sites yet.",
    )
    assert assessment.assessor == reviewer


# --- Accepting, information requests, notes, conflicts ---------------------------------------


def test_it_refuses_to_accept_without_a_rationale(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)

    with refused(
        TransitionRefused, "Give the rationale for accepting: it goes on the case record."
    ):
        application_accept(
            application_id=application.pk, actor=reviewer, cohort=CohortFactory(), rationale=" "
        )

    application.refresh_from_db()
    assert application.state == S.SCREENING
    assert not Decision.objects.filter(application=application).exists()


def test_it_refuses_a_closed_or_full_cohort_in_words(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)
    cohort = CohortFactory()
    cohort.is_open = False
    cohort.save(update_fields=["is_open"])

    with refused(TransitionRefused, f"{cohort} is closed to new applications."):
        application_accept(
            application_id=application.pk, actor=reviewer, cohort=cohort, rationale="Meets all."
        )

    application.refresh_from_db()
    assert application.state == S.SCREENING


@pytest.mark.parametrize(
    ("questions", "days", "message"),
    [
        (" \n", 7, "Write the questions for the manufacturer."),
        ("Which sites?", 0, "The answer must be due after today."),
    ],
)
def test_it_refuses_an_information_request_in_words(
    organisation, reviewer, questions, days, message
):
    application = make_application(S.SCREENING, organisation=organisation)

    with refused(TransitionRefused, message):
        information_request_create(
            application_id=application.pk,
            actor=reviewer,
            questions=questions,
            due_on=timezone.localdate() + timedelta(days=days),
        )

    assert not InformationRequest.objects.filter(application=application).exists()


def test_it_refuses_an_empty_note_in_words(organisation, reviewer):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with refused(TransitionRefused, "Write the note first."):
        internal_note_add(application_id=application.pk, actor=reviewer, body=" \n")

    assert not InternalNote.objects.exists()


def test_it_keeps_a_note_trimmed_by_its_author(organisation, reviewer):
    application = make_application(S.SUBMITTED, organisation=organisation)

    note = internal_note_add(application_id=application.pk, actor=reviewer, body="  Looks fine.\n")

    note.refresh_from_db()
    assert (note.application, note.author, note.body) == (application, reviewer, "Looks fine.")


def test_it_refuses_a_conflict_in_words(organisation, manufacturer, reviewer):
    with refused(PermissionError, "Only regulator reviewers declare conflicts of interest."):
        conflict_declare(actor=manufacturer, organisation=organisation, reason="Me.")
    with refused(TransitionRefused, "Describe the interest you are declaring."):
        conflict_declare(actor=reviewer, organisation=organisation, reason=" \n")
    conflict_declare(actor=reviewer, organisation=organisation, reason="  Shares.\n")
    with refused(
        TransitionRefused,
        f"You have already declared a conflict of interest with {organisation}.",
    ):
        conflict_declare(actor=reviewer, organisation=organisation, reason="Again.")

    conflict = ConflictOfInterest.objects.get()
    assert (conflict.reviewer, conflict.organisation, conflict.reason) == (
        reviewer,
        organisation,
        "Shares.",
    )


# --- Assignment ------------------------------------------------------------------------------


def test_it_refuses_assignment_in_words(organisation, reviewer, lead_reviewer, other_reviewer):
    draft = make_application(S.DRAFT, organisation=organisation)
    cleared = make_application(S.CLEARED, organisation=organisation)
    taken = make_application(S.SUBMITTED, organisation=organisation, assignee=other_reviewer)
    conflicted = make_application(S.SUBMITTED, organisation=organisation)

    with refused(PermissionError, "Only a lead reviewer can assign cases to other reviewers."):
        application_assign(application_id=taken.pk, actor=reviewer, reviewer=other_reviewer)
    with refused(TransitionRefused, "This application has not been submitted yet."):
        application_assign(application_id=draft.pk, actor=lead_reviewer, reviewer=reviewer)
    with refused(TransitionRefused, "This application is cleared: it needs no reviewer now."):
        application_assign(application_id=cleared.pk, actor=lead_reviewer, reviewer=reviewer)
    with refused(
        TransitionRefused,
        f"This application is already assigned to {other_reviewer}; ask a lead reviewer to "
        "reassign it.",
    ):
        application_claim(application_id=taken.pk, actor=reviewer)
    with refused(TransitionRefused, f"This application is already assigned to {other_reviewer}."):
        application_assign(application_id=taken.pk, actor=lead_reviewer, reviewer=other_reviewer)
    ConflictOfInterest.objects.create(reviewer=reviewer, organisation=organisation, reason="X.")
    with refused(
        TransitionRefused,
        f"{reviewer} has declared a conflict of interest with {organisation}, so cannot be "
        "assigned.",
    ):
        application_assign(application_id=conflicted.pk, actor=lead_reviewer, reviewer=reviewer)

    for case in (draft, cleared, conflicted):
        case.refresh_from_db()
        assert case.assignee is None


def test_it_refuses_bulk_assignment_in_words(organisation, reviewer):
    case = make_application(S.SUBMITTED, organisation=organisation)

    with refused(PermissionError, "Only a lead reviewer can assign cases in bulk."):
        application_bulk_assign(application_ids=[case.pk], actor=reviewer, reviewer=reviewer)


def test_it_lets_a_reviewer_claim_an_unassigned_case_but_not_give_it_away(
    organisation, reviewer, lead_reviewer, other_reviewer
):
    # A lead may claim too: the lead-only rule is about giving a case to someone else.
    mine = make_application(S.SUBMITTED, organisation=organisation)
    leads = make_application(S.SUBMITTED, organisation=organisation)

    application_claim(application_id=mine.pk, actor=reviewer)
    application_claim(application_id=leads.pk, actor=lead_reviewer)

    mine.refresh_from_db()
    leads.refresh_from_db()
    assert (mine.assignee, leads.assignee) == (reviewer, lead_reviewer)


# --- Evidence review and clearance (reviews.decisions) ---------------------------------------


def test_it_refuses_to_assess_the_evidence_outside_evidence_review(organisation, reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)

    with refused(
        TransitionRefused,
        "You can assess the evidence only while an application is in evidence review; this "
        "one is in controlled testing.",
    ):
        evidence_assess(
            application_id=application.pk,
            actor=reviewer,
            ratings=[PrincipleRating(1, GmlpRating.MET, "Fine.")],
        )

    assert not EvidenceAssessment.objects.exists()


@pytest.mark.parametrize(
    ("principle", "comment", "message"),
    [
        (0, "Fine.", "There are ten GMLP principles, numbered 1 to 10."),
        (11, "Fine.", "There are ten GMLP principles, numbered 1 to 10."),
        (10, " \n", "Every rating needs a comment."),
    ],
)
def test_it_refuses_a_rating_in_words(organisation, reviewer, principle, comment, message):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)

    with refused(TransitionRefused, message):
        evidence_assess(
            application_id=application.pk,
            actor=reviewer,
            # The good rating first: nothing of a refused batch is kept.
            ratings=[
                PrincipleRating(1, GmlpRating.MET, "Fine."),
                PrincipleRating(principle, GmlpRating.MET, comment),
            ],
        )

    assert not EvidenceAssessment.objects.exists()


def test_it_records_a_rating_trimmed_and_revises_it_in_place(organisation, reviewer):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)

    for rating, comment in ((GmlpRating.MET, " Fine. "), (GmlpRating.NOT_MET, " No data.\n")):
        count = evidence_assess(
            application_id=application.pk,
            actor=reviewer,
            ratings=[PrincipleRating(GmlpPrinciple.values[-1], rating, comment)],
        )
        assert count == 1

    assessment = EvidenceAssessment.objects.get()
    assert (assessment.principle, assessment.rating, assessment.comment, assessment.assessor) == (
        GmlpPrinciple.values[-1],
        GmlpRating.NOT_MET,
        "No data.",
        reviewer,
    )


@pytest.mark.parametrize(
    ("kind", "rationale", "message"),
    [
        ("accept", "Fine.", "Choose clear, do not clear, or extend testing."),
        ("not_clear", " \n", "Give the rationale for the decision: it goes on the case record."),
    ],
)
def test_it_refuses_a_decision_in_words(organisation, reviewer, kind, rationale, message):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)

    with refused(TransitionRefused, message):
        decision_record(
            application_id=application.pk, actor=reviewer, kind=kind, rationale=rationale
        )

    assert Decision.objects.filter(application=application).count() == 1


def test_it_refuses_a_second_clearance_and_a_clearance_outside_evidence_review_in_words(
    organisation, reviewer
):
    waiting = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    testing = make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)

    with refused(
        TransitionRefused,
        "A clearance is already waiting for a countersignature; withdraw it first.",
    ):
        decision_record(application_id=waiting.pk, actor=reviewer, kind="clear", rationale="Again.")
    with refused(
        TransitionRefused,
        "Clearance is proposed while an application is in evidence review; this one is in "
        "controlled testing.",
    ):
        decision_record(application_id=testing.pk, actor=reviewer, kind="clear", rationale="Ok.")

    assert Decision.objects.filter(application=testing).count() == 0


def test_it_refuses_to_withdraw_a_clearance_in_words(organisation, reviewer, other_reviewer):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    proposed = application.pending_clearance()

    with refused(TransitionRefused, "Say why the clearance is withdrawn."):
        clearance_withdraw(application_id=application.pk, actor=reviewer, reason=" \n")
    with refused(
        PermissionError,
        "Only the reviewer who proposed the clearance or a lead reviewer can withdraw it.",
    ):
        clearance_withdraw(application_id=application.pk, actor=other_reviewer, reason="No.")

    proposed.refresh_from_db()
    assert proposed.withdrawn_at is None
    assert not InternalNote.objects.exists()

    Decision.objects.filter(pk=proposed.pk).update(withdrawn_at=timezone.now())
    with refused(TransitionRefused, "There is no clearance waiting for a countersignature."):
        clearance_withdraw(application_id=application.pk, actor=reviewer, reason="Again.")
