"""What the site says reads as a person would say it: a stage in its sentence form, an unclear
criterion as unclear, "another" lead reviewer only when the proposer is one."""

import pytest
from django.urls import reverse

from devices.models import STATE_WORDS, ApplicationState
from devices.services import TransitionRefused, application_transition, refusal_reason
from reviews.decisions import clearance_countersign
from reviews.models import EligibilityCriterion, ScreeningAssessment, ScreeningOutcome
from tests.factories import make_application

pytestmark = pytest.mark.django_db

S = ApplicationState


def test_every_state_has_its_sentence_form():
    assert set(STATE_WORDS) == set(S)
    assert S.EVIDENCE_REVIEW.in_words == "in evidence review"
    assert S.SCREENING.in_words == "being screened"


def test_a_change_of_state_is_announced_in_its_sentence_form(client, reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(reviewer)

    response = client.post(
        reverse("reviews:transition", args=[application.pk, "start_screening"]), follow=True
    )

    page = response.content.decode()
    assert f"{application.reference} is now being screened." in page
    assert "is now screening" not in page


def test_an_unclear_criterion_is_reported_as_unclear_not_as_not_met(reviewer):
    application = make_application(S.SCREENING)
    criteria = list(EligibilityCriterion.objects.filter(is_active=True))
    ScreeningAssessment.objects.filter(application=application, criterion=criteria[0]).update(
        outcome=ScreeningOutcome.UNCLEAR
    )
    ScreeningAssessment.objects.filter(application=application, criterion=criteria[1]).update(
        outcome=ScreeningOutcome.NOT_MET
    )

    refusal = refusal_reason(application, "accept", reviewer)

    assert f"not met: {criteria[1].title};" in refusal
    assert f"unclear (ask the manufacturer for more information): {criteria[0].title}." in refusal
    assert criteria[0].title not in refusal.split("unclear")[0]


def test_a_reviewer_who_proposed_is_told_a_lead_reviewer_must_countersign(reviewer):
    # The factory's clearance was proposed by an ordinary reviewer.
    application = make_application(S.EVIDENCE_REVIEW)
    proposer = application.pending_clearance().decided_by

    with pytest.raises(TransitionRefused) as refused:
        clearance_countersign(application_id=application.pk, actor=proposer)

    assert str(refused.value) == (
        "You proposed this clearance: a lead reviewer must countersign it."
    )


def test_refusals_name_the_states_in_their_sentence_form(reviewer):
    application = make_application(S.EVIDENCE_REVIEW)

    with pytest.raises(TransitionRefused) as refused:
        application_transition(
            application_id=application.pk, action="start_screening", actor=reviewer
        )

    assert "only possible when an application is submitted; this one is in evidence review" in (
        str(refused.value)
    )
