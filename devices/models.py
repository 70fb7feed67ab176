"""The manufacturer's side: organisations, devices, applications (the case) and their evidence.

`Application` carries the sandbox state machine. Its `@transition` methods only change fields on
`self`; locking, permission checks, saving, audit and side effects live in
`devices.services.application_transition`, which every caller goes through.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from airlock import storage
from devices.clocks import add_working_days, working_days_between
from ledger.append_only import AppendOnly
from ledger.models import Chained


class Organisation(models.Model):
    """A manufacturer: the legal entity that brings devices into the sandbox."""

    name = models.CharField(max_length=200, unique=True)
    companies_house_number = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # An organisation that registered itself waits for a reviewer's approval before it can
    # submit (the ORGANISATION_APPROVED condition); empty until then.
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            # One organisation per company, and per name whatever its capitals.
            models.UniqueConstraint(
                fields=["companies_house_number"],
                name="organisation_unique_company_number",
                condition=~Q(companies_house_number=""),
            ),
            models.UniqueConstraint(Lower("name"), name="organisation_name_case_insensitive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None


class OrganisationRole(models.TextChoices):
    """What a person may do in their organisation (their Membership)."""

    ADMINISTRATOR = "administrator", "Administrator"
    CONTRIBUTOR = "contributor", "Contributor"
    VIEWER = "viewer", "Viewer"

    @property
    def description(self) -> str:
        return ORGANISATION_ROLE_DESCRIPTIONS[self]


ORGANISATION_ROLE_DESCRIPTIONS = {
    OrganisationRole.ADMINISTRATOR: "Everything a contributor can, and manages the team and the "
    "organisation's API keys.",
    OrganisationRole.CONTRIBUTOR: "Registers devices, edits drafts, uploads evidence, submits, "
    "answers the regulator and reports during testing.",
    OrganisationRole.VIEWER: "Reads the organisation's devices and cases; changes nothing.",
}
# The roles that may change the organisation's records; a viewer only reads.
CONTRIBUTING_ROLES = frozenset({OrganisationRole.ADMINISTRATOR, OrganisationRole.CONTRIBUTOR})


class Membership(models.Model):
    """A manufacturer user's place in their organisation (one organisation each), with their
    role in it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(
        max_length=20,
        choices=OrganisationRole.choices,
        default=OrganisationRole.CONTRIBUTOR,
        help_text="Administrators manage the team and API keys; contributors edit and submit; "
        "viewers only read.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "user"]

    def __str__(self) -> str:
        return f"{self.user} at {self.organisation}"

    @property
    def may_contribute(self) -> bool:
        return self.role in CONTRIBUTING_ROLES

    @property
    def is_administrator(self) -> bool:
        return self.role == OrganisationRole.ADMINISTRATOR


# --- Devices ---------------------------------------------------------------------------------


class MdrClass(models.TextChoices):
    I = "I", "Class I"  # noqa: E741
    IIA = "IIa", "Class IIa"
    IIB = "IIb", "Class IIb"
    III = "III", "Class III"


class Significance(models.TextChoices):
    TREAT_DIAGNOSE = "treat_diagnose", "Treat or diagnose"
    DRIVE = "drive", "Drive clinical management"
    INFORM = "inform", "Inform clinical management"


class Situation(models.TextChoices):
    CRITICAL = "critical", "Critical"
    SERIOUS = "serious", "Serious"
    NON_SERIOUS = "non_serious", "Non-serious"


class ImdrfCategory(models.TextChoices):
    I = "I", "Category I"  # noqa: E741
    II = "II", "Category II"
    III = "III", "Category III"
    IV = "IV", "Category IV"


# IMDRF SaMD risk categorisation (N12): rows are the healthcare situation, columns the
# significance of the information the software provides.
IMDRF_MATRIX: dict[tuple[str, str], str] = {
    (Situation.CRITICAL, Significance.TREAT_DIAGNOSE): ImdrfCategory.IV,
    (Situation.CRITICAL, Significance.DRIVE): ImdrfCategory.III,
    (Situation.CRITICAL, Significance.INFORM): ImdrfCategory.II,
    (Situation.SERIOUS, Significance.TREAT_DIAGNOSE): ImdrfCategory.III,
    (Situation.SERIOUS, Significance.DRIVE): ImdrfCategory.II,
    (Situation.SERIOUS, Significance.INFORM): ImdrfCategory.I,
    (Situation.NON_SERIOUS, Significance.TREAT_DIAGNOSE): ImdrfCategory.II,
    (Situation.NON_SERIOUS, Significance.DRIVE): ImdrfCategory.I,
    (Situation.NON_SERIOUS, Significance.INFORM): ImdrfCategory.I,
}


def imdrf_category(*, significance: str, situation: str) -> str:
    return IMDRF_MATRIX[(situation, significance)]


class ClinicalArea(models.TextChoices):
    RADIOLOGY = "radiology", "Radiology and imaging"
    ONCOLOGY = "oncology", "Oncology"
    RESPIRATORY = "respiratory", "Respiratory"
    CARDIOLOGY = "cardiology", "Cardiology"
    OPHTHALMOLOGY = "ophthalmology", "Ophthalmology"
    PATHOLOGY = "pathology", "Pathology and blood sciences"
    PRIMARY_CARE = "primary_care", "General practice"
    MENTAL_HEALTH = "mental_health", "Mental health"
    ENDOCRINOLOGY = "endocrinology", "Endocrinology and obesity"
    OTHER = "other", "Other"


class CareSetting(models.TextChoices):
    PRIMARY = "primary", "Primary care"
    SECONDARY = "secondary", "Secondary care (hospital)"
    COMMUNITY = "community", "Community care"
    HOME = "home", "Patient's home"
    EMERGENCY = "emergency", "Urgent and emergency care"


class AiType(models.TextChoices):
    LOCKED = "locked", "Locked model"
    ADAPTIVE = "adaptive", "Adaptive model with a PCCP"


class Device(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="devices")
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=50)
    intended_purpose = models.TextField(
        help_text="What the device does, for whom, and in which clinical decision."
    )
    clinical_area = models.CharField(max_length=30, choices=ClinicalArea.choices)
    care_setting = models.CharField(max_length=20, choices=CareSetting.choices)
    mdr_class = models.CharField(
        "UK MDR class", max_length=3, choices=MdrClass.choices, db_index=True
    )
    significance = models.CharField(
        "significance of the information", max_length=20, choices=Significance.choices
    )
    situation = models.CharField("healthcare situation", max_length=20, choices=Situation.choices)
    imdrf_category = models.CharField(
        "IMDRF SaMD category",
        max_length=3,
        choices=ImdrfCategory.choices,
        editable=False,
        db_index=True,
        help_text="Derived from significance and situation.",
    )
    ai_type = models.CharField("AI type", max_length=10, choices=AiType.choices)
    pccp_summary = models.TextField(
        "predetermined change control plan",
        blank=True,
        help_text="Required for adaptive models: what may change, how it is verified, bounds.",
    )
    model_summary = models.TextField(help_text="Architecture, inputs and outputs.")
    training_data_summary = models.TextField(
        help_text="Sources, size, dates, demographics and how test data was kept apart."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The manufacturer's opt-in to the public directory of devices in the sandbox (name,
    # maker, clinical area and stage only); empty: not listed.
    directory_listed_at = models.DateTimeField(
        "listed in the public directory since", null=True, blank=True
    )

    class Meta:
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name", "version"], name="device_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"

    def save(self, *args, **kwargs) -> None:
        self.imdrf_category = imdrf_category(
            significance=self.significance, situation=self.situation
        )
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "imdrf_category"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.ai_type == AiType.ADAPTIVE and not self.pccp_summary.strip():
            raise ValidationError(
                {"pccp_summary": "An adaptive model needs a predetermined change control plan."}
            )


class ModelVersion(models.Model):
    """One version of a device's model, as the record of which model each figure is about.

    The first is the version the device was registered with; later ones come from model
    changes notified under the plan's change protocol (reviews.model_changes)."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="model_versions")
    label = models.CharField("version", max_length=50)
    released_on = models.DateField("in use from")
    changes = models.TextField("what changed", blank=True)
    training_data_summary = models.TextField(blank=True)
    sha256 = models.CharField(
        "SHA-256 of the model artefact or manifest",
        max_length=64,
        blank=True,
        validators=[RegexValidator(r"^[0-9a-f]{64}$", "A SHA-256 is 64 hexadecimal characters.")],
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["device", "recorded_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["device", "label"], name="model_version_unique_label")
        ]

    def __str__(self) -> str:
        return f"{self.device.name} model {self.label}"


# --- Applications and the state machine ------------------------------------------------------


class ApplicationState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    SCREENING = "screening", "Screening"
    INFORMATION_REQUESTED = "information_requested", "Information requested"
    ACCEPTED = "accepted", "Accepted"
    IN_CONTROLLED_TESTING = "in_controlled_testing", "In controlled testing"
    SUSPENDED = "suspended", "Suspended"
    EVIDENCE_REVIEW = "evidence_review", "Evidence review"
    CLEARED = "cleared", "Cleared"
    NOT_CLEARED = "not_cleared", "Not cleared"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"

    @property
    def tag(self) -> str:
        """The GOV.UK tag class for this state: one colour per state, the same on the queue,
        the case page, the timeline and the dashboard (the words are always shown too)."""
        return STATE_TAGS[self]

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def in_words(self) -> str:
        """The state as it reads after "is" or "is now": "in evidence review", "being
        screened", never "is now screening"."""
        return STATE_WORDS[self]


S = ApplicationState
FINAL_STATES = frozenset({S.CLEARED, S.NOT_CLEARED, S.REJECTED, S.WITHDRAWN})
NON_FINAL_STATES = [state for state in S if state not in FINAL_STATES]
STATE_WORDS = {
    S.DRAFT: "a draft",
    S.SUBMITTED: "submitted",
    S.SCREENING: "being screened",
    S.INFORMATION_REQUESTED: "waiting for information from the manufacturer",
    S.ACCEPTED: "accepted into the sandbox",
    S.IN_CONTROLLED_TESTING: "in controlled testing",
    S.SUSPENDED: "suspended",
    S.EVIDENCE_REVIEW: "in evidence review",
    S.CLEARED: "cleared",
    S.NOT_CLEARED: "not cleared",
    S.REJECTED: "rejected",
    S.WITHDRAWN: "withdrawn",
}
# GOV.UK Frontend has eleven tag colours for twelve states: a draft never reaches a reviewer's
# queue, so it shares grey with "withdrawn". "" is the default (dark blue) tag.
STATE_TAGS = {
    S.DRAFT: "govuk-tag--grey",
    S.SUBMITTED: "",
    S.SCREENING: "govuk-tag--teal",
    S.INFORMATION_REQUESTED: "govuk-tag--yellow",
    S.ACCEPTED: "govuk-tag--turquoise",
    S.IN_CONTROLLED_TESTING: "govuk-tag--purple",
    S.SUSPENDED: "govuk-tag--orange",
    S.EVIDENCE_REVIEW: "govuk-tag--magenta",
    S.CLEARED: "govuk-tag--green",
    S.NOT_CLEARED: "govuk-tag--red",
    S.REJECTED: "govuk-tag--pink",
    S.WITHDRAWN: "govuk-tag--grey",
}


class SandboxEnvironment(models.TextChoices):
    SIMULATION = "simulation", "Simulation (workshop scenarios)"
    VIRTUAL = "virtual", "Virtual (real data, controlled environment)"
    REAL_WORLD = "real_world", "Real-world (in setting, apart from clinical decisions)"


class Maturity(models.TextChoices):
    PROTOTYPE = "prototype", "Prototype"
    RETROSPECTIVE = "retrospective", "Validated on retrospective data"
    PROSPECTIVE = "prospective", "Validated prospectively"
    DEPLOYED = "deployed", "Deployed elsewhere (another market or setting)"


class ClockStage(models.TextChoices):
    SCREENING = "screening", "Screening decision"
    PLAN = "plan", "Testing plan agreement"
    EVIDENCE_REVIEW = "evidence_review", "Evidence review decision"


# Working days each review stage may take, from when it starts until the regulator decides.
CLOCK_WORKING_DAYS = {
    ClockStage.SCREENING: 20,
    ClockStage.PLAN: 20,
    ClockStage.EVIDENCE_REVIEW: 30,
}
DUE_SOON_WORKING_DAYS = 5


class EvidenceKind(models.TextChoices):
    RISK_MANAGEMENT = "risk_management", "Risk management file (ISO 14971)"
    CLINICAL_EVALUATION = "clinical_evaluation", "Clinical evaluation summary"
    DATA_PROTECTION = "data_protection", "Data protection impact assessment"
    CLINICAL_SAFETY = "clinical_safety", "Clinical safety case (DCB0129)"
    TECHNICAL = "technical", "Technical documentation"
    PCCP = "pccp", "Predetermined change control plan"
    PERFORMANCE = "performance", "Performance report"
    USABILITY = "usability", "Usability and human factors"
    OTHER = "other", "Other"


REQUIRED_EVIDENCE = (
    EvidenceKind.RISK_MANAGEMENT,
    EvidenceKind.CLINICAL_EVALUATION,
    EvidenceKind.DATA_PROTECTION,
)


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


class Application(FSMModelMixin, models.Model):
    """One device's case through the sandbox."""

    reference = models.CharField(max_length=20, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="applications"
    )
    device = models.ForeignKey(
        Device, on_delete=models.PROTECT, related_name="applications", null=True, blank=True
    )
    cohort = models.ForeignKey(
        "reviews.Cohort",
        on_delete=models.PROTECT,
        related_name="applications",
        null=True,
        blank=True,
    )
    # The call for applications this one answers; empty only on cases from before calls.
    call = models.ForeignKey(
        "calls.Call",
        on_delete=models.PROTECT,
        related_name="applications",
        null=True,
        blank=True,
        help_text="The call for applications you are applying to.",
    )
    state = FSMField(
        max_length=30,
        choices=ApplicationState.choices,
        default=ApplicationState.DRAFT,
        protected=True,
        db_index=True,
    )
    regulatory_challenge = models.TextField(
        blank=True,
        help_text="The regulatory question you want the sandbox to help answer.",
    )
    sandbox_environment = models.CharField(
        "sandbox environment sought",
        max_length=20,
        choices=SandboxEnvironment.choices,
        blank=True,
    )
    patient_benefit = models.TextField(
        "patient and NHS benefit",
        blank=True,
        help_text="The measurable benefit to patients or the NHS.",
    )
    maturity = models.CharField(max_length=20, choices=Maturity.choices, blank=True)
    nhs_sites = models.TextField(
        "NHS sites",
        blank=True,
        help_text="Trusts or practices lined up to take part, one a line.",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assigned_applications",
        null=True,
        blank=True,
    )
    # The open critical safety signal testing was suspended under, if any: then only a lead
    # reviewer may resume it (RESUMER).
    suspended_for = models.ForeignKey(
        "reviews.SafetySignal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    # Where an information request was raised from, so the response returns there.
    return_state = models.CharField(max_length=30, choices=ApplicationState.choices, blank=True)
    clock_stage = models.CharField(max_length=20, choices=ClockStage.choices, blank=True)
    clock_due_on = models.DateField(null=True, blank=True, db_index=True)
    clock_paused_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("act_for_organisation", "Can act for their organisation's applications")]
        indexes = [
            # The review queue filters by state and sorts by clock due date.
            models.Index(fields=["state", "clock_due_on"], name="app_state_clock_idx"),
            models.Index(fields=["assignee", "state"], name="app_assignee_state_idx"),
            # The queue's per-state counts (a GROUP BY state that leaves out the reviewer's
            # conflicted organisations, perhaps picking devices or organisations by name or
            # class) read this index alone: an index-only scan, not the whole table. Partial,
            # on the cases the regulator may see (devices.selectors.applications_for): a
            # condition on a column outside an index's own would otherwise need the table.
            models.Index(
                fields=["state", "organisation", "device"],
                name="app_queue_counts_idx",
                condition=models.Q(submitted_at__isnull=False),
            ),
            # The queue keeps its counts until the latest updated_at moves: one index read.
            models.Index(fields=["updated_at"], name="app_updated_idx"),
            # The queue's default sort (soonest clock first, no clock last: PostgreSQL's own
            # order for ASC), so a page is the first rows of an index walk, not a sort of
            # 100k rows. Its other sorts need NULLS LAST in the index, which SQLite cannot
            # declare: migration 0004 adds those on PostgreSQL only.
            models.Index(fields=["clock_due_on", "id"], name="app_queue_clock_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def state_enum(self) -> ApplicationState:
        return ApplicationState(self.state)

    @property
    def title(self) -> str:
        return f"{self.reference} · {self.device}" if self.device_id else self.reference

    # --- helpers the conditions use (reads only) ---

    def open_information_request(self):
        return self.information_requests.filter(responded_at__isnull=True).first()

    def pending_clearance(self):
        from reviews.models import DecisionKind

        return self.decisions.filter(
            kind=DecisionKind.CLEAR, countersigned_at__isnull=True, withdrawn_at__isnull=True
        ).first()

    def testing_plan_agreed(self) -> bool:
        plan = getattr(self, "testing_plan", None)
        return plan is not None and plan.agreed_at is not None and plan.thresholds.exists()

    def open_safety_signals(self) -> list:
        """Safety signals not yet closed (open or being investigated), oldest first."""
        from reviews.models import SafetySignal, SignalStatus

        return list(
            SafetySignal.objects.filter(application=self)
            .exclude(status=SignalStatus.CLOSED)
            .order_by("raised_at", "pk")
        )

    def latest_open_critical_signal(self):
        from reviews.models import SafetySignal, SignalSeverity, SignalStatus

        return (
            SafetySignal.objects.filter(application=self, severity=SignalSeverity.CRITICAL)
            .exclude(status=SignalStatus.CLOSED)
            .order_by("-raised_at", "-pk")
            .first()
        )

    def testing_shortfalls(self) -> list[str]:
        """Why completing testing now would be early, in words: the plan still has time to
        run, or checkpoints have no report. Empty when testing ran its course."""
        from reviews.models import Checkpoint, CheckpointStatus

        shortfalls = []
        plan = getattr(self, "testing_plan", None)
        today = timezone.localdate()
        if plan is not None and plan.ends_on > today:
            shortfalls.append(
                f"The agreed plan runs until {plan.ends_on:%-d %B %Y}: "
                f"{(plan.ends_on - today).days} days early."
            )
        unreported = list(
            Checkpoint.objects.filter(application=self)
            .exclude(status=CheckpointStatus.SUBMITTED)
            .order_by("sequence")
            .values_list("sequence", flat=True)
        )
        if unreported:
            numbers = ", ".join(str(n) for n in unreported)
            shortfalls.append(
                f"{len(unreported)} checkpoint{'s have' if len(unreported) > 1 else ' has'} "
                f"no report ({numbers})."
            )
        return shortfalls

    # --- clocks (pure: they only change fields on self) ---

    def _start_clock(self, stage: ClockStage, today: date) -> None:
        self.clock_stage = stage
        self.clock_due_on = add_working_days(today, CLOCK_WORKING_DAYS[stage])
        self.clock_paused_on = None

    def _stop_clock(self) -> None:
        self.clock_stage = ""
        self.clock_due_on = None
        self.clock_paused_on = None

    @property
    def clock_status(self) -> str:
        """on_track, due_soon, breached, paused, or '' when no clock runs."""
        if not self.clock_stage or self.clock_due_on is None:
            return ""
        if self.clock_paused_on is not None:
            return "paused"
        today = timezone.localdate()
        if self.clock_due_on < today:
            return "breached"
        if self.clock_due_on <= add_working_days(today, DUE_SOON_WORKING_DAYS):
            return "due_soon"
        return "on_track"

    # --- transitions ---

    @transition(
        field=state,
        source=S.DRAFT,
        target=S.SUBMITTED,
        permission=MANUFACTURER,
        conditions=[ORGANISATION_APPROVED, CALL_OPEN, DETAILS_COMPLETE, EVIDENCE_PRESENT],
        custom=transition_meta("Submit", "manufacturer"),
    )
    def submit(self) -> None:
        self.submitted_at = timezone.now()
        self._start_clock(ClockStage.SCREENING, timezone.localdate())

    @transition(
        field=state,
        source=S.SUBMITTED,
        target=S.SCREENING,
        permission=REVIEWER,
        custom=transition_meta("Start screening", "reviewer"),
    )
    def start_screening(self) -> None:
        pass

    @transition(
        field=state,
        source=[S.SCREENING, S.EVIDENCE_REVIEW],
        target=S.INFORMATION_REQUESTED,
        permission=REVIEWER,
        custom=transition_meta("Request information", "reviewer"),
    )
    def request_information(self) -> None:
        self.return_state = self.state
        # The review clock stops while the manufacturer is answering.
        if self.clock_stage and self.clock_paused_on is None:
            self.clock_paused_on = timezone.localdate()

    @transition(
        field=state,
        source=S.INFORMATION_REQUESTED,
        target=RETURN_VALUE(S.SCREENING, S.EVIDENCE_REVIEW),
        permission=MANUFACTURER,
        conditions=[OPEN_REQUEST],
        custom=transition_meta("Respond", "manufacturer"),
    )
    def respond(self) -> str:
        if self.clock_paused_on is not None and self.clock_due_on is not None:
            paused = working_days_between(self.clock_paused_on, timezone.localdate())
            self.clock_due_on = add_working_days(self.clock_due_on, paused)
            self.clock_paused_on = None
        back_to, self.return_state = self.return_state or S.SCREENING, ""
        return back_to

    @transition(
        field=state,
        source=S.SCREENING,
        target=S.REJECTED,
        permission=REVIEWER,
        custom=transition_meta("Reject", "reviewer"),
    )
    def reject(self) -> None:
        self._stop_clock()

    @transition(
        field=state,
        source=S.SCREENING,
        target=S.ACCEPTED,
        permission=REVIEWER,
        conditions=[SCREENING_PASSED],
        custom=transition_meta("Accept into the sandbox", "reviewer"),
    )
    def accept(self, *, cohort=None) -> None:
        if cohort is not None:
            self.cohort = cohort
        self._start_clock(ClockStage.PLAN, timezone.localdate())

    @transition(
        field=state,
        source=S.ACCEPTED,
        target=S.IN_CONTROLLED_TESTING,
        permission=REVIEWER,
        conditions=[PLAN_AGREED],
        custom=transition_meta("Begin controlled testing", "reviewer"),
    )
    def begin_testing(self) -> None:
        self._stop_clock()

    @transition(
        field=state,
        source=S.IN_CONTROLLED_TESTING,
        target=S.SUSPENDED,
        permission=REVIEWER,
        custom=transition_meta("Suspend testing", "reviewer"),
    )
    def suspend(self) -> None:
        self.suspended_for = self.latest_open_critical_signal()

    @transition(
        field=state,
        source=S.SUSPENDED,
        target=S.IN_CONTROLLED_TESTING,
        permission=RESUMER,
        custom=transition_meta(
            "Resume testing",
            "reviewer",
            "A lead reviewer, if suspended while a critical signal was open.",
        ),
    )
    def resume(self) -> None:
        self.suspended_for = None

    @transition(
        field=state,
        source=S.IN_CONTROLLED_TESTING,
        target=S.EVIDENCE_REVIEW,
        permission=REVIEWER,
        custom=transition_meta("Complete testing", "reviewer"),
    )
    def complete_testing(self) -> None:
        self._start_clock(ClockStage.EVIDENCE_REVIEW, timezone.localdate())

    @transition(
        field=state,
        source=S.EVIDENCE_REVIEW,
        target=S.IN_CONTROLLED_TESTING,
        permission=REVIEWER,
        custom=transition_meta("Extend testing", "reviewer"),
    )
    def extend_testing(self) -> None:
        self._stop_clock()

    @transition(
        field=state,
        source=S.EVIDENCE_REVIEW,
        target=S.CLEARED,
        permission=LEAD_COUNTERSIGNER,
        conditions=[CLEARANCE_PROPOSED, NO_OPEN_SIGNALS],
        custom=transition_meta(
            "Countersign clearance", "lead reviewer", "Four eyes: not the proposer."
        ),
    )
    def clear(self) -> None:
        self._stop_clock()

    @transition(
        field=state,
        source=S.EVIDENCE_REVIEW,
        target=S.NOT_CLEARED,
        permission=REVIEWER,
        custom=transition_meta("Do not clear", "reviewer"),
    )
    def not_clear(self) -> None:
        self._stop_clock()

    @transition(
        field=state,
        source=NON_FINAL_STATES,
        target=S.WITHDRAWN,
        permission=MANUFACTURER,
        custom=transition_meta("Withdraw", "manufacturer"),
    )
    def withdraw(self) -> None:
        self._stop_clock()


# Every transition method, in the order they appear in the life of a case.
TRANSITIONS = (
    "submit",
    "start_screening",
    "request_information",
    "respond",
    "reject",
    "accept",
    "begin_testing",
    "suspend",
    "resume",
    "complete_testing",
    "extend_testing",
    "clear",
    "not_clear",
    "withdraw",
)


class ReferenceCounter(models.Model):
    """The last case number issued each year (AIA-2026-0042 is the 42nd of 2026)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class ApplicationStateCount(models.Model):
    """How many submitted applications an organisation has in a state: the review queue's
    per-state counts read these few rows (a reviewer's conflicted organisations left out)
    instead of counting every case. devices/state_counts.py keeps them in the same
    transaction as each change of state, and a scheduled job recomputes them."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=30, choices=ApplicationState.choices)
    total = models.IntegerField(default=0)

    class Meta:
        constraints = [
            # The upsert in devices/state_counts.py relies on it (ON CONFLICT).
            models.UniqueConstraint(fields=["organisation", "state"], name="app_state_count_once")
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.state}: {self.total}"


class ApplicationEvent(AppendOnly, Chained):
    """One audit row per transition: who, when, from, to, why. Never edited or deleted; chained
    into the audit ledger as it is written (ledger.models.Chained).

    Who was told about it is recorded in notifications.Notification (key "event:<pk>").
    """

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system acted (a scheduled job).",
    )
    transition = models.CharField(max_length=40)
    from_state = models.CharField(max_length=30, choices=ApplicationState.choices)
    to_state = models.CharField(max_length=30, choices=ApplicationState.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    CHAIN_FIELDS = (
        "application",
        "actor",
        "transition",
        "from_state",
        "to_state",
        "reason",
        "created_at",
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.application}: {self.from_state} → {self.to_state}"

    @property
    def actor_label(self) -> str:
        return str(self.actor) if self.actor_id else "Airlock (automatically)"

    def audit_action(self) -> str:
        return f"Transition: {self.transition}"

    def audit_detail(self) -> str:
        return f"{self.from_state} → {self.to_state}. {self.reason}".strip()


# --- Evidence --------------------------------------------------------------------------------


def private_storage() -> Storage:
    """Evidence storage: local disk or an object store, as settings say (airlock/storage.py).
    No URL maps to either; files are only served by a permission-checked view."""
    return storage.private_storage()


def evidence_path(instance: "EvidenceDocument", filename: str) -> str:
    """A random key that says nothing: not the uploader's file name (untrusted input), not the
    case. Two hex characters of fan-out keep any one folder of the local disk small."""
    key = uuid.uuid4().hex
    return f"evidence/{key[:2]}/{key}"


class EvidenceDocument(Chained):
    """An uploaded file. New versions supersede old ones; nothing is ever deleted. Each version
    is chained into the audit ledger as it is uploaded: its hash, size, uploader and time (not
    `is_current`, which changes when a newer version arrives, nor the storage key, which
    migrate_evidence may move)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=30, choices=EvidenceKind.choices)
    title = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to=evidence_path, storage=private_storage, max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField("SHA-256", max_length=64)
    version = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    is_current = models.BooleanField(default=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    CHAIN_FIELDS = (
        "application",
        "kind",
        "title",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "version",
        "supersedes",
        "uploaded_by",
        "uploaded_at",
    )
    AUDIT_PERSON_FIELDS = ("uploaded_by",)
    AUDIT_TIME_FIELD = "uploaded_at"

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "kind", "version"], name="evidence_unique_version"
            ),
            models.UniqueConstraint(
                fields=["application", "kind"],
                condition=Q(is_current=True),
                name="evidence_one_current_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version} ({self.original_name})"

    def delete(self, *args, **kwargs):
        raise PermissionError("Evidence is never deleted; upload a new version instead.")

    def audit_action(self) -> str:
        return "Evidence uploaded"

    def audit_detail(self) -> str:
        return (
            f"{self.get_kind_display()} v{self.version}, {self.size} bytes, SHA-256 {self.sha256}"
        )


class Message(models.Model):
    """A message on a case that both the manufacturer and the regulator see."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_regulator = models.BooleanField()
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.application} message by {self.author}"


# --- Controlled testing: what the manufacturer reports ---------------------------------------


class CheckpointReport(models.Model):
    """The manufacturer's figures for one scheduled checkpoint."""

    checkpoint = models.OneToOneField(
        "reviews.Checkpoint", on_delete=models.PROTECT, related_name="report"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    cases_processed = models.PositiveIntegerField()
    metrics = models.JSONField(help_text='Metric values, e.g. {"sensitivity": 0.93}.')
    subgroup_metrics = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per subgroup, e.g. {"age 65+": {"sensitivity": 0.88}}.',
    )
    # The counts behind each proportion, as [successes, trials]: metrics holds the proportion
    # computed from them; the confidence interval is computed from them when read, never
    # stored. A metric reported as a bare figure (before counts were taken) has none.
    counts = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"sensitivity": [93, 100]}.'
    )
    subgroup_counts = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"age 65+": {"sensitivity": [44, 50]}}.'
    )
    incidents_count = models.PositiveIntegerField(default=0)
    narrative = models.TextField(blank=True)
    # Set by the service on every report (the version in use unless the report names one);
    # reports from before versions were recorded were given their device's first version.
    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checkpoint_reports",
    )
    # Outbox for the evaluation task: empty until thresholds have been checked.
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"Report for {self.checkpoint}"


