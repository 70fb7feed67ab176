"""Competitive selection within a call: independent scores, moderation of disagreements, and
the lead reviewer's choice of up to the call's capacity.

- Eligible: the call's applications being screened that meet every eligibility criterion.
- Each is scored by at least MIN_SCORERS reviewers, each on their own; a reviewer sees the
  others' scores only once they have scored it themselves and MIN_SCORERS have.
- Totals further apart than the call's moderation margin are flagged; a lead reviewer
  records a moderated total, with a note, before selection.
- The lead reviewer ranks and selects up to the capacity: the selected are accepted into the
  call's cohort, the rest are rejected with the reason they are told, both through the state
  machine (devices.services.application_transition), so each has its audit row and notices.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from airlock.models import User
from calls.audit import selection_event_record
from calls.models import (
    SCORE_MAX,
    Call,
    SelectionEventKind,
    SelectionOutcome,
    SelectionScore,
)
from devices.models import REVIEWER, SCREENING_PASSED, Application, ApplicationState
from devices.services import TransitionRefused, application_transition, lock_application

MIN_SCORERS = 2


def eligible(call: Call, within=None) -> list[Application]:
    """The call's applications in screening that meet every eligibility criterion (within
    `within`, a queryset the viewer may see, if given)."""
    applications = (within if within is not None else Application.objects.all()).filter(
        call=call, state=ApplicationState.SCREENING
    )
    return [a for a in applications.select_related("organisation", "device") if SCREENING_PASSED(a)]


def weighted_total(call: Call, scores: dict[str, int]) -> Decimal:
    criteria = list(call.selection_criteria.all())
    best = sum(c.weight for c in criteria) * SCORE_MAX
    got = sum(c.weight * scores[str(c.pk)] for c in criteria)
    return (Decimal(100 * got) / Decimal(best)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _refuse_unless_scorable(application: Application, actor: User) -> None:
    if not REVIEWER(application, actor):
        raise PermissionError(REVIEWER.refusal(application, actor))
    if application.call_id is None:
        raise TransitionRefused("This application answers no call, so it is not scored.")
    if application.call.selection_made_at is not None:
        raise TransitionRefused(f"The selection for “{application.call}” is made already.")
    if application.state != ApplicationState.SCREENING or not SCREENING_PASSED(application):
        raise TransitionRefused(
            "Only applications being screened that meet every eligibility criterion are "
            "scored for selection."
        )


def score_submit(
    *, actor: User, application_id: int, scores: dict[str, int], comment: str
) -> SelectionScore:
    """Record one reviewer's scores for one application, once. Steps: lock the case; check
    the reviewer may score it now; check every criterion has a score in range and there is
    a comment; compute the weighted total; save; audit."""
    with transaction.atomic():
        application = lock_application(application_id)
        _refuse_unless_scorable(application, actor)
        call = application.call
        criteria = list(call.selection_criteria.all())
        if not criteria:
            raise TransitionRefused(f"“{call}” has no selection criteria to score against.")
        clean = {}
        for criterion in criteria:
            value = scores.get(str(criterion.pk))
            if not isinstance(value, int) or not 0 <= value <= SCORE_MAX:
                raise TransitionRefused(
                    f"Score “{criterion.title}” from 0 to {SCORE_MAX}: every criterion needs one."
                )
            clean[str(criterion.pk)] = value
        if not comment.strip():
            raise TransitionRefused("Say why, in a comment: it goes on the selection record.")
        if SelectionScore.objects.filter(application=application, reviewer=actor).exists():
            raise TransitionRefused("You have scored this application already.")
        score = SelectionScore.objects.create(
            application=application,
            reviewer=actor,
            scores=clean,
            total=weighted_total(call, clean),
            comment=comment.strip(),
        )
        selection_event_record(
            application=application,
            actor=actor,
            kind=SelectionEventKind.SCORED,
            detail=f"{score.total}%",
        )
    return score


@dataclass
class Standing:
    """One eligible application's place in the selection, as one reviewer may see it."""

    application: Application
    scores: list[SelectionScore]
    # Everyone's scores, for the counts and flags; `scores` is what the viewer may read.
    scored_by_me: bool
    count: int
    flagged: bool
    moderated_total: Decimal | None
    total: Decimal | None
    outcome: SelectionOutcome | None

    @property
    def ready(self) -> bool:
        return self.total is not None


def _standing(call: Call, application: Application, viewer: User) -> Standing:
    everyone = list(application.selection_scores.select_related("reviewer"))
    mine = any(score.reviewer_id == viewer.pk for score in everyone)
    count = len(everyone)
    # Others' scores stay hidden until the viewer has scored and enough others have, or the
    # selection is made.
    if call.selection_made_at is not None or (mine and count >= MIN_SCORERS):
        visible = everyone
    else:
        visible = [score for score in everyone if score.reviewer_id == viewer.pk]
    totals = [score.total for score in everyone]
    flagged = count >= MIN_SCORERS and max(totals) - min(totals) > call.moderation_margin
    outcome = SelectionOutcome.objects.filter(application=application).first()
    moderated = outcome.moderated_total if outcome else None
    total = None
    if count >= MIN_SCORERS:
        if moderated is not None:
            total = moderated
        elif not flagged:
            total = (sum(totals) / count).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return Standing(application, visible, mine, count, flagged, moderated, total, outcome)


def _ranked(rows: list[Standing]) -> list[Standing]:
    return sorted(rows, key=lambda row: (row.total is None, -(row.total or 0), row.application.pk))


