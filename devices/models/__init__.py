"""The manufacturer's side: organisations, devices, applications (the case) and their evidence.

`Application` carries the sandbox state machine. Its `@transition` methods only change fields on
`self`; locking, permission checks, saving, audit and side effects live in
`devices.services.application_transition`, which every caller goes through.

One module per subject; every public name is here too, so `from devices.models import X` is
how the rest of the code imports them.
"""

from devices.models.application import (
    TRANSITIONS,
    Application,
)
from devices.models.counts import (
    ApplicationStateCount,
    ReferenceCounter,
)
from devices.models.devices import (
    IMDRF_MATRIX,
    AiType,
    CareSetting,
    ClinicalArea,
    Device,
    ImdrfCategory,
    MdrClass,
    ModelVersion,
    Significance,
    Situation,
    imdrf_category,
)
from devices.models.events import (
    ApplicationEvent,
)
from devices.models.evidence import (
    EvidenceDocument,
    evidence_path,
    private_storage,
)
from devices.models.organisations import (
    CONTRIBUTING_ROLES,
    ORGANISATION_ROLE_DESCRIPTIONS,
    Membership,
    Organisation,
    OrganisationRole,
)
from devices.models.reports import (
    INCIDENT_REPORT_DAYS,
    CheckpointReport,
    IncidentReport,
    IncidentSeverity,
    Message,
)
from devices.models.rules import (
    CALL_OPEN,
    CLEARANCE_PROPOSED,
    DETAILS_COMPLETE,
    EVIDENCE_PRESENT,
    LEAD_COUNTERSIGNER,
    MANUFACTURER,
    NO_OPEN_SIGNALS,
    OPEN_REQUEST,
    ORGANISATION_APPROVED,
    PLAN_AGREED,
    RESUMER,
    REVIEWER,
    SCREENING_PASSED,
    Rule,
    contributor_refusal,
    is_team_member,
    may_contribute,
    transition_meta,
)
from devices.models.states import (
    CLOCK_WORKING_DAYS,
    DUE_SOON_WORKING_DAYS,
    FINAL_STATES,
    NON_FINAL_STATES,
    REQUIRED_EVIDENCE,
    STATE_TAGS,
    STATE_WORDS,
    ApplicationState,
    ClockStage,
    EvidenceKind,
    Maturity,
    S,
    SandboxEnvironment,
)

__all__ = [
    "CALL_OPEN",
    "CLEARANCE_PROPOSED",
    "CLOCK_WORKING_DAYS",
    "CONTRIBUTING_ROLES",
    "DETAILS_COMPLETE",
    "DUE_SOON_WORKING_DAYS",
    "EVIDENCE_PRESENT",
    "FINAL_STATES",
    "IMDRF_MATRIX",
    "INCIDENT_REPORT_DAYS",
    "LEAD_COUNTERSIGNER",
    "MANUFACTURER",
    "NON_FINAL_STATES",
    "NO_OPEN_SIGNALS",
    "OPEN_REQUEST",
    "ORGANISATION_APPROVED",
    "ORGANISATION_ROLE_DESCRIPTIONS",
    "PLAN_AGREED",
    "REQUIRED_EVIDENCE",
    "RESUMER",
    "REVIEWER",
    "SCREENING_PASSED",
    "STATE_TAGS",
    "STATE_WORDS",
    "TRANSITIONS",
    "AiType",
    "Application",
    "ApplicationEvent",
    "ApplicationState",
    "ApplicationStateCount",
    "CareSetting",
    "CheckpointReport",
    "ClinicalArea",
    "ClockStage",
    "Device",
    "EvidenceDocument",
    "EvidenceKind",
    "ImdrfCategory",
    "IncidentReport",
    "IncidentSeverity",
    "Maturity",
    "MdrClass",
    "Membership",
    "Message",
    "ModelVersion",
    "Organisation",
    "OrganisationRole",
    "ReferenceCounter",
    "Rule",
    "S",
    "SandboxEnvironment",
    "Significance",
    "Situation",
    "contributor_refusal",
    "evidence_path",
    "imdrf_category",
    "is_team_member",
    "may_contribute",
    "private_storage",
    "transition_meta",
]
