"""Setting up and changing a call for applications: lead reviewers and administrators, in the
site, each change checked and audited.

A call's terms are what applicants plan to, so once things have happened against a call some
terms are fixed (`call_locks` says which, and why, in words):

- the opening time, once the call has opened (applications may have been started);
- the closing time, once the call has closed (reopening it would be unfair to those refused);
  while open it can be extended but not brought forward;
- the selection criteria, their weights and the moderation margin, once any application has
  been scored (scores are kept against them);
- the eligibility criteria, once any application has been screened;
- the cohort, once the selection is made (the selected are in it);
- the capacity, never below the number already selected.

`call_terms_problems` holds the checks that need no database (the form shares its criteria
check, `criteria_problem`, so both say the same thing); `call_save` checks everything again
under the call's row lock, saves and writes one CallEvent naming what changed.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from airlock.models import User
from calls.audit import call_event_record
from calls.models import Call, CallEventKind, SelectionCriterion, SelectionOutcome, SelectionScore
from reviews.models import Cohort, EligibilityCriterion, ScreeningAssessment

WEIGHT_MAX = 10
CAPACITY_MAX = 500


class CallRefused(Exception):
    """A call cannot be saved as given. `problems` maps each field to what is wrong with it,
    in words, so a form can show each message at its field."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__(" ".join(problems.values()))


@dataclass(frozen=True)
class CriterionTerms:
    title: str
    weight: int
    description: str = ""


@dataclass(frozen=True)
class CallTerms:
    title: str
    challenge_areas: str
    opens_at: datetime
    closes_at: datetime
    capacity: int
    moderation_margin: int
    cohort: Cohort
    eligibility_criteria: tuple[EligibilityCriterion, ...] = ()
    criteria: tuple[CriterionTerms, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, call: Call) -> "CallTerms":
        """The terms a call has now (what an edit form starts from)."""
        return cls(
            title=call.title,
            challenge_areas=call.challenge_areas,
            opens_at=call.opens_at,
            closes_at=call.closes_at,
            capacity=call.capacity,
            moderation_margin=call.moderation_margin,
            cohort=call.cohort,
            eligibility_criteria=tuple(call.eligibility_criteria.order_by("pk")),
            criteria=tuple(
                CriterionTerms(title=c.title, weight=c.weight, description=c.description)
                for c in call.selection_criteria.all()
            ),
        )


def _lead(actor: User) -> None:
    if not (actor.is_superuser or actor.has_perm("airlock.lead_review")):
        raise PermissionError("Only a lead reviewer or an administrator can set up calls.")


def _when(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%-d %B %Y at %H:%M}"


def call_terms_problems(terms: CallTerms) -> dict[str, str]:
    """What is wrong with the terms themselves, by field (nothing that needs the database)."""
    problems = {}
    if not terms.title.strip():
        problems["title"] = "Enter the call's title"
    if not [line for line in terms.challenge_areas.splitlines() if line.strip()]:
        problems["challenge_areas"] = "Enter at least one challenge area, one a line"
    if terms.closes_at <= terms.opens_at:
        problems["closes_at"] = "The call must close after it opens"
    if not 1 <= terms.capacity <= CAPACITY_MAX:
        problems["capacity"] = f"Offer from 1 to {CAPACITY_MAX} places"
    if not 0 <= terms.moderation_margin <= 100:
        problems["moderation_margin"] = "The margin is from 0 to 100 points"
    criteria = criteria_problem(terms.criteria)
    if criteria:
        problems["criteria"] = criteria
    return problems


def criteria_problem(criteria: tuple[CriterionTerms, ...]) -> str:
    """What is wrong with a call's selection criteria as a whole ("" when nothing is)."""
    if not criteria:
        return "Add at least one selection criterion"
    if any(not 1 <= c.weight <= WEIGHT_MAX for c in criteria):
        return f"Give each selection criterion a weight from 1 to {WEIGHT_MAX}"
    if any(not c.title.strip() for c in criteria):
        return "Give each selection criterion a title"
    titles = [c.title.strip().casefold() for c in criteria]
    if len(titles) != len(set(titles)):
        return "Give each selection criterion a different title"
    return ""


@dataclass(frozen=True)
class CallLocks:
    """Which of a call's terms are fixed now, each with the reason, and the fewest places it
    may offer."""

    reasons: dict[str, str]
    min_capacity: int = 1

    def __contains__(self, name: str) -> bool:
        return name in self.reasons


def call_locks(call: Call | None, *, now: datetime | None = None) -> CallLocks:
    """What can no longer change on `call` (nothing on a call not yet made)."""
    if call is None:
        return CallLocks({})
    now = now or timezone.now()
    reasons = {}
    if call.opens_at <= now:
        reasons["opens_at"] = f"Fixed: the call opened on {_when(call.opens_at)}."
    if call.closes_at <= now:
        reasons["closes_at"] = f"Fixed: the call closed on {_when(call.closes_at)}."
    if SelectionScore.objects.filter(application__call=call).exists():
        scored = "Fixed: applications have been scored against them."
        reasons["criteria"] = scored
        reasons["moderation_margin"] = "Fixed: applications have been scored."
    if ScreeningAssessment.objects.filter(application__call=call).exists():
        reasons["eligibility_criteria"] = "Fixed: applications have been screened against them."
    if call.selection_made_at is not None:
        reasons["cohort"] = "Fixed: the selection is made, and those selected are in it."
    selected = SelectionOutcome.objects.filter(application__call=call, selected=True).count()
    return CallLocks(reasons, min_capacity=max(1, selected))


