"""Evidence review against the GMLP principles, and the decisions that close it: proposing a
clearance (never over an open safety signal), its four-eyes countersignature, not clearing,
and extending testing."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from airlock.models import User
from devices.models import NO_OPEN_SIGNALS, REVIEWER, Application, ApplicationState
from devices.services import TransitionRefused, check_fresh, lock_application, transition_locked
from notifications import recipients
from notifications.models import NotificationKind
from notifications.services import notify
from reviews.models import Decision, DecisionKind, EvidenceAssessment, GmlpPrinciple, InternalNote
from reviews.services import locked_for_reviewer, require_state

S = ApplicationState


@dataclass(frozen=True)
class PrincipleRating:
    principle: int
    rating: str
    comment: str


def evidence_assess(
    *,
    application_id: int,
    actor: User,
    ratings: Sequence[PrincipleRating],
    expected_state: str | None = None,
) -> int:
    """Record (or revise) the actor's rating of GMLP principles; return how many."""
    with transaction.atomic():
        application = locked_for_reviewer(application_id, actor, expected_state)
        require_state(application, {S.EVIDENCE_REVIEW}, "assess the evidence")
        for item in ratings:
            if item.principle not in GmlpPrinciple.values:
                raise TransitionRefused("There are ten GMLP principles, numbered 1 to 10.")
            if not item.comment.strip():
                raise TransitionRefused("Every rating needs a comment.")
        now = timezone.now()
        for item in ratings:
            EvidenceAssessment.objects.update_or_create(
                application=application,
                principle=item.principle,
                defaults={
                    "rating": item.rating,
                    "comment": item.comment.strip(),
                    "assessor": actor,
                    "assessed_at": now,
                },
            )
    return len(ratings)


def _gmlp_unassessed(application: Application) -> int:
    return len(GmlpPrinciple) - application.evidence_assessments.count()


def _withdraw_pending_clearance(application: Application) -> None:
    Decision.objects.filter(
        application=application,
        kind=DecisionKind.CLEAR,
        countersigned_at__isnull=True,
        withdrawn_at__isnull=True,
    ).update(withdrawn_at=timezone.now())


DECIDABLE = (DecisionKind.CLEAR, DecisionKind.NOT_CLEAR, DecisionKind.EXTEND_TESTING)


def clearance_refusal(application: Application, actor: User) -> str | None:
    """Why `actor` cannot propose clearing this case now, in words; None if they can."""
    if not REVIEWER(application, actor):
        return REVIEWER.refusal(application, actor)
    if application.state != S.EVIDENCE_REVIEW:
        return (
            "Clearance is proposed while an application is in evidence review; this one is "
            f"{application.state_enum.in_words}."
        )
    if application.pending_clearance() is not None:
        return "A clearance is already waiting for a countersignature; withdraw it first."
    unassessed = _gmlp_unassessed(application)
    if unassessed:
        return (
            f"Assess all ten GMLP principles before proposing clearance "
            f"({unassessed} still to assess)."
        )
    if not NO_OPEN_SIGNALS(application):
        return NO_OPEN_SIGNALS.refusal(application)
    return None


def decision_record(
    *,
    application_id: int,
    actor: User,
    kind: str,
    rationale: str,
    expected_state: str | None = None,
) -> Decision:
    """Decide an evidence review: propose clearance, do not clear, or extend testing.

    A clearance is only proposed here, and never over an open safety signal: it takes effect
    when another lead reviewer countersigns it (`clearance_countersign`), and the lead
    reviewers are told it is waiting. "Do not clear" and "extend testing" take effect at once
    and set aside any clearance still waiting for a countersignature.
    """
    if kind not in DECIDABLE:
        raise TransitionRefused("Choose clear, do not clear, or extend testing.")
    if not rationale.strip():
        raise TransitionRefused("Give the rationale for the decision: it goes on the case record.")
    with transaction.atomic():
        application = lock_application(application_id)
        if kind == DecisionKind.CLEAR:
            check_fresh(application, expected_state)
            refusal = clearance_refusal(application, actor)
            if refusal:
                if not REVIEWER(application, actor):
                    raise PermissionError(refusal)
                raise TransitionRefused(refusal)
        else:
            transition_locked(
                application,
                action=kind,
                actor=actor,
                reason=rationale,
                expected_state=expected_state,
            )
            _withdraw_pending_clearance(application)
        decision = Decision.objects.create(
            application=application, kind=kind, rationale=rationale.strip(), decided_by=actor
        )
        if kind == DecisionKind.CLEAR:
            notify(
                recipients.lead_reviewers(application),
                application=application,
                kind=NotificationKind.COUNTERSIGNATURE,
                key=f"decision:{decision.pk}:proposed",
                title=f"{application.reference}: clearance to countersign",
                body=f"{actor} proposed clearing {application.title}. It takes effect only when "
                "a lead reviewer other than the proposer countersigns it.",
                url=reverse("reviews:countersign", args=[application.pk]),
                exclude=actor,
            )
    return decision


def clearance_countersign(
    *, application_id: int, actor: User, expected_state: str | None = None
) -> Decision:
    """Countersign a proposed clearance: the case is cleared.

    Four eyes: the "clear" transition refuses anyone but a lead reviewer who did not propose
    it, and the database refuses a decision countersigned by its own decider.
    """
    with transaction.atomic():
        application = lock_application(application_id)
        decision = application.pending_clearance()
        reason = (
            f"{decision.rationale}\n\nProposed by {decision.decided_by}, countersigned by {actor}."
            if decision
            else ""
        )
        transition_locked(
            application, action="clear", actor=actor, reason=reason, expected_state=expected_state
        )
        decision.countersigned_by = actor
        decision.countersigned_at = timezone.now()
        decision.save(update_fields=["countersigned_by", "countersigned_at"])
    return decision


def clearance_withdraw(
    *, application_id: int, actor: User, reason: str, expected_state: str | None = None
) -> Decision:
    """Set aside a proposed clearance before it is countersigned (the proposer or a lead).

    The reason is kept as an internal note, so the record shows why.
    """
    if not reason.strip():
        raise TransitionRefused("Say why the clearance is withdrawn.")
    with transaction.atomic():
        application = locked_for_reviewer(application_id, actor, expected_state)
        decision = application.pending_clearance()
        if decision is None:
            raise TransitionRefused("There is no clearance waiting for a countersignature.")
        if decision.decided_by_id != actor.pk and not actor.has_perm("airlock.lead_review"):
            raise PermissionError(
                "Only the reviewer who proposed the clearance or a lead reviewer can withdraw it."
            )
        decision.withdrawn_at = timezone.now()
        decision.save(update_fields=["withdrawn_at"])
        InternalNote.objects.create(
            application=application,
            author=actor,
            body=f"Withdrew the clearance proposed by {decision.decided_by}: {reason.strip()}",
        )
    return decision
