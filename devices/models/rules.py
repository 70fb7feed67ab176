"""Who may take a transition, and the conditions it needs: each `Rule` says in words why it
refused. The transitions in devices.models.application name them."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

from devices.models.states import REQUIRED_EVIDENCE, EvidenceKind

if TYPE_CHECKING:
    from devices.models.application import Application


@dataclass(frozen=True)
class Rule:
    """A transition permission or condition that can say, in words, why it refused."""

    test: Callable[..., bool]
    refusal: Callable[..., str]

    def __call__(self, *args) -> bool:
        return self.test(*args)


def _conflicted(application: "Application", user) -> bool:
    from reviews.models import ConflictOfInterest

    return ConflictOfInterest.objects.filter(
        reviewer=user, organisation_id=application.organisation_id
    ).exists()


def is_team_member(user, organisation_id: int) -> bool:
    """A manufacturer of this organisation, in any role: someone who may read its records."""
    membership = getattr(user, "membership", None)
    return (
        user.has_perm("devices.act_for_organisation")
        and membership is not None
        and membership.organisation_id == organisation_id
    )


def may_contribute(user, organisation_id: int) -> bool:
    """A member of this organisation who may change its records: an administrator or a
    contributor, never a viewer. Every manufacturer-side service that writes asks this."""
    return is_team_member(user, organisation_id) and user.membership.may_contribute


def contributor_refusal(user, organisation) -> str:
    """Why `user` may not change `organisation`'s records, in words."""
    if is_team_member(user, organisation.pk):
        return (
            f"Your role in {organisation} is {user.membership.get_role_display().lower()}: "
            "only its administrators and contributors can change its records."
        )
    return f"Only {organisation}'s own team can do this."


MANUFACTURER = Rule(
    test=lambda app, user: user.is_superuser or may_contribute(user, app.organisation_id),
    refusal=lambda app, user: (
        contributor_refusal(user, app.organisation) if app.organisation_id else ""
    ),
)


def _reviewer_refusal(app: "Application", user) -> str:
    if user.has_perm("airlock.access_review_workspace"):
        return f"You have declared a conflict of interest with {app.organisation}."
    return "Only regulator reviewers can do this."


REVIEWER = Rule(
    test=lambda app, user: (
        user.is_superuser
        or (user.has_perm("airlock.access_review_workspace") and not _conflicted(app, user))
    ),
    refusal=_reviewer_refusal,
)


def _countersigner_refusal(app: "Application", user) -> str:
    decision = app.pending_clearance()
    if decision and decision.decided_by_id == user.pk:
        # "Another" lead reviewer only when the proposer is one: four eyes either way.
        if user.has_perm("airlock.lead_review"):
            return "You proposed this clearance: another lead reviewer must countersign it."
        return "You proposed this clearance: a lead reviewer must countersign it."
    if not user.has_perm("airlock.lead_review"):
        return "Only a lead reviewer can countersign a clearance."
    return _reviewer_refusal(app, user)


def _may_countersign(app: "Application", user) -> bool:
    decision = app.pending_clearance()
    # Four eyes: never the person who proposed the clearance, superuser or not.
    if decision is not None and decision.decided_by_id == user.pk:
        return False
    return user.is_superuser or (
        user.has_perm("airlock.lead_review") and not _conflicted(app, user)
    )


LEAD_COUNTERSIGNER = Rule(test=_may_countersign, refusal=_countersigner_refusal)


def _needs_lead_to_resume(app: "Application") -> bool:
    signal = app.suspended_for
    return signal is not None and signal.severity == "critical"


def _may_resume(app: "Application", user) -> bool:
    if not REVIEWER(app, user):
        return False
    return (
        not _needs_lead_to_resume(app) or user.is_superuser or user.has_perm("airlock.lead_review")
    )


def _resumer_refusal(app: "Application", user) -> str:
    if not REVIEWER(app, user):
        return REVIEWER.refusal(app, user)
    return (
        f"Testing was suspended while the critical safety signal “{app.suspended_for}” was "
        "open: only a lead reviewer can resume it."
    )


# Resuming after a suspension that a critical safety signal caused is a lead reviewer's call.
RESUMER = Rule(test=_may_resume, refusal=_resumer_refusal)


def _missing_details(app: "Application") -> list[str]:
    missing = [] if app.device_id else ["the device"]
    required = {
        "regulatory_challenge": "the regulatory challenge",
        "sandbox_environment": "the sandbox environment sought",
        "patient_benefit": "the patient and NHS benefit",
        "maturity": "the device's maturity",
    }
    return missing + [label for field, label in required.items() if not getattr(app, field)]


