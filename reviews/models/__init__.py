"""The regulator's side: assignments, screening, information requests, testing plans and
checkpoints, evidence assessment, decisions, safety signals and partner regulators.

One module per subject; every public name is here too, so `from reviews.models import X` is
how the rest of the code imports them.
"""

from reviews.models.audit import (
    AuditAction,
    AuditEntry,
)
from reviews.models.changes import (
    ChangeDecision,
    ModelChange,
    ModelChangeStatus,
)
from reviews.models.checkpoint_emails import (
    CheckpointEmail,
    CheckpointEmailKind,
)
from reviews.models.checkpoints import (
    Checkpoint,
    CheckpointStatus,
)
from reviews.models.cohorts import (
    Assignment,
    Cohort,
    ConflictOfInterest,
)
from reviews.models.decisions import (
    Decision,
    DecisionKind,
    EvidenceAssessment,
    GmlpPrinciple,
    GmlpRating,
)
from reviews.models.notices import (
    ClockNotice,
    ClockNoticeKind,
    DigestReceipt,
)
from reviews.models.plans import (
    MIN_SAMPLE_HELP,
    PROTOCOL_CHANGE_KINDS,
    ChangeKind,
    Comparator,
    JudgedOn,
    Metric,
    MetricThreshold,
    PlanTerms,
    PlanVersion,
    PlanVersionQuerySet,
    PlanVersionStatus,
    PlanVersionThreshold,
    TestingPlan,
)
from reviews.models.screening import (
    EligibilityCriterion,
    InformationRequest,
    InternalNote,
    ScreeningAssessment,
    ScreeningOutcome,
)
from reviews.models.signals import (
    AlertDelivery,
    AlertStatus,
    IncomingAlert,
    PartnerRegulator,
    SafetySignal,
    SignalSeverity,
    SignalSource,
    SignalStatus,
)

# The network's own records live in reviews/network/models.py (a subject of their own); they
# are imported here so Django finds them in the reviews app.
from reviews.network.models import (
    ActionCategory,
    AlertReceipt,
    Assessment,
    DeliveryStatus,
    KeyAction,
    PartnerKeyEvent,
    PartnerSecret,
    ReceiptDelivery,
    ReceiptKind,
    WebhookMessage,
)

__all__ = [
    "MIN_SAMPLE_HELP",
    "PROTOCOL_CHANGE_KINDS",
    "ActionCategory",
    "AlertDelivery",
    "AlertReceipt",
    "AlertStatus",
    "Assessment",
    "Assignment",
    "AuditAction",
    "AuditEntry",
    "ChangeDecision",
    "ChangeKind",
    "Checkpoint",
    "CheckpointEmail",
    "CheckpointEmailKind",
    "CheckpointStatus",
    "ClockNotice",
    "ClockNoticeKind",
    "Cohort",
    "Comparator",
    "ConflictOfInterest",
    "Decision",
    "DecisionKind",
    "DeliveryStatus",
    "DigestReceipt",
    "EligibilityCriterion",
    "EvidenceAssessment",
    "GmlpPrinciple",
    "GmlpRating",
    "IncomingAlert",
    "InformationRequest",
    "InternalNote",
    "JudgedOn",
    "KeyAction",
    "Metric",
    "MetricThreshold",
    "ModelChange",
    "ModelChangeStatus",
    "PartnerKeyEvent",
    "PartnerRegulator",
    "PartnerSecret",
    "PlanTerms",
    "PlanVersion",
    "PlanVersionQuerySet",
    "PlanVersionStatus",
    "PlanVersionThreshold",
    "ReceiptDelivery",
    "ReceiptKind",
    "SafetySignal",
    "ScreeningAssessment",
    "ScreeningOutcome",
    "SignalSeverity",
    "SignalSource",
    "SignalStatus",
    "TestingPlan",
    "WebhookMessage",
]