def _changes(before: CallTerms, after: CallTerms) -> list[tuple[str, str, str]]:
    """(field, old, new) in words, for each term that differs."""

    def words(terms: CallTerms) -> dict[str, str]:
        return {
            "title": terms.title,
            "challenge_areas": "; ".join(
                line.strip() for line in terms.challenge_areas.splitlines() if line.strip()
            ),
            "opens_at": _when(terms.opens_at),
            "closes_at": _when(terms.closes_at),
            "capacity": str(terms.capacity),
            "moderation_margin": f"{terms.moderation_margin} points",
            "cohort": str(terms.cohort),
            "eligibility_criteria": "; ".join(
                str(c) for c in sorted(terms.eligibility_criteria, key=lambda c: c.pk)
            )
            or "none",
            "criteria": "; ".join(
                f"{c.title.strip()} (weight {c.weight})"
                + (f": {c.description.strip()}" if c.description.strip() else "")
                for c in terms.criteria
            ),
        }

    old, new = words(before), words(after)
    return [(name, old[name], new[name]) for name in old if old[name] != new[name]]


LABELS = {
    "title": "Title",
    "challenge_areas": "Challenge areas",
    "opens_at": "Opens",
    "closes_at": "Closes",
    "capacity": "Places",
    "moderation_margin": "Moderation margin",
    "cohort": "Cohort",
    "eligibility_criteria": "Eligibility criteria",
    "criteria": "Selection criteria",
}


def _refusals(
    call: Call | None, terms: CallTerms, changed: Iterable[str], now: datetime
) -> dict[str, str]:
    problems = call_terms_problems(terms)
    title_taken = Call.objects.filter(title__iexact=terms.title.strip())
    if call is not None:
        title_taken = title_taken.exclude(pk=call.pk)
    if "title" not in problems and title_taken.exists():
        problems["title"] = "Another call has this title: choose another"
    changed = set(changed)
    locks = call_locks(call, now=now)
    for name in changed & set(locks.reasons):
        problems.setdefault(name, locks.reasons[name])
    if "closes_at" in changed and "closes_at" not in problems:
        if terms.closes_at <= now:
            problems["closes_at"] = "The closing time must be later than now"
        elif call is not None and call.opens_at <= now and terms.closes_at < call.closes_at:
            problems["closes_at"] = (
                f"The call is open: its closing time can be extended, not brought forward "
                f"from {_when(call.closes_at)}"
            )
    if terms.capacity < locks.min_capacity and "capacity" not in problems:
        problems["capacity"] = (
            f"{locks.min_capacity} applications are selected already: offer at least "
            f"{locks.min_capacity} places"
        )
    return problems


def _criteria_replace(call: Call, criteria: tuple[CriterionTerms, ...]) -> None:
    # Only while nothing is scored (call_locks): no score refers to the rows replaced.
    call.selection_criteria.all().delete()
    SelectionCriterion.objects.bulk_create(
        SelectionCriterion(
            call=call,
            title=c.title.strip(),
            description=c.description.strip(),
            weight=c.weight,
            order=order,
        )
        for order, c in enumerate(criteria)
    )


def call_save(*, actor: User, terms: CallTerms, call_id: int | None = None) -> tuple[Call, bool]:
    """Set up a call (call_id None) or change one. Steps: check the actor is a lead reviewer or
    an administrator; lock the call; refuse, by field, terms that are wrong in themselves or
    change what is fixed (CallRefused); save the call and its criteria; write one CallEvent
    with every change, old and new. Returns the call and whether anything changed."""
    _lead(actor)
    now = timezone.now()
    with transaction.atomic():
        call = None
        if call_id is not None:
            call = (
                Call.objects.select_for_update()
                .select_related("cohort")
                .prefetch_related("selection_criteria", "eligibility_criteria")
                .get(pk=call_id)
            )
            changes = _changes(CallTerms.of(call), terms)
        else:
            changes = [(name, "", "") for name in LABELS]
        problems = _refusals(call, terms, (name for name, _old, _new in changes), now)
        if problems:
            raise CallRefused(problems)
        if call is not None and not changes:
            return call, False
        call = call or Call()
        call.title = terms.title.strip()
        call.challenge_areas = "\n".join(
            line.strip() for line in terms.challenge_areas.splitlines() if line.strip()
        )
        call.opens_at, call.closes_at = terms.opens_at, terms.closes_at
        call.capacity, call.moderation_margin = terms.capacity, terms.moderation_margin
        call.cohort = terms.cohort
        call.save()
        call.eligibility_criteria.set(terms.eligibility_criteria)
        changed = {name for name, _old, _new in changes}
        if "criteria" in changed:
            _criteria_replace(call, terms.criteria)
        if call_id is None:
            kind = CallEventKind.CREATED
            detail = (
                f"Opens {_when(call.opens_at)}, closes {_when(call.closes_at)}; "
                f"{call.capacity} places; into {call.cohort}; selection criteria: "
                + "; ".join(f"{c.title.strip()} (weight {c.weight})" for c in terms.criteria)
                + "."
            )
        else:
            kind = CallEventKind.CHANGED
            detail = "\n".join(f"{LABELS[name]}: {old} → {new}" for name, old, new in changes)
        call_event_record(call=call, actor=actor, kind=kind, detail=detail)
    return call, True