def standings(call: Call, viewer: User, within=None) -> list[Standing]:
    """The eligible applications, best total first (unready ones last), with the scores
    `viewer` may see: their own, and the others' once they have scored and MIN_SCORERS have.
    """
    return _ranked([_standing(call, a, viewer) for a in eligible(call, within)])


def report_rows(call: Call, viewer: User, within=None) -> list[Standing]:
    """Every application of the call that was scored, in the selection's rank order once it
    is made (best total first before)."""
    applications = (within if within is not None else Application.objects.all()).filter(
        call=call, selection_scores__isnull=False
    )
    rows = [_standing(call, a, viewer) for a in applications.distinct().select_related("device")]
    if call.selection_made_at is not None:
        ranks = {row.application.pk: getattr(row.outcome, "rank", None) for row in rows}
        return sorted(
            rows,
            key=lambda row: (ranks[row.application.pk] is None, ranks[row.application.pk] or 0),
        )
    return _ranked(rows)


def _lead(actor: User) -> None:
    if not (actor.is_superuser or actor.has_perm("airlock.lead_review")):
        raise PermissionError("Only a lead reviewer can moderate and select.")


def moderate(*, actor: User, application_id: int, total: Decimal, note: str) -> SelectionOutcome:
    """A lead reviewer settles a disagreement: the total the application is ranked by, and
    why. Only for a flagged application; audited."""
    _lead(actor)
    with transaction.atomic():
        application = lock_application(application_id)
        _refuse_unless_scorable(application, actor)
        row = next(
            (r for r in standings(application.call, actor) if r.application.pk == application.pk),
            None,
        )
        if row is None or not row.flagged:
            raise TransitionRefused(
                "Only an application whose reviewers' totals are further apart than the "
                f"margin ({application.call.moderation_margin} points) is moderated."
            )
        if not Decimal(0) <= total <= Decimal(100):
            raise TransitionRefused("A moderated total is from 0 to 100.")
        if not note.strip():
            raise TransitionRefused("Say how the disagreement was settled.")
        outcome, _ = SelectionOutcome.objects.get_or_create(application=application)
        outcome.moderated_total = total
        outcome.moderation_note = note.strip()
        outcome.moderated_by = actor
        outcome.moderated_at = timezone.now()
        outcome.save()
        selection_event_record(
            application=application,
            actor=actor,
            kind=SelectionEventKind.MODERATED,
            detail=f"{total}%: {note.strip()}",
        )
    return outcome


def selection_make(
    *, actor: User, call_id: int, selected_ids: list[int], reason: str
) -> list[Standing]:
    """The lead reviewer's choice. Steps: lock the call; refuse if made already, if an
    eligible application is not ready (fewer than MIN_SCORERS scores, or a disagreement not
    moderated), if more are chosen than the capacity, or if no reason is given for the rest;
    then accept each selected into the call's cohort and reject the others with the reason,
    through the state machine; record ranks and outcomes; audit."""
    _lead(actor)
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_id)
        if call.selection_made_at is not None:
            raise TransitionRefused(f"The selection for “{call}” is made already.")
        if not call.has_closed:
            closes = timezone.localtime(call.closes_at)
            raise TransitionRefused(
                f"“{call}” closes on {closes:%-d %B %Y at %H:%M}: select once it has closed "
                "and every application is in."
            )
        rows = standings(call, actor)
        if not rows:
            raise TransitionRefused(f"“{call}” has no eligible application to select from.")
        for row in rows:
            if not REVIEWER(row.application, actor):
                raise PermissionError(REVIEWER.refusal(row.application, actor))
        unready = [row.application.reference for row in rows if not row.ready]
        if unready:
            raise TransitionRefused(
                f"Every eligible application needs {MIN_SCORERS} reviewers' scores, and any "
                "disagreement moderated, before selection. Not ready: " + ", ".join(unready) + "."
            )
        chosen = set(selected_ids)
        eligible_ids = {row.application.pk for row in rows}
        if not chosen <= eligible_ids:
            raise TransitionRefused("Choose only from the eligible applications listed.")
        if len(chosen) > call.capacity:
            raise TransitionRefused(
                f"“{call}” has {call.capacity} places: you chose {len(chosen)}."
            )
        if len(chosen) < len(rows) and not reason.strip():
            raise TransitionRefused(
                "Give the reason the applications not selected are told: it goes on their "
                "case record and in the notice to them."
            )
        for rank, row in enumerate(rows, start=1):
            application = row.application
            place = f"ranked {rank} of {len(rows)}, {row.total}%"
            if application.pk in chosen:
                application_transition(
                    application_id=application.pk,
                    action="accept",
                    actor=actor,
                    reason=f"Selected in the call “{call}” ({place}).",
                    cohort=call.cohort,
                )
                kind, told = SelectionEventKind.SELECTED, ""
            else:
                told = f"Not selected in the call “{call}” ({place}). {reason.strip()}"
                application_transition(
                    application_id=application.pk, action="reject", actor=actor, reason=told
                )
                kind = SelectionEventKind.NOT_SELECTED
            SelectionOutcome.objects.update_or_create(
                application=application,
                defaults={
                    "selected": application.pk in chosen,
                    "rank": rank,
                    "reason": told,
                    "decided_by": actor,
                    "decided_at": timezone.now(),
                },
            )
            selection_event_record(application=application, actor=actor, kind=kind, detail=place)
        call.selection_made_at = timezone.now()
        call.save(update_fields=["selection_made_at"])
    return rows
