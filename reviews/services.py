"""Every operation a reviewer performs on a case, but the evidence review and its decisions
(reviews.decisions) and the testing plan (reviews.plans).

State changes go through `devices.services.transition_locked` while the service holds the
application's row lock, so the rules, the audit row and the notifications stay in one place.
Refusals raise `TransitionRefused` (the case is not in a state that allows it) or
`PermissionError` (the person may not do it), each with a reason a person can read.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from airlock.models import User
from devices.models import REVIEWER, Application, ApplicationState, Organisation
from devices.services import (
    TransitionRefused,
    check_fresh,
    lock_application,
    transition_locked,
)
from reviews.models import (
    Assignment,
    Cohort,
    ConflictOfInterest,
    Decision,
    DecisionKind,
    EligibilityCriterion,
    InformationRequest,
    InternalNote,
    ScreeningAssessment,
)

S = ApplicationState


def state_label(application: Application) -> str:
    return application.state_enum.in_words


def require_reviewer(application: Application, actor: User) -> None:
    if not REVIEWER(application, actor):
        raise PermissionError(REVIEWER.refusal(application, actor))


def require_state(application: Application, states: set[str], doing: str) -> None:
    if application.state not in states:
        allowed = " or ".join(sorted(S(state).in_words for state in states))
        raise TransitionRefused(
            f"You can {doing} only while an application is {allowed}; this one is "
            f"{state_label(application)}."
        )


def locked_for_reviewer(
    application_id: int, actor: User, expected_state: str | None
) -> Application:
    application = lock_application(application_id)
    check_fresh(application, expected_state)
    require_reviewer(application, actor)
    return application


# --- Screening -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionOutcome:
    criterion_id: int
    outcome: str
    comment: str


def screening_assess(
    *,
    application_id: int,
    actor: User,
    outcomes: Sequence[CriterionOutcome],
    expected_state: str | None = None,
) -> int:
    """Record (or revise) the actor's assessment of eligibility criteria; return how many.

    Steps: lock the case; refuse unless it is being screened and the actor is an
    unconflicted reviewer; refuse unknown or inactive criteria and empty comments; upsert one
    assessment per criterion.
    """
    with transaction.atomic():
        application = locked_for_reviewer(application_id, actor, expected_state)
        require_state(application, {S.SCREENING}, "assess eligibility")
        active = set(
            EligibilityCriterion.objects.for_application(application).values_list("pk", flat=True)
        )
        for item in outcomes:
            if item.criterion_id not in active:
                raise TransitionRefused(
                    "That eligibility criterion is no longer in use, or not one this case's "
                    "call asks for."
                )
            if not item.comment.strip():
                raise TransitionRefused("Every assessment needs a comment.")
        now = timezone.now()
        for item in outcomes:
            ScreeningAssessment.objects.update_or_create(
                application=application,
                criterion_id=item.criterion_id,
                defaults={
                    "outcome": item.outcome,
                    "comment": item.comment.strip(),
                    "assessor": actor,
                    "assessed_at": now,
                },
            )
    return len(outcomes)


def cohort_refusal(cohort: Cohort) -> str | None:
    """Why a cohort cannot take another application, or None."""
    if not cohort.is_open:
        return f"{cohort} is closed to new applications."
    taken = cohort.applications.exclude(state__in=[S.REJECTED, S.WITHDRAWN]).count()
    if taken >= cohort.capacity:
        return f"{cohort} is full ({taken} of {cohort.capacity} places taken)."
    return None


def application_accept(
    *,
    application_id: int,
    actor: User,
    cohort: Cohort,
    rationale: str,
    expected_state: str | None = None,
) -> Decision:
    """Accept a screened application into a cohort.

    Steps: lock; refuse a closed or full cohort; transition "accept" (which checks every
    criterion is met and starts the plan clock); record the decision and its rationale.
    """
    if not rationale.strip():
        raise TransitionRefused("Give the rationale for accepting: it goes on the case record.")
    with transaction.atomic():
        application = locked_for_reviewer(application_id, actor, expected_state)
        cohort = Cohort.objects.select_for_update().get(pk=cohort.pk)
        refusal = cohort_refusal(cohort)
        if refusal:
            raise TransitionRefused(refusal)
        transition_locked(
            application, action="accept", actor=actor, reason=rationale, cohort=cohort
        )
        return Decision.objects.create(
            application=application,
            kind=DecisionKind.ACCEPT,
            rationale=rationale.strip(),
            decided_by=actor,
        )


def application_reject(
    *, application_id: int, actor: User, rationale: str, expected_state: str | None = None
) -> Decision:
    """Reject an application at screening, recording the decision and its rationale."""
    with transaction.atomic():
        application = lock_application(application_id)
        transition_locked(
            application,
            action="reject",
            actor=actor,
            reason=rationale,
            expected_state=expected_state,
        )
        return Decision.objects.create(
            application=application,
            kind=DecisionKind.REJECT,
            rationale=rationale.strip(),
            decided_by=actor,
        )


# --- Information requests --------------------------------------------------------------------


def information_request_create(
    *,
    application_id: int,
    actor: User,
    questions: str,
    due_on: date,
    expected_state: str | None = None,
) -> InformationRequest:
    """Ask the manufacturer questions; the review clock pauses until they answer.

    Steps: refuse empty questions or a due date not in the future; lock; transition
    "request_information" (remembers where to return and pauses the clock); store the
    request. The transition's notification emails the manufacturer's team, with the due date
    as its reason; the questions themselves stay behind sign-in.
    """
    if not questions.strip():
        raise TransitionRefused("Write the questions for the manufacturer.")
    if due_on <= timezone.localdate():
        raise TransitionRefused("The answer must be due after today.")
    with transaction.atomic():
        application = lock_application(application_id)
        transition_locked(
            application,
            action="request_information",
            actor=actor,
            reason=f"Questions sent to the manufacturer; answers due by {due_on:%-d %B %Y}.",
            expected_state=expected_state,
        )
        return InformationRequest.objects.create(
            application=application,
            requested_by=actor,
            questions=questions.strip(),
            due_on=due_on,
        )


# --- Assignment and conflicts ----------------------------------------------------------------


def _is_lead(user: User) -> bool:
    return user.has_perm("airlock.lead_review")


def assignment_refusal(
    application: Application, *, reviewer: User, actor: User, conflicted: bool
) -> str | None:
    """Why `actor` cannot give `application` to `reviewer` now, or None.

    `conflicted` says whether `reviewer` has declared an interest in the organisation; the
    caller looks it up, once for a whole batch.
    """
    if application.state == S.DRAFT:
        return "This application has not been submitted yet."
    if application.state_enum.is_final:
        return f"This application is {state_label(application)}: it needs no reviewer now."
    if not reviewer.is_active or not reviewer.has_perm("airlock.access_review_workspace"):
        return f"{reviewer} is not a reviewer."
    if conflicted:
        return (
            f"{reviewer} has declared a conflict of interest with {application.organisation}, "
            "so cannot be assigned."
        )
    if application.assignee_id == reviewer.pk:
        return f"This application is already assigned to {reviewer}."
    if not _is_lead(actor) and application.assignee_id is not None:
        return (
            f"This application is already assigned to {application.assignee}; ask a lead "
            "reviewer to reassign it."
        )
    return None


def _conflicted_organisation_ids(reviewer: User) -> set[int]:
    return set(
        ConflictOfInterest.objects.filter(reviewer=reviewer).values_list(
            "organisation_id", flat=True
        )
    )


def _assign(applications: list[Application], *, reviewer: User, actor: User) -> None:
    now = timezone.now()
    ids = [application.pk for application in applications]
    Assignment.objects.filter(application_id__in=ids, ended_at__isnull=True).update(ended_at=now)
    Assignment.objects.bulk_create(
        Assignment(application_id=pk, reviewer=reviewer, assigned_by=actor, assigned_at=now)
        for pk in ids
    )
    Application.objects.filter(pk__in=ids).update(assignee=reviewer, updated_at=now)
    for application in applications:
        application.assignee = reviewer


def application_assign(*, application_id: int, actor: User, reviewer: User) -> Application:
    """Give a case to a reviewer. Anyone may take an unassigned case for themselves (a claim);
    assigning someone else, or reassigning, is for lead reviewers.

    Steps: lock; check the actor may assign; refuse a conflicted, inactive or non-reviewer
    assignee or a closed case; end the current assignment and start a new one.
    """
    if reviewer.pk != actor.pk and not _is_lead(actor):
        raise PermissionError("Only a lead reviewer can assign cases to other reviewers.")
    with transaction.atomic():
        application = lock_application(application_id)
        require_reviewer(application, actor)
        refusal = assignment_refusal(
            application,
            reviewer=reviewer,
            actor=actor,
            conflicted=application.organisation_id in _conflicted_organisation_ids(reviewer),
        )
        if refusal:
            raise TransitionRefused(refusal)
        _assign([application], reviewer=reviewer, actor=actor)
    return application


def application_claim(*, application_id: int, actor: User) -> Application:
    """Take an unassigned case for yourself."""
    return application_assign(application_id=application_id, actor=actor, reviewer=actor)


@dataclass
class BulkAssignResult:
    assigned: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def application_bulk_assign(
    *, application_ids: Sequence[int], actor: User, reviewer: User
) -> BulkAssignResult:
    """Assign many cases to one reviewer (lead reviewers only); each case the reviewer cannot
    take is refused with its reason and the rest go ahead.

    Set-based: one lock query, one conflict lookup and a fixed number of writes whatever the
    batch size.
    """
    if not _is_lead(actor):
        raise PermissionError("Only a lead reviewer can assign cases in bulk.")
    result = BulkAssignResult()
    with transaction.atomic():
        # Lock in primary-key order so two overlapping batches cannot deadlock.
        locked = list(
            Application.objects.select_for_update().filter(pk__in=application_ids).order_by("pk")
        )
        # The refusals name the organisation; a lead's refusals never name the current assignee.
        organisations = Organisation.objects.in_bulk({a.organisation_id for a in locked})
        conflicted_orgs = _conflicted_organisation_ids(reviewer)
        actor_conflicts = _conflicted_organisation_ids(actor) if not actor.is_superuser else set()
        to_assign = []
        for application in locked:
            application.organisation = organisations[application.organisation_id]
            if application.organisation_id in actor_conflicts:
                # The actor cannot see this case: say nothing about it.
                continue
            refusal = assignment_refusal(
                application,
                reviewer=reviewer,
                actor=actor,
                conflicted=application.organisation_id in conflicted_orgs,
            )
            if refusal:
                result.refused.append((application.reference, refusal))
            else:
                to_assign.append(application)
                result.assigned.append(application.reference)
        _assign(to_assign, reviewer=reviewer, actor=actor)
    return result


def conflict_declare(*, actor: User, organisation: Organisation, reason: str) -> ConflictOfInterest:
    """Declare an interest in an organisation. From now on the reviewer cannot see or work its
    cases, so any of them assigned to the reviewer go back to the unassigned pile."""
    if not actor.has_perm("airlock.access_review_workspace"):
        raise PermissionError("Only regulator reviewers declare conflicts of interest.")
    if not reason.strip():
        raise TransitionRefused("Describe the interest you are declaring.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                conflict = ConflictOfInterest.objects.create(
                    reviewer=actor, organisation=organisation, reason=reason.strip()
                )
        except IntegrityError:
            raise TransitionRefused(
                f"You have already declared a conflict of interest with {organisation}."
            ) from None
        mine = list(
            Application.objects.select_for_update()
            .filter(organisation=organisation, assignee=actor)
            .values_list("pk", flat=True)
        )
        now = timezone.now()
        Assignment.objects.filter(application_id__in=mine, ended_at__isnull=True).update(
            ended_at=now
        )
        Application.objects.filter(pk__in=mine).update(assignee=None, updated_at=now)
    return conflict


# --- Notes -----------------------------------------------------------------------------------


def internal_note_add(*, application_id: int, actor: User, body: str) -> InternalNote:
    """Add a reviewers-only note. Manufacturers never see these."""
    if not body.strip():
        raise TransitionRefused("Write the note first.")
    application = Application.objects.select_related("organisation").get(pk=application_id)
    require_reviewer(application, actor)
    return InternalNote.objects.create(application=application, author=actor, body=body.strip())
