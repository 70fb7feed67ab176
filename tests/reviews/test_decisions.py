import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from airlock.roles import Role
from devices.models import ApplicationEvent, ApplicationState
from devices.services import TransitionRefused
from notifications.models import Notification
from reviews.decisions import (
    PrincipleRating,
    clearance_countersign,
    decision_record,
    evidence_assess,
)
from reviews.models import (
    ConflictOfInterest,
    Decision,
    DecisionKind,
    EvidenceAssessment,
    GmlpPrinciple,
    GmlpRating,
    InternalNote,
)
from tests.factories import UserFactory, make_application

S = ApplicationState


def _url(name: str, application) -> str:
    return reverse(f"reviews:{name}", args=[application.pk])


def _gmlp_data(rating: str = "met", comment: str = "Well evidenced.", **overrides) -> dict:
    data = {
        "gmlp-TOTAL_FORMS": "10",
        "gmlp-INITIAL_FORMS": "10",
        "gmlp-MIN_NUM_FORMS": "0",
        "gmlp-MAX_NUM_FORMS": "10",
    }
    for index, principle in enumerate(GmlpPrinciple):
        data[f"gmlp-{index}-principle"] = str(principle.value)
        data[f"gmlp-{index}-rating"] = rating
        data[f"gmlp-{index}-comment"] = comment
    data.update(overrides)
    return data


def _assess_all(application, assessor) -> None:
    evidence_assess(
        application_id=application.pk,
        actor=assessor,
        ratings=[PrincipleRating(p.value, GmlpRating.MET, "Fine.") for p in GmlpPrinciple],
    )


@pytest.fixture
def under_review(db):
    """An application in evidence review with no clearance proposed yet."""
    application = make_application(S.EVIDENCE_REVIEW)
    application.decisions.all().delete()
    return application


# --- GMLP assessment -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["reviewer", "lead_reviewer"])
def test_reviewers_rate_all_ten_gmlp_principles(client, request, persona, under_review):
    actor = request.getfixturevalue(persona)
    client.force_login(actor)

    page = client.get(_url("evidence-review", under_review)).content.decode()
    response = client.post(_url("evidence-review", under_review), _gmlp_data())

    for principle in GmlpPrinciple:
        assert principle.label in page
    assert response.status_code == 302
    assessments = EvidenceAssessment.objects.filter(application=under_review)
    assert sorted(a.principle for a in assessments) == list(range(1, 11))
    assert {a.assessor for a in assessments} == {actor}


def test_principles_left_blank_are_kept_for_later(client, reviewer, under_review):
    data = _gmlp_data()
    for index in range(3, 10):
        data[f"gmlp-{index}-rating"] = ""
        data[f"gmlp-{index}-comment"] = ""
    client.force_login(reviewer)

    client.post(_url("evidence-review", under_review), data)

    assert EvidenceAssessment.objects.count() == 3


def test_a_rating_without_a_comment_is_a_field_error(client, reviewer, under_review):
    client.force_login(reviewer)

    response = client.post(
        _url("evidence-review", under_review),
        _gmlp_data(**{"gmlp-0-comment": "", "gmlp-1-rating": "superb"}),
    )

    assert response.status_code == 200
    forms = response.context["formset"].forms
    assert forms[0].errors.keys() == {"comment"}
    assert forms[1].errors.keys() == {"rating"}
    assert "There is a problem" in response.content.decode()
    assert not EvidenceAssessment.objects.exists()


@pytest.mark.parametrize(
    "tampering",
    [
        {"gmlp-1-principle": "1"},
        {"gmlp-1-principle": "11"},
        {"gmlp-TOTAL_FORMS": "3"},
        {"gmlp-TOTAL_FORMS": "nonsense"},
        {"gmlp-TOTAL_FORMS": "500"},
    ],
)
def test_a_tampered_formset_is_refused_without_a_500(client, reviewer, under_review, tampering):
    client.force_login(reviewer)

    response = client.post(_url("evidence-review", under_review), _gmlp_data(**tampering))

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert not EvidenceAssessment.objects.exists()