def _missing_evidence(app: "Application") -> list[str]:
    present = set(app.evidence.filter(is_current=True).values_list("kind", flat=True))
    return [EvidenceKind(kind).label for kind in REQUIRED_EVIDENCE if kind not in present]


ORGANISATION_APPROVED = Rule(
    test=lambda app: app.organisation.is_approved,
    refusal=lambda app: (
        f"{app.organisation} is waiting for the regulator to approve its registration. You "
        "can prepare drafts now and submit once it is approved; we will email you."
    ),
)


def _call_refusal(app: "Application") -> str:
    if app.call_id is None:
        return (
            "This draft answers no call for applications: start a new application against "
            "an open call."
        )
    return app.call.closed_refusal()


# Applications are submitted against an open call only; after it closes, drafts are kept.
CALL_OPEN = Rule(
    test=lambda app: app.call_id is not None and app.call.is_open, refusal=_call_refusal
)
DETAILS_COMPLETE = Rule(
    test=lambda app: not _missing_details(app),
    refusal=lambda app: "Complete " + ", ".join(_missing_details(app)) + " first.",
)
EVIDENCE_PRESENT = Rule(
    test=lambda app: not _missing_evidence(app),
    refusal=lambda app: (
        "Upload the required evidence first: " + "; ".join(_missing_evidence(app)) + "."
    ),
)


def _screening_gaps(app: "Application") -> tuple[int, list[str], list[str]]:
    """How many active criteria are unassessed, and the titles of those not met and unclear."""
    from reviews.models import EligibilityCriterion, ScreeningOutcome

    criteria = list(EligibilityCriterion.objects.filter(is_active=True))
    outcomes = dict(app.screening_assessments.values_list("criterion_id", "outcome"))
    unassessed = sum(1 for c in criteria if c.pk not in outcomes)
    unmet = [c.title for c in criteria if outcomes.get(c.pk) == ScreeningOutcome.NOT_MET]
    unclear = [c.title for c in criteria if outcomes.get(c.pk) == ScreeningOutcome.UNCLEAR]
    return unassessed, unmet, unclear


def _screening_refusal(app: "Application") -> str:
    unassessed, unmet, unclear = _screening_gaps(app)
    if unassessed:
        return f"Assess every eligibility criterion first ({unassessed} still to assess)."
    gaps = []
    if unmet:
        gaps.append("not met: " + ", ".join(unmet))
    if unclear:
        gaps.append("unclear (ask the manufacturer for more information): " + ", ".join(unclear))
    return "Every eligibility criterion must be met to accept; " + "; ".join(gaps) + "."


SCREENING_PASSED = Rule(
    test=lambda app: _screening_gaps(app) == (0, [], []),
    refusal=_screening_refusal,
)


def _plan_refusal(app: "Application") -> str:
    from reviews.models import PlanVersion

    version = PlanVersion.objects.filter(application=app).open().first()
    if version is not None and version.reviewer_agreed_at is not None:
        return (
            f"The manufacturer has not agreed the testing plan yet (sent to them on "
            f"{timezone.localtime(version.reviewer_agreed_at):%-d %B %Y}): testing begins once "
            "both sides agree it."
        )
    return (
        "Agree a testing plan with the manufacturer first: draft it with its metric "
        "thresholds, send it, and testing can begin once they agree it."
    )


PLAN_AGREED = Rule(test=lambda app: app.testing_plan_agreed(), refusal=_plan_refusal)


def _open_signals_refusal(app: "Application") -> str:
    signals = app.open_safety_signals()
    named = "; ".join(f"“{s.title}” ({s.get_severity_display().lower()})" for s in signals)
    if len(signals) == 1:
        return (
            "A device cannot be cleared while a safety signal is open: close it with a written "
            f"resolution first. Open: {named}."
        )
    return (
        f"A device cannot be cleared while safety signals are open: close all {len(signals)} "
        f"with a written resolution first. Open: {named}."
    )


# Safety before decisions: no clearance (proposed or countersigned) over an open signal.
NO_OPEN_SIGNALS = Rule(
    test=lambda app: not app.open_safety_signals(), refusal=_open_signals_refusal
)
OPEN_REQUEST = Rule(
    test=lambda app: app.open_information_request() is not None,
    refusal=lambda app: "There is no open information request to answer.",
)
CLEARANCE_PROPOSED = Rule(
    test=lambda app: app.pending_clearance() is not None,
    refusal=lambda app: "A reviewer must propose clearance, with a rationale, first.",
)


def transition_meta(label: str, actor: str, help_text: str = "") -> dict:
    return {"label": label, "actor": actor, "help_text": help_text}