class IncidentSeverity(models.TextChoices):
    PUBLIC_HEALTH_THREAT = "public_health_threat", "Serious public health threat"
    DEATH_OR_DETERIORATION = (
        "death_or_deterioration",
        "Death or unanticipated serious deterioration in health",
    )
    OTHER_SERIOUS = "other_serious", "Other serious incident"


# GB post-market surveillance (from 16 June 2025): calendar days from awareness to report.
INCIDENT_REPORT_DAYS = {
    IncidentSeverity.PUBLIC_HEALTH_THREAT: 2,
    IncidentSeverity.DEATH_OR_DETERIORATION: 10,
    IncidentSeverity.OTHER_SERIOUS: 15,
}


class IncidentReport(models.Model):
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="incidents")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    severity = models.CharField(max_length=30, choices=IncidentSeverity.choices)
    occurred_on = models.DateField()
    aware_on = models.DateField("manufacturer became aware on")
    description = models.TextField()
    actions_taken = models.TextField(blank=True)
    reported_at = models.DateTimeField(default=timezone.now)
    report_due_on = models.DateField(editable=False)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )

    class Meta:
        ordering = ["-reported_at"]

    def __str__(self) -> str:
        return f"{self.application} incident {self.occurred_on}"

    def save(self, *args, **kwargs) -> None:
        self.report_due_on = self.aware_on + timedelta(
            days=INCIDENT_REPORT_DAYS[IncidentSeverity(self.severity)]
        )
        super().save(*args, **kwargs)

    @property
    def reported_late(self) -> bool:
        return timezone.localtime(self.reported_at).date() > self.report_due_on