def test_assessing_evidence_is_refused_outside_evidence_review(client, reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    client.force_login(reviewer)

    response = client.post(_url("evidence-review", application), _gmlp_data(), follow=True)

    assert "only while an application is in evidence review" in response.content.decode()
    assert not EvidenceAssessment.objects.exists()


# --- Decisions -------------------------------------------------------------------------------


def test_proposing_clearance_needs_all_ten_principles(client, reviewer, under_review):
    evidence_assess(
        application_id=under_review.pk,
        actor=reviewer,
        ratings=[PrincipleRating(1, GmlpRating.MET, "Fine.")],
    )
    client.force_login(reviewer)

    response = client.post(
        _url("decision", under_review), {"kind": "clear", "rationale": "Good."}, follow=True
    )

    assert "(9 still to assess)" in response.content.decode()
    assert not Decision.objects.exists()
    with pytest.raises(TransitionRefused, match="9 still to assess"):
        decision_record(
            application_id=under_review.pk, actor=reviewer, kind="clear", rationale="Good."
        )


def test_a_reviewer_proposes_clearance_which_waits_for_a_countersignature(
    client, reviewer, lead_reviewer, under_review
):
    _assess_all(under_review, reviewer)
    client.force_login(reviewer)
    data = {
        "kind": "clear",
        "rationale": "All principles met.",
        "expected_state": S.EVIDENCE_REVIEW,
    }

    form = client.get(_url("decision", under_review)).content.decode()
    confirm = client.post(_url("decision", under_review), data)
    assert under_review.pending_clearance() is None  # nothing is recorded before confirming
    response = client.post(_url("decision", under_review), {**data, "confirm": "yes"})

    # An ordinary reviewer's proposal needs "a" lead reviewer, not "another".
    assert "Propose clearance (a lead reviewer must countersign)" in form
    assert "What will happen" in confirm.content.decode()
    assert "It takes effect only when a lead reviewer other than you countersigns it" in (
        confirm.content.decode()
    )
    assert response.status_code == 302
    under_review.refresh_from_db()
    assert under_review.state == S.EVIDENCE_REVIEW
    decision = under_review.pending_clearance()
    assert (decision.decided_by, decision.rationale) == (reviewer, "All principles met.")
    assert not ApplicationEvent.objects.filter(application=under_review).exists()
    page = client.get(_url("decision", under_review)).content.decode()
    assert "Clearance waiting for a countersignature" in page
    # The lead reviewers hear that a clearance waits for them.
    notice = Notification.objects.get(kind="countersignature")
    assert notice.recipient == lead_reviewer
    assert notice.url == _url("countersign", under_review)


def test_going_back_from_the_confirmation_keeps_what_was_written(client, reviewer, under_review):
    _assess_all(under_review, reviewer)
    client.force_login(reviewer)

    response = client.post(
        _url("decision", under_review),
        {"kind": "not_clear", "rationale": "Subgroup gaps.", "back": "yes"},
    )

    assert response.status_code == 200
    assert "Subgroup gaps." in response.content.decode()
    assert not Decision.objects.exists()


def test_a_second_proposal_is_refused_while_one_is_pending(reviewer, lead_reviewer):
    application = make_application(S.EVIDENCE_REVIEW)
    _assess_all(application, reviewer)

    with pytest.raises(TransitionRefused, match="already waiting"):
        decision_record(
            application_id=application.pk, actor=lead_reviewer, kind="clear", rationale="Me too."
        )


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        (DecisionKind.NOT_CLEAR, S.NOT_CLEARED),
        (DecisionKind.EXTEND_TESTING, S.IN_CONTROLLED_TESTING),
    ],
)
@pytest.mark.parametrize("persona", ["reviewer", "lead_reviewer"])
def test_not_clear_and_extend_testing_take_effect_at_once(client, request, persona, kind, target):
    reviewer = request.getfixturevalue(persona)
    application = make_application(S.EVIDENCE_REVIEW)
    proposed = application.pending_clearance()
    client.force_login(reviewer)

    data = {
        "kind": kind,
        "rationale": "Subgroup sensitivity too low.",
        "expected_state": S.EVIDENCE_REVIEW,
    }

    confirm = client.post(_url("decision", application), data)
    response = client.post(_url("decision", application), {**data, "confirm": "yes"})

    assert "What will happen" in confirm.content.decode()
    if kind == DecisionKind.NOT_CLEAR:
        assert "This cannot be undone." in confirm.content.decode()
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == target
    assert Decision.objects.get(application=application, kind=kind).decided_by == reviewer
    proposed.refresh_from_db()
    assert proposed.withdrawn_at is not None
    event = ApplicationEvent.objects.get(application=application)
    assert event.reason == "Subgroup sensitivity too low."


