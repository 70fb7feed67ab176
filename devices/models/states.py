"""The states of a case and the words, tags, clocks and evidence that go with them."""

from django.db import models


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
