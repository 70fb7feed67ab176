"""Each rule of the state machine (devices/models/rules.py) refuses in whole words, asked of
the transition service every caller uses.

The rule tests elsewhere check that a refusal happens and name a part of it; these pin the
sentence people read, so a rule whose words lost their subject, their count or the list of
what is missing fails here. Mutation testing (docs/TESTING.md) found these unpinned.
"""

import pytest
from django.utils import timezone

from airlock.roles import Role
from devices.models import ApplicationState, EvidenceKind
from devices.services import TransitionRefused, application_transition
from reviews.models import (
    ConflictOfInterest,
    EligibilityCriterion,
    ScreeningAssessment,
    ScreeningOutcome,
)
from tests.factories import UserFactory, make_application
from tests.refusals import refused as whole_refusal

pytestmark = pytest.mark.django_db

S = ApplicationState


def refused(message):
    return whole_refusal(TransitionRefused, message)


def attempt(application, action, actor, **kwargs):
    application_transition(application_id=application.pk, action=action, actor=actor, **kwargs)


def test_only_regulator_reviewers_take_a_reviewers_step(organisation, manufacturer):
    application = make_application(S.SUBMITTED, organisation=organisation)

    with refused("Only regulator reviewers can do this."):
        attempt(application, "start_screening", manufacturer)

    application.refresh_from_db()
    assert application.state == S.SUBMITTED


def test_a_conflicted_reviewer_is_told_of_the_conflict(organisation, reviewer):
    application = make_application(S.SUBMITTED, organisation=organisation)
    ConflictOfInterest.objects.create(reviewer=reviewer, organisation=organisation, reason="X")

    with refused(f"You have declared a conflict of interest with {organisation}."):
        attempt(application, "start_screening", reviewer)


def test_only_a_lead_reviewer_countersigns_a_clearance(organisation):
    # The factory's clearance was proposed by another reviewer.
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    colleague = UserFactory(email="colleague@example.test", role=Role.REVIEWER)

    with refused("Only a lead reviewer can countersign a clearance."):
        attempt(application, "clear", colleague)


def test_the_proposer_is_told_who_must_countersign_instead(organisation, lead_reviewer):
    # Four eyes: "another" lead reviewer only when the proposer is one.
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    proposer = application.pending_clearance().decided_by

    with refused("You proposed this clearance: a lead reviewer must countersign it."):
        attempt(application, "clear", proposer)

    application.decisions.update(decided_by=lead_reviewer)
    with refused("You proposed this clearance: another lead reviewer must countersign it."):
        attempt(application, "clear", lead_reviewer)


def test_a_conflicted_lead_reviewer_does_not_countersign(organisation, lead_reviewer):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    ConflictOfInterest.objects.create(reviewer=lead_reviewer, organisation=organisation, reason="X")

    with refused(f"You have declared a conflict of interest with {organisation}."):
        attempt(application, "clear", lead_reviewer)

    application.refresh_from_db()
    assert application.state == S.EVIDENCE_REVIEW


def test_a_draft_answering_no_call_is_not_submitted(organisation, manufacturer):
    application = make_application(S.DRAFT, organisation=organisation)
    type(application).objects.filter(pk=application.pk).update(call=None)

    with refused(
        "This draft answers no call for applications: start a new application against an open call."
    ):
        attempt(application, "submit", manufacturer)


def test_a_draft_of_an_unapproved_organisation_waits_for_approval(organisation, manufacturer):
    application = make_application(S.DRAFT, organisation=organisation)
    type(organisation).objects.filter(pk=organisation.pk).update(approved_at=None)

    with refused(
        f"{organisation} is waiting for the regulator to approve its registration. You can "
        "prepare drafts now and submit once it is approved; we will email you."
    ):
        attempt(application, "submit", manufacturer)


def test_submitting_names_every_missing_detail_and_document_in_order(organisation, manufacturer):
    application = make_application(S.DRAFT, organisation=organisation)
    type(application).objects.filter(pk=application.pk).update(regulatory_challenge="", maturity="")
    with refused("Complete the regulatory challenge, the device's maturity first."):
        attempt(application, "submit", manufacturer)

    type(application).objects.filter(pk=application.pk).update(
        regulatory_challenge="Adaptive model.", maturity="Validated."
    )
    application.evidence.exclude(kind=EvidenceKind.CLINICAL_EVALUATION).update(is_current=False)
    with refused(
        "Upload the required evidence first: Risk management file (ISO 14971); "
        f"{EvidenceKind.DATA_PROTECTION.label}."
    ):
        attempt(application, "submit", manufacturer)

    application.refresh_from_db()
    assert application.state == S.DRAFT


def test_acceptance_waits_for_every_criterion_to_be_assessed_and_met(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)
    criteria = list(EligibilityCriterion.objects.for_application(application))
    assessments = ScreeningAssessment.objects.filter(application=application)
    assessments.filter(criterion__in=criteria[:2]).delete()

    with refused("Assess every eligibility criterion first (2 still to assess)."):
        attempt(application, "accept", reviewer)

    for criterion in criteria[:2]:
        ScreeningAssessment.objects.create(
            application=application,
            criterion=criterion,
            outcome=ScreeningOutcome.MET,
            comment="Met.",
            assessor=reviewer,
        )
    assessments.filter(criterion=criteria[0]).update(outcome=ScreeningOutcome.NOT_MET)
    unmet = criteria[0].title
    with refused(f"Every eligibility criterion must be met to accept; not met: {unmet}."):
        attempt(application, "accept", reviewer)

    application.refresh_from_db()
    assert application.state == S.SCREENING


def test_acceptance_names_every_unmet_and_unclear_criterion(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)
    criteria = [c.title for c in EligibilityCriterion.objects.for_application(application)]
    assessments = ScreeningAssessment.objects.filter(application=application)
    assessments.filter(criterion__title__in=criteria[:2]).update(outcome=ScreeningOutcome.NOT_MET)
    assessments.filter(criterion__title__in=criteria[2:4]).update(outcome=ScreeningOutcome.UNCLEAR)

    with refused(
        f"Every eligibility criterion must be met to accept; not met: {criteria[0]}, "
        f"{criteria[1]}; unclear (ask the manufacturer for more information): {criteria[2]}, "
        f"{criteria[3]}."
    ):
        attempt(application, "accept", reviewer)


def test_clearance_needs_a_proposal_first(organisation, lead_reviewer):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    # The factory's proposal, withdrawn: nothing is left to countersign.
    application.decisions.update(withdrawn_at=timezone.now())

    with refused("A reviewer must propose clearance, with a rationale, first."):
        attempt(application, "clear", lead_reviewer)