def test_a_decision_needs_a_kind_and_a_rationale(client, reviewer, under_review):
    client.force_login(reviewer)

    response = client.post(_url("decision", under_review), {"kind": "approve", "rationale": ""})

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"kind", "rationale"}
    assert "There is a problem" in response.content.decode()


def test_decisions_are_refused_outside_evidence_review(client, reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    client.force_login(reviewer)

    client.post(
        _url("decision", application), {"kind": "not_clear", "rationale": "No.", "confirm": "yes"}
    )

    application.refresh_from_db()
    assert application.state == S.IN_CONTROLLED_TESTING
    assert not Decision.objects.exists()


def test_manufacturers_cannot_decide_in_the_service(manufacturer, organisation):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)

    for kind in ("clear", "not_clear", "extend_testing"):
        with pytest.raises((TransitionRefused, PermissionError)):
            decision_record(
                application_id=application.pk, actor=manufacturer, kind=kind, rationale="Mine."
            )
    application.refresh_from_db()
    assert application.state == S.EVIDENCE_REVIEW


# --- Four eyes -------------------------------------------------------------------------------


def test_another_lead_countersigns_and_the_case_is_cleared(client, lead_reviewer):
    application = make_application(S.EVIDENCE_REVIEW)
    proposal = application.pending_clearance()
    client.force_login(lead_reviewer)

    listing = client.get(reverse("reviews:countersignatures")).content.decode()
    page = client.get(_url("countersign", application)).content.decode()
    response = client.post(_url("countersign", application), {"expected_state": S.EVIDENCE_REVIEW})

    assert application.reference in listing
    assert _url("countersign", application) in listing
    assert "What countersigning does" in page
    assert "This cannot be undone." in page
    assert "Safety record" in page
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == S.CLEARED
    proposal.refresh_from_db()
    assert proposal.countersigned_by == lead_reviewer
    assert proposal.countersigned_at is not None
    event = ApplicationEvent.objects.get(application=application)
    assert (event.transition, event.actor) == ("clear", lead_reviewer)
    assert "countersigned by Leo Okafor" in event.reason


def test_the_proposer_cannot_countersign_even_as_a_lead(client, lead_reviewer, under_review):
    _assess_all(under_review, lead_reviewer)
    decision_record(
        application_id=under_review.pk, actor=lead_reviewer, kind="clear", rationale="Mine."
    )
    client.force_login(lead_reviewer)

    listing = client.get(reverse("reviews:countersignatures")).content.decode()
    page = client.get(_url("countersign", under_review)).content.decode()
    response = client.post(_url("countersign", under_review), follow=True)

    assert under_review.reference not in listing
    assert "You proposed this clearance: another lead reviewer must countersign it." in page
    assert "another lead reviewer must countersign it" in response.content.decode()
    under_review.refresh_from_db()
    assert under_review.state == S.EVIDENCE_REVIEW
    assert under_review.pending_clearance().countersigned_by is None
    with pytest.raises(TransitionRefused, match="another lead reviewer"):
        clearance_countersign(application_id=under_review.pk, actor=lead_reviewer)


