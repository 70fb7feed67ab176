"""What the decision services record, asked of the services themselves: accepting and
rejecting at screening (reviews.services), and proposing, countersigning and withdrawing a
clearance or deciding not to clear (reviews.decisions). Who decided, what was kept of the
rationale, the transition's audit row, who was told, and that a page showing an older state
is refused at every step.

test_decisions.py and test_screening.py drive these through the pages; mutation testing
(docs/TESTING.md) dropped the actor, the stale-page check and the stored rationale without
them noticing.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from airlock.roles import Role
from devices.models import ApplicationEvent, ApplicationState
from devices.services import TransitionRefused
from notifications.models import Notification, NotificationKind
from reviews.decisions import (
    clearance_countersign,
    clearance_withdraw,
    decision_record,
)
from reviews.models import Decision, DecisionKind, InternalNote
from reviews.services import application_accept, application_reject
from tests.factories import CohortFactory, UserFactory, make_application

pytestmark = pytest.mark.django_db

S = ApplicationState
STALE = "Someone else changed this application while you were looking at it"


@pytest.fixture
def second_lead(db):
    return UserFactory(email="lead2@example.test", full_name="Lia Second", role=Role.LEAD_REVIEWER)


def _event(application, transition):
    event = ApplicationEvent.objects.get(application=application, transition=transition)
    return (event.actor, event.from_state, event.to_state, event.reason)


# --- Screening decisions (reviews.services) ----------------------------------------------------


def test_a_rejection_records_who_and_why_trimmed(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)

    decision = application_reject(
        application_id=application.pk,
        actor=reviewer,
        rationale="  Out of scope.\n",
        expected_state=S.SCREENING,
    )

    decision.refresh_from_db()
    assert (decision.application, decision.kind, decision.decided_by, decision.rationale) == (
        application,
        DecisionKind.REJECT,
        reviewer,
        "Out of scope.",
    )
    assert _event(application, "reject")[:3] == (reviewer, S.SCREENING, S.REJECTED)


def test_an_acceptance_records_who_and_why_trimmed(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)
    cohort = CohortFactory()

    decision = application_accept(
        application_id=application.pk,
        actor=reviewer,
        cohort=cohort,
        rationale="  Meets every criterion.\n",
        expected_state=S.SCREENING,
    )

    decision.refresh_from_db()
    assert (decision.kind, decision.decided_by, decision.rationale) == (
        DecisionKind.ACCEPT,
        reviewer,
        "Meets every criterion.",
    )
    application.refresh_from_db()
    assert (application.state, application.cohort) == (S.ACCEPTED, cohort)
    assert _event(application, "accept")[:3] == (reviewer, S.SCREENING, S.ACCEPTED)


def test_screening_decisions_refuse_a_page_showing_an_older_state(organisation, reviewer):
    application = make_application(S.SCREENING, organisation=organisation)

    with pytest.raises(TransitionRefused, match=STALE):
        application_reject(
            application_id=application.pk,
            actor=reviewer,
            rationale="No.",
            expected_state=S.SUBMITTED,
        )
    with pytest.raises(TransitionRefused, match=STALE):
        application_accept(
            application_id=application.pk,
            actor=reviewer,
            cohort=CohortFactory(),
            rationale="Yes.",
            expected_state=S.SUBMITTED,
        )

    application.refresh_from_db()
    assert application.state == S.SCREENING
    assert not Decision.objects.filter(application=application).exists()


# --- Evidence review decisions (reviews.decisions) ---------------------------------------------


@pytest.fixture
def assessed(organisation):
    """In evidence review, all ten principles met, nothing proposed yet."""
    from reviews.models import EvidenceAssessment, GmlpPrinciple, GmlpRating

    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    application.decisions.all().delete()
    assessor = UserFactory(role=Role.REVIEWER)
    EvidenceAssessment.objects.bulk_create(
        EvidenceAssessment(
            application=application,
            principle=principle,
            rating=GmlpRating.MET,
            comment="Met.",
            assessor=assessor,
        )
        for principle in GmlpPrinciple.values
    )
    return application


def test_a_proposed_clearance_tells_every_other_lead(assessed, lead_reviewer, second_lead):
    decision = decision_record(
        application_id=assessed.pk,
        actor=lead_reviewer,
        kind=DecisionKind.CLEAR,
        rationale="  All met.\n",
        expected_state=S.EVIDENCE_REVIEW,
    )

    decision.refresh_from_db()
    assert (decision.kind, decision.decided_by, decision.rationale) == (
        DecisionKind.CLEAR,
        lead_reviewer,
        "All met.",
    )
    assessed.refresh_from_db()
    assert assessed.state == S.EVIDENCE_REVIEW  # only proposed
    # The proposer is a lead too, and is not told of their own proposal.
    notice = Notification.objects.get(kind=NotificationKind.COUNTERSIGNATURE)
    assert (notice.recipient, notice.application, notice.key, notice.url) == (
        second_lead,
        assessed,
        f"decision:{decision.pk}:proposed",
        reverse("reviews:countersign", args=[assessed.pk]),
    )
    assert notice.title == f"{assessed.reference}: clearance to countersign"
    assert notice.body == (
        f"{lead_reviewer} proposed clearing {assessed.title}. It takes effect only when a lead "
        "reviewer other than the proposer countersigns it."
    )


def test_every_decision_refuses_a_page_showing_an_older_state(assessed, lead_reviewer):
    for kind in (DecisionKind.CLEAR, DecisionKind.NOT_CLEAR):
        with pytest.raises(TransitionRefused, match=STALE):
            decision_record(
                application_id=assessed.pk,
                actor=lead_reviewer,
                kind=kind,
                rationale="Fine.",
                expected_state=S.IN_CONTROLLED_TESTING,
            )

    assert not Decision.objects.filter(application=assessed).exists()


def test_not_clearing_sets_aside_only_the_clearance_still_waiting(organisation, reviewer):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    waiting = application.pending_clearance()
    earlier = Decision.objects.create(
        application=application,
        kind=DecisionKind.CLEAR,
        rationale="Earlier.",
        decided_by=waiting.decided_by,
        withdrawn_at=timezone.now() - timedelta(days=3),
    )
    earlier_withdrawn = earlier.withdrawn_at

    decision = decision_record(
        application_id=application.pk,
        actor=reviewer,
        kind=DecisionKind.NOT_CLEAR,
        rationale="  Drift unexplained.\n",
    )

    waiting.refresh_from_db()
    earlier.refresh_from_db()
    assert waiting.withdrawn_at is not None
    assert earlier.withdrawn_at == earlier_withdrawn
    assert (decision.kind, decision.decided_by, decision.rationale) == (
        DecisionKind.NOT_CLEAR,
        reviewer,
        "Drift unexplained.",
    )
    assert _event(application, "not_clear") == (
        reviewer,
        S.EVIDENCE_REVIEW,
        S.NOT_CLEARED,
        "Drift unexplained.",
    )


def test_a_countersignature_records_both_names_on_the_case(organisation, lead_reviewer):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    proposed = application.pending_clearance()

    with pytest.raises(TransitionRefused, match=STALE):
        clearance_countersign(
            application_id=application.pk, actor=lead_reviewer, expected_state=S.SUSPENDED
        )
    decision = clearance_countersign(application_id=application.pk, actor=lead_reviewer)

    decision.refresh_from_db()
    assert decision.pk == proposed.pk
    assert decision.countersigned_by == lead_reviewer
    assert decision.countersigned_at is not None
    assert _event(application, "clear") == (
        lead_reviewer,
        S.EVIDENCE_REVIEW,
        S.CLEARED,
        f"{proposed.rationale}\n\nProposed by {proposed.decided_by}, countersigned by "
        f"{lead_reviewer}.",
    )


def test_a_withdrawn_clearance_keeps_its_reason_as_a_note(organisation, lead_reviewer):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    proposed = application.pending_clearance()

    with pytest.raises(TransitionRefused, match=STALE):
        clearance_withdraw(
            application_id=application.pk,
            actor=lead_reviewer,
            reason="Wait.",
            expected_state=S.SUSPENDED,
        )
    proposed.refresh_from_db()
    assert proposed.withdrawn_at is None

    # A lead who did not propose it may withdraw it.
    decision = clearance_withdraw(
        application_id=application.pk, actor=lead_reviewer, reason="  Signal opened.\n"
    )

    decision.refresh_from_db()
    assert decision.pk == proposed.pk
    assert decision.withdrawn_at is not None
    assert application.pending_clearance() is None
    note = InternalNote.objects.get(application=application)
    assert (note.author, note.body) == (
        lead_reviewer,
        f"Withdrew the clearance proposed by {proposed.decided_by}: Signal opened.",
    )


def test_the_proposer_withdraws_their_own_clearance(organisation):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    proposer = application.pending_clearance().decided_by

    clearance_withdraw(application_id=application.pk, actor=proposer, reason="Too soon.")

    assert application.pending_clearance() is None