def test_the_proposer_cannot_countersign_even_as_an_administrator(admin_user, under_review):
    _assess_all(under_review, admin_user)
    decision_record(application_id=under_review.pk, actor=admin_user, kind="clear", rationale="Ok")

    with pytest.raises(TransitionRefused):
        clearance_countersign(application_id=under_review.pk, actor=admin_user)


def test_the_database_refuses_a_self_countersigned_decision(lead_reviewer, under_review):
    decision = Decision.objects.create(
        application=under_review, kind="clear", rationale="Mine.", decided_by=lead_reviewer
    )
    decision.countersigned_by = lead_reviewer
    decision.countersigned_at = timezone.now()

    with pytest.raises(IntegrityError), transaction.atomic():
        decision.save()


def test_reviewers_cannot_countersign(client, reviewer):
    application = make_application(S.EVIDENCE_REVIEW)
    client.force_login(reviewer)

    assert client.post(_url("countersign", application)).status_code == 403
    assert client.get(reverse("reviews:countersignatures")).status_code == 403
    with pytest.raises(TransitionRefused, match="Only a lead reviewer"):
        clearance_countersign(application_id=application.pk, actor=reviewer)
    application.refresh_from_db()
    assert application.state == S.EVIDENCE_REVIEW


def test_a_conflicted_lead_cannot_countersign(lead_reviewer):
    application = make_application(S.EVIDENCE_REVIEW)
    ConflictOfInterest.objects.create(
        reviewer=lead_reviewer, organisation=application.organisation, reason="Shares."
    )

    with pytest.raises(TransitionRefused, match="conflict of interest"):
        clearance_countersign(application_id=application.pk, actor=lead_reviewer)


def test_countersigning_with_nothing_proposed_is_refused(client, lead_reviewer, under_review):
    client.force_login(lead_reviewer)

    response = client.post(_url("countersign", under_review), follow=True)

    assert "must propose clearance" in response.content.decode()
    under_review.refresh_from_db()
    assert under_review.state == S.EVIDENCE_REVIEW


def test_the_proposer_withdraws_a_clearance_with_a_reason(client, db):
    application = make_application(S.EVIDENCE_REVIEW)
    proposal = application.pending_clearance()
    client.force_login(proposal.decided_by)

    client.post(_url("withdraw-clearance", application), {"reason": "New incident reported."})

    proposal.refresh_from_db()
    assert proposal.withdrawn_at is not None
    note = InternalNote.objects.get()
    assert "New incident reported." in note.body
    assert application.pending_clearance() is None


def test_only_the_proposer_or_a_lead_may_withdraw(client, reviewer, lead_reviewer):
    application = make_application(S.EVIDENCE_REVIEW)
    client.force_login(reviewer)

    response = client.post(_url("withdraw-clearance", application), {"reason": "Hmm."}, follow=True)
    assert "Only the reviewer who proposed the clearance" in response.content.decode()
    assert application.pending_clearance() is not None

    assert client.post(_url("withdraw-clearance", application), {"reason": ""}).status_code == 200
    client.force_login(lead_reviewer)
    client.post(_url("withdraw-clearance", application), {"reason": "Needs another look."})
    assert application.pending_clearance() is None


def test_a_second_lead_sees_the_pending_clearance_on_their_home(client, db):
    application = make_application(S.EVIDENCE_REVIEW)
    other_lead = UserFactory(role=Role.LEAD_REVIEWER)
    client.force_login(other_lead)

    page = client.get(reverse("reviews:home")).content.decode()

    assert "Clearances to countersign" in page
    assert application.reference in page


def test_the_countersignature_list_costs_the_same_whatever_its_length(
    client, lead_reviewer, django_assert_max_num_queries
):
    for _ in range(6):
        make_application(S.EVIDENCE_REVIEW)
    client.force_login(lead_reviewer)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("reviews:countersignatures"))

    assert len(response.context["pending"]) == 6
