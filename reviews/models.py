"""The regulator's side: assignments, screening, information requests, testing plans and
checkpoints, evidence assessment, decisions, safety signals and partner regulators."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from airlock import outbound
from devices.models import ClockStage, SandboxEnvironment
from ledger.append_only import AppendOnly
from ledger.models import Chained

# The network's own records live in reviews/network/models.py (a subject of their own); they
# are imported here so Django finds them in the reviews app.
from reviews.network.models import (  # noqa: F401
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


class Cohort(models.Model):
    name = models.CharField(max_length=100, unique=True)
    starts_on = models.DateField()
    ends_on = models.DateField()
    capacity = models.PositiveSmallIntegerField(
        default=7, help_text="How many applications the cohort can take."
    )
    is_open = models.BooleanField(default=True, help_text="Open cohorts can accept applications.")

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("starts_on")), name="cohort_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ConflictOfInterest(models.Model):
    """A reviewer's declared interest in an organisation: they cannot work its cases."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conflicts"
    )
    organisation = models.ForeignKey(
        "devices.Organisation", on_delete=models.CASCADE, related_name="conflicts"
    )
    reason = models.TextField()
    declared_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-declared_at"]
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "organisation"], name="coi_unique")
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} ↔ {self.organisation}"


class Assignment(models.Model):
    """Who worked a case, and when. The current one also sits on Application.assignee."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="assignments"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(ended_at__isnull=True),
                name="assignment_one_current",
            )
        ]

    def __str__(self) -> str:
        return f"{self.application} → {self.reviewer}"


class EligibilityCriterion(models.Model):
    """A screening criterion (FCA-sandbox style), managed by lead reviewers in the admin."""

    code = models.SlugField(max_length=40, unique=True)
    title = models.CharField(max_length=100)
    question = models.TextField()
    positive_indicators = models.TextField(blank=True)
    negative_indicators = models.TextField(blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "title"]
        verbose_name_plural = "eligibility criteria"

    def __str__(self) -> str:
        return self.title


class ScreeningOutcome(models.TextChoices):
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"
    UNCLEAR = "unclear", "Unclear — more information needed"


class ScreeningAssessment(models.Model):
    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="screening_assessments"
    )
    criterion = models.ForeignKey(
        EligibilityCriterion, on_delete=models.PROTECT, related_name="assessments"
    )
    outcome = models.CharField(max_length=10, choices=ScreeningOutcome.choices)
    comment = models.TextField()
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assessed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["criterion__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "criterion"], name="screening_one_per_criterion"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application}: {self.criterion} {self.outcome}"


class InformationRequest(models.Model):
    """Questions to the manufacturer. While open, the review clock is paused."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="information_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    questions = models.TextField()
    due_on = models.DateField()
    response = models.TextField(blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(responded_at__isnull=True),
                name="information_request_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.application} request {self.requested_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.responded_at is None


class InternalNote(models.Model):
    """A reviewers-only note on a case. Never shown to manufacturers."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="internal_notes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Note on {self.application} by {self.author}"


# --- Controlled testing ----------------------------------------------------------------------


class Metric(models.TextChoices):
    SENSITIVITY = "sensitivity", "Sensitivity"
    SPECIFICITY = "specificity", "Specificity"
    PPV = "ppv", "Positive predictive value"
    NPV = "npv", "Negative predictive value"
    AUROC = "auroc", "AUROC"
    CALIBRATION_SLOPE = "calibration_slope", "Calibration slope"
    OVERRIDE_RATE = "override_rate", "Clinician override rate"


class Comparator(models.TextChoices):
    AT_LEAST = "gte", "at least"
    AT_MOST = "lte", "at most"


class JudgedOn(models.TextChoices):
    """What a threshold is compared with: the figure itself, or the end of its 95% interval
    on the side the threshold guards (the lower bound for a minimum, the upper for a maximum),
    so a good figure from a handful of cases does not pass on luck."""

    ESTIMATE = "estimate", "the figure reported"
    INTERVAL = "interval", "its 95% confidence interval"


class ChangeKind(models.TextChoices):
    """Kinds of change to a model. The first four can be pre-agreed in a change protocol; a
    new input type or a new intended use is a new device, never within a protocol."""

    RETRAINING = "retraining", "Retraining on new data from the same population"
    RECALIBRATION = "recalibration", "Recalibration of a decision threshold"
    ARCHITECTURE = "architecture", "A change of model architecture"
    NEW_POPULATION = "new_population", "Extension to a new patient population"
    NEW_INPUT = "new_input", "A new input type"
    NEW_USE = "new_intended_use", "A new intended use"


PROTOCOL_CHANGE_KINDS = [
    ChangeKind.RETRAINING,
    ChangeKind.RECALIBRATION,
    ChangeKind.ARCHITECTURE,
    ChangeKind.NEW_POPULATION,
]


MIN_SAMPLE_HELP = (
    "The fewest cases a proportion (such as sensitivity) can be judged on at a checkpoint; "
    "below this the site says the figure is too small to judge. 0 judges any sample."
)


class TestingPlan(models.Model):
    """The testing plan in force: the terms of the latest version both sides agreed.

    It is written only when a version is agreed by the manufacturer (reviews.plans), so an
    amendment cannot change what the checkpoint sweep schedules or what reports are
    evaluated against before both sides agree it. Every version, agreed or not, is a
    PlanVersion.
    """

    application = models.OneToOneField(
        "devices.Application", on_delete=models.PROTECT, related_name="testing_plan"
    )
    environment = models.CharField(max_length=20, choices=SandboxEnvironment.choices)
    starts_on = models.DateField()
    ends_on = models.DateField()
    cadence_days = models.PositiveSmallIntegerField(
        default=28, help_text="Days between checkpoints."
    )
    nhs_sites = models.TextField("NHS sites", blank=True)
    suspend_on_critical_breach = models.BooleanField(
        default=True,
        help_text="Suspend testing automatically when a metric passes its critical limit.",
    )
    min_sample = models.PositiveIntegerField(
        "minimum sample per checkpoint", default=0, help_text=MIN_SAMPLE_HELP
    )
    allowed_change_kinds = models.JSONField(
        default=list,
        blank=True,
        help_text="The change protocol of an adaptive device: the kinds of model change "
        "allowed without a new agreement (ChangeKind values).",
    )
    change_evidence = models.TextField(
        "evidence each change needs",
        blank=True,
        help_text="One item a line; a change notified without each is refused.",
    )
    required_subgroups = models.TextField(
        blank=True,
        help_text="Subgroups every checkpoint report must give figures for, one a line "
        "(e.g. age 65+, female, Fitzpatrick V-VI, each site).",
    )
    equity_gap_limit = models.DecimalField(
        "largest gap between subgroups",
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="A gap between the best and worst subgroup's figure beyond this raises an "
        "equity signal, even when every subgroup meets its threshold. Empty: no limit.",
    )
    drift_slack = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.01"),
        help_text="Drift detection (CUSUM): the shortfall from the first figure each "
        "checkpoint may show before it counts.",
    )
    drift_limit = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.03"),
        help_text="Drift detection (CUSUM): the accumulated shortfall that raises an early "
        "warning.",
    )
    notes = models.TextField(blank=True)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Who completed the agreement of the version in force (the manufacturer, whose agreement
    # comes second), and when it took effect.
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    agreed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveSmallIntegerField(
        default=1, help_text="The number of the plan version in force."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("starts_on")), name="plan_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(cadence_days__gte=1), name="plan_cadence_positive"),
        ]

    def __str__(self) -> str:
        return f"Testing plan for {self.application}"


class MetricThreshold(models.Model):
    plan = models.ForeignKey(TestingPlan, on_delete=models.CASCADE, related_name="thresholds")
    metric = models.CharField(max_length=30, choices=Metric.choices)
    comparator = models.CharField(
        max_length=3, choices=Comparator.choices, default=Comparator.AT_LEAST
    )
    value = models.DecimalField(max_digits=6, decimal_places=4)
    critical_value = models.DecimalField(
        max_digits=6,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Beyond this value a breach is critical.",
    )
    judged_on = models.CharField(max_length=10, choices=JudgedOn.choices, default=JudgedOn.ESTIMATE)

    class Meta:
        ordering = ["metric"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "metric"], name="threshold_one_per_metric")
        ]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} {self.get_comparator_display()} {self.value}"


class PlanVersionQuerySet(models.QuerySet):
    def open(self):
        """The version being drafted, sent or returned: agreed by neither side yet, or by the
        reviewer only. There is at most one per case."""
        return self.filter(manufacturer_agreed_at__isnull=True, withdrawn_at__isnull=True)


class PlanVersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RETURNED = "returned", "Returned with comments"
    WITH_MANUFACTURER = "with_manufacturer", "Waiting for the manufacturer's agreement"
    IN_FORCE = "in_force", "Agreed, in force"
    SUPERSEDED = "superseded", "Agreed, since amended"
    WITHDRAWN = "withdrawn", "Withdrawn"

    @property
    def tag(self) -> str:
        return {
            "draft": "govuk-tag--grey",
            "returned": "govuk-tag--yellow",
            "with_manufacturer": "govuk-tag--teal",
            "in_force": "govuk-tag--green",
            "superseded": "govuk-tag--grey",
            "withdrawn": "govuk-tag--grey",
        }[self]


class PlanVersion(models.Model):
    """One version of a case's testing plan: number 1 is the plan first agreed, each later one
    an amendment. A version takes effect only when the reviewer and then the manufacturer have
    agreed it (who and when are kept here and in the audit trail); it is then copied onto the
    TestingPlan in force and never changes again."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="plan_versions"
    )
    number = models.PositiveSmallIntegerField()
    environment = models.CharField(max_length=20, choices=SandboxEnvironment.choices)
    starts_on = models.DateField()
    ends_on = models.DateField()
    cadence_days = models.PositiveSmallIntegerField(help_text="Days between checkpoints.")
    nhs_sites = models.TextField("NHS sites", blank=True)
    suspend_on_critical_breach = models.BooleanField(default=True)
    min_sample = models.PositiveIntegerField(
        "minimum sample per checkpoint", default=0, help_text=MIN_SAMPLE_HELP
    )
    allowed_change_kinds = models.JSONField(
        default=list,
        blank=True,
        help_text="The change protocol of an adaptive device: the kinds of model change "
        "allowed without a new agreement (ChangeKind values).",
    )
    change_evidence = models.TextField(
        "evidence each change needs",
        blank=True,
        help_text="One item a line; a change notified without each is refused.",
    )
    required_subgroups = models.TextField(
        blank=True,
        help_text="Subgroups every checkpoint report must give figures for, one a line "
        "(e.g. age 65+, female, Fitzpatrick V-VI, each site).",
    )
    equity_gap_limit = models.DecimalField(
        "largest gap between subgroups",
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="A gap between the best and worst subgroup's figure beyond this raises an "
        "equity signal, even when every subgroup meets its threshold. Empty: no limit.",
    )
    drift_slack = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.01"),
        help_text="Drift detection (CUSUM): the shortfall from the first figure each "
        "checkpoint may show before it counts.",
    )
    drift_limit = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.03"),
        help_text="Drift detection (CUSUM): the accumulated shortfall that raises an early "
        "warning.",
    )
    notes = models.TextField(blank=True)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    drafted_at = models.DateTimeField(default=timezone.now)
    # Goes up with every revision of a draft, so an agreement given to what one page showed
    # cannot land on terms revised since.
    revision = models.PositiveIntegerField(default=1)
    reviewer_agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewer_agreed_at = models.DateTimeField(null=True, blank=True)
    manufacturer_agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    manufacturer_agreed_at = models.DateTimeField(null=True, blank=True)
    # The latest return, kept here for the page; every return is also in the audit trail.
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    returned_at = models.DateTimeField(null=True, blank=True)
    return_comments = models.TextField(blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    objects = PlanVersionQuerySet.as_manager()

    class Meta:
        ordering = ["application", "number"]
        constraints = [
            models.UniqueConstraint(fields=["application", "number"], name="plan_version_unique"),
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(manufacturer_agreed_at__isnull=True, withdrawn_at__isnull=True),
                name="plan_version_one_open",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("starts_on")), name="plan_version_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(cadence_days__gte=1), name="plan_version_cadence_positive"
            ),
            # The manufacturer agrees what the regulator has agreed, never before.
            models.CheckConstraint(
                condition=Q(manufacturer_agreed_at__isnull=True)
                | Q(reviewer_agreed_at__isnull=False),
                name="plan_version_reviewer_agrees_first",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} testing plan, {self.label}"

    @property
    def label(self) -> str:
        if self.number == 1:
            return "version 1 (the plan)"
        return f"version {self.number} (amendment {self.number - 1})"

    @property
    def is_amendment(self) -> bool:
        return self.number > 1

    def status(self, in_force_number: int | None) -> PlanVersionStatus:
        if self.withdrawn_at is not None:
            return PlanVersionStatus.WITHDRAWN
        if self.manufacturer_agreed_at is not None:
            if self.number == in_force_number:
                return PlanVersionStatus.IN_FORCE
            return PlanVersionStatus.SUPERSEDED
        if self.reviewer_agreed_at is not None:
            return PlanVersionStatus.WITH_MANUFACTURER
        if self.returned_at is not None:
            return PlanVersionStatus.RETURNED
        return PlanVersionStatus.DRAFT


class PlanVersionThreshold(models.Model):
    """A metric threshold as one plan version states it."""

    version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="thresholds")
    metric = models.CharField(max_length=30, choices=Metric.choices)
    comparator = models.CharField(
        max_length=3, choices=Comparator.choices, default=Comparator.AT_LEAST
    )
    value = models.DecimalField(max_digits=6, decimal_places=4)
    critical_value = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    judged_on = models.CharField(max_length=10, choices=JudgedOn.choices, default=JudgedOn.ESTIMATE)

    class Meta:
        ordering = ["metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "metric"], name="plan_version_threshold_one_per_metric"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} {self.get_comparator_display()} {self.value}"


class CheckpointStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SUBMITTED = "submitted", "Report submitted"
    OVERDUE = "overdue", "Overdue"

    @property
    def tag(self) -> str:
        return {
            "scheduled": "govuk-tag--grey",
            "submitted": "govuk-tag--green",
            "overdue": "govuk-tag--red",
        }[self]


class Checkpoint(models.Model):
    """A scheduled report during controlled testing, created by the checkpoint sweep."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="checkpoints"
    )
    sequence = models.PositiveSmallIntegerField()
    due_on = models.DateField(db_index=True)
    status = models.CharField(
        max_length=10, choices=CheckpointStatus.choices, default=CheckpointStatus.SCHEDULED
    )
    reminded_7_days_at = models.DateTimeField(null=True, blank=True)
    reminded_1_day_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["application", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "sequence"], name="checkpoint_unique_sequence"
            )
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="checkpoint_status_due_idx")]

    def __str__(self) -> str:
        return f"{self.application} checkpoint {self.sequence}"

    @property
    def status_enum(self) -> CheckpointStatus:
        return CheckpointStatus(self.status)


# --- Evidence review and decisions -----------------------------------------------------------


class GmlpPrinciple(models.IntegerChoices):
    MULTIDISCIPLINARY = 1, "Multidisciplinary expertise across the product life cycle"
    SOFTWARE_SECURITY = 2, "Good software engineering and security practice"
    REPRESENTATIVE_DATA = 3, "Participants and data sets represent the intended population"
    INDEPENDENT_DATA = 4, "Training data sets are independent of test sets"
    REFERENCE_DATASETS = 5, "Reference data sets use the best available methods"
    MODEL_DESIGN = 6, "Model design is tailored to the data and the intended use"
    HUMAN_AI_TEAM = 7, "Focus is on the performance of the human-AI team"
    CLINICAL_TESTING = 8, "Testing shows performance in clinically relevant conditions"
    USER_INFORMATION = 9, "Users get clear, essential information"
    MONITORING = 10, "Deployed models are monitored and retraining risks managed"


class GmlpRating(models.TextChoices):
    MET = "met", "Met"
    PARTLY_MET = "partly_met", "Partly met"
    NOT_MET = "not_met", "Not met"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class EvidenceAssessment(models.Model):
    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="evidence_assessments"
    )
    principle = models.PositiveSmallIntegerField(choices=GmlpPrinciple.choices)
    rating = models.CharField(max_length=20, choices=GmlpRating.choices)
    comment = models.TextField()
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assessed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["principle"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "principle"], name="gmlp_one_per_principle"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application}: GMLP {self.principle} {self.rating}"


class DecisionKind(models.TextChoices):
    ACCEPT = "accept", "Accept into the sandbox"
    REJECT = "reject", "Reject"
    EXTEND_TESTING = "extend_testing", "Extend testing"
    CLEAR = "clear", "Clear"
    NOT_CLEAR = "not_clear", "Do not clear"


class Decision(Chained):
    """A recorded decision with its rationale. A clearance takes effect only when a lead
    reviewer other than the decider countersigns it. Chained into the audit ledger as it is
    recorded (what was decided, by whom, when, why); the countersignature or withdrawal that
    follows is chained as the case's transition (devices.ApplicationEvent)."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="decisions"
    )
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)
    rationale = models.TextField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)
    countersigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    countersigned_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(
        null=True, blank=True, help_text="A proposal set aside before countersignature."
    )

    CHAIN_FIELDS = ("application", "kind", "rationale", "decided_by", "decided_at")
    AUDIT_PERSON_FIELDS = ("decided_by",)
    AUDIT_TIME_FIELD = "decided_at"

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(countersigned_by__isnull=True)
                | ~Q(countersigned_by=models.F("decided_by")),
                name="decision_four_eyes",
            ),
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(kind="clear", countersigned_at__isnull=True, withdrawn_at__isnull=True),
                name="decision_one_pending_clearance",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application}: {self.get_kind_display()}"

    def audit_action(self) -> str:
        return f"Decision recorded: {self.get_kind_display()}"

    def audit_detail(self) -> str:
        return self.rationale


# --- Safety signals and the partner network --------------------------------------------------


class SignalSeverity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"

    @property
    def tag(self) -> str:
        return {
            "low": "govuk-tag--grey",
            "medium": "govuk-tag--teal",
            "high": "govuk-tag--yellow",
            "critical": "govuk-tag--red",
        }[self]


class SignalSource(models.TextChoices):
    CHECKPOINT_BREACH = "checkpoint_breach", "Checkpoint threshold breach"
    EQUITY = "equity", "Subgroup equity"
    DRIFT = "drift", "Drift (early warning)"
    INCIDENT = "incident", "Incident report"
    REVIEWER = "reviewer", "Raised by a reviewer"


class SignalStatus(models.TextChoices):
    OPEN = "open", "Open"
    INVESTIGATING = "investigating", "Investigating"
    CLOSED = "closed", "Closed"


class AlertStatus(models.TextChoices):
    """An alert's status in the network: a signal's status, or an explicit retraction."""

    OPEN = "open", "Open"
    INVESTIGATING = "investigating", "Investigating"
    CLOSED = "closed", "Closed"
    RETRACTED = "retracted", "Retracted"


class SafetySignal(models.Model):
    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="safety_signals"
    )
    checkpoint_report = models.ForeignKey(
        "devices.CheckpointReport",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="signals",
    )
    incident = models.ForeignKey(
        "devices.IncidentReport",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="signals",
    )
    metric = models.CharField(max_length=30, choices=Metric.choices, blank=True)
    observed_value = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    severity = models.CharField(max_length=10, choices=SignalSeverity.choices)
    source = models.CharField(max_length=20, choices=SignalSource.choices)
    status = models.CharField(
        max_length=15, choices=SignalStatus.choices, default=SignalStatus.OPEN
    )
    title = models.CharField(max_length=200)
    description = models.TextField()
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when raised automatically by checkpoint evaluation.",
    )
    raised_at = models.DateTimeField(default=timezone.now, db_index=True)
    shared_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was shared with partner regulators."
    )
    # A signal is closed only with a written resolution; reopening it clears these (every
    # change of status stays in the audit trail, AuditEntry).
    resolution_findings = models.TextField("what was found", blank=True)
    resolution_actions = models.TextField("what was done", blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    # The version of the alert partners have: 1 when first shared, one more each time a
    # shared signal changes status or is retracted (docs/NETWORK.md).
    alert_version = models.PositiveIntegerField(default=1)
    retracted_at = models.DateTimeField(null=True, blank=True)
    retraction_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            # Evaluating the same report twice must not raise the same signal twice.
            models.UniqueConstraint(
                fields=["checkpoint_report", "metric", "source"],
                condition=Q(checkpoint_report__isnull=False),
                name="signal_one_per_report_metric_source",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def severity_enum(self) -> SignalSeverity:
        return SignalSeverity(self.severity)

    @property
    def is_open(self) -> bool:
        return self.status != SignalStatus.CLOSED


class PartnerRegulator(models.Model):
    """A regulator in the network. Messages both ways are signed with the partner's active
    secrets (reviews.network.PartnerSecret); the partner authenticates to us with the token
    whose SHA-256 is `inbound_token_sha256`, and we to them with `outbound_token`."""

    name = models.CharField(max_length=200, unique=True)
    country = models.CharField(max_length=100)
    webhook_url = models.URLField(
        "inbox URL", blank=True, help_text="Where we POST alerts and receipts for them."
    )
    outbound_token = models.CharField(
        max_length=200,
        blank=True,
        help_text="The bearer token the partner issued us for their inbox.",
    )
    inbound_token_sha256 = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse a webhook that is not https, or whose host resolves to anything but public
        addresses (airlock.outbound; checked again at every delivery)."""
        super().clean()
        if self.webhook_url:
            try:
                outbound.destination(self.webhook_url)
            except outbound.UnsafeDestination as exc:
                raise ValidationError({"webhook_url": str(exc)}) from None


class AlertDelivery(models.Model):
    """The delivery log: one row per version of a signal's alert per partner, updated on
    every attempt."""

    signal = models.ForeignKey(SafetySignal, on_delete=models.PROTECT, related_name="deliveries")
    version = models.PositiveIntegerField(default=1)
    partner = models.ForeignKey(
        PartnerRegulator, on_delete=models.PROTECT, related_name="deliveries"
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_attempt_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["signal", "partner", "version"], name="delivery_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.signal} → {self.partner}: {self.status}"

    @property
    def outcome(self) -> str:
        """The delivery as reviewers see it: whether it arrived, never why not. The error
        text (what answered, on which address) is for administrators, in the admin's
        delivery log: it would otherwise map the network for whoever set the URL."""
        if self.status == DeliveryStatus.DELIVERED:
            return "Delivered."
        if self.status == DeliveryStatus.SUPERSEDED:
            return "Not sent: a newer version went instead."
        if self.status == DeliveryStatus.FAILED:
            return (
                f"Not delivered after {self.attempts} attempts. An administrator can see why "
                "in the delivery log."
            )
        if self.attempts:
            return f"Not delivered yet: will try again (attempt {self.attempts} failed)."
        return "Waiting to be sent."


class IncomingAlert(models.Model):
    """A safety alert a partner regulator shared with us."""

    partner = models.ForeignKey(
        PartnerRegulator, on_delete=models.PROTECT, related_name="incoming_alerts"
    )
    external_id = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=10, choices=SignalSeverity.choices)
    device_name = models.CharField(max_length=200, blank=True)
    summary = models.TextField()
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    # The newest version received (an older one arriving late changes nothing) and its
    # status; alerts pushed through the older /api/alerts/incoming/ stay at version 1.
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=15, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # Partners retry: the same alert delivered twice is stored once.
            models.UniqueConstraint(fields=["partner", "external_id"], name="incoming_unique")
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.title}"

    @property
    def severity_enum(self) -> SignalSeverity:
        return SignalSeverity(self.severity)


# --- The audit trail of decisions that are not state changes ---------------------------------


class AuditAction(models.TextChoices):
    PLAN_DRAFTED = "plan_drafted", "Testing plan drafted"
    PLAN_REVISED = "plan_revised", "Testing plan revised"
    PLAN_SENT = "plan_sent", "Testing plan agreed by the regulator and sent"
    PLAN_AGREED = "plan_agreed", "Testing plan agreed by the manufacturer"
    PLAN_RETURNED = "plan_returned", "Testing plan returned with comments"
    PLAN_WITHDRAWN = "plan_withdrawn", "Testing plan amendment withdrawn"
    SIGNAL_STATUS = "signal_status", "Safety signal status changed"
    SIGNAL_CLOSED = "signal_closed", "Safety signal closed"
    SIGNAL_REOPENED = "signal_reopened", "Safety signal reopened"
    SIGNAL_RETRACTED = "signal_retracted", "Shared alert retracted"
    MODEL_CHANGE_NOTIFIED = "model_change", "Model change notified"
    MODEL_CHANGE_DECIDED = "model_change_decided", "Model change decided"


class ModelChangeStatus(models.TextChoices):
    RECORDED = "recorded", "Within the change protocol: recorded"
    HELD = "held", "Outside the change protocol: held for a reviewer"
    ACCEPTED = "accepted", "Accepted by a reviewer"
    REFUSED = "refused", "Refused"


class ChangeDecision(models.TextChoices):
    ACCEPT = "accept", "Accept the change: the new version is in use from now on"
    REFUSE = "refuse", "Refuse the change: the version in use stays"
    SUSPEND = "suspend", "Refuse the change and suspend testing"


class ModelChange(models.Model):
    """A change to a device's model notified during testing, checked against the change
    protocol of the plan in force (reviews.model_changes). A change within it, or one a
    reviewer accepts, becomes the device's model version in use."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="model_changes"
    )
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    version_label = models.CharField("new version", max_length=50)
    released_on = models.DateField("in use from")
    description = models.TextField("what changed")
    training_data_summary = models.TextField(blank=True)
    sha256 = models.CharField(
        "SHA-256 of the model artefact or manifest", max_length=64, blank=True
    )
    # The changed model's validation figures, as a checkpoint report's: proportions and counts.
    validation_metrics = models.JSONField(default=dict, blank=True)
    validation_counts = models.JSONField(default=dict, blank=True)
    # The evidence the protocol asks for: {requirement: where or what it is}.
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ModelChangeStatus.choices)
    # Why it is outside the protocol, in words (empty when within it).
    problems = models.JSONField(default=list, blank=True)
    notified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    notified_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    suspended_testing = models.BooleanField(default=False)
    model_version = models.OneToOneField(
        "devices.ModelVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="change",
    )

    class Meta:
        ordering = ["-notified_at", "-pk"]

    def __str__(self) -> str:
        return f"Model change to {self.version_label} on {self.application}"

    @property
    def status_enum(self) -> ModelChangeStatus:
        return ModelChangeStatus(self.status)


class AuditEntry(AppendOnly, Chained):
    """Who did what, when and why, for the decisions on a case that do not change its state:
    each side's agreement to a testing plan version, a return with comments, a safety signal
    investigated, closed with its resolution, or reopened. Never edited or deleted (state
    changes have their own trail, devices.ApplicationEvent). Chained into the audit ledger."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    summary = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries"
    )
    signal = models.ForeignKey(
        SafetySignal, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries"
    )
    model_change = models.ForeignKey(
        ModelChange, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries"
    )
    created_at = models.DateTimeField(default=timezone.now)

    CHAIN_FIELDS = (
        "application",
        "actor",
        "action",
        "summary",
        "detail",
        "plan_version",
        "signal",
        "created_at",
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.application}: {self.summary}"

    def audit_action(self) -> str:
        return self.get_action_display()

    def audit_detail(self) -> str:
        return f"{self.summary} {self.detail}".strip()

    @property
    def actor_label(self) -> str:
        return str(self.actor) if self.actor_id else "Airlock (automatically)"


# --- Records of what scheduled jobs have sent -------------------------------------------------


class ClockNoticeKind(models.TextChoices):
    WARNING = "warning", "Due soon"
    BREACH = "breach", "Breached"


class ClockNotice(models.Model):
    """A review-clock warning or breach notice the clock sweep sent.

    The unique constraint is what makes the sweep safe to rerun: a clock that is paused and
    resumed gets a new due date, so it can be warned about again, but never twice for the
    same date.
    """

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="clock_notices"
    )
    stage = models.CharField(max_length=20, choices=ClockStage.choices)
    kind = models.CharField(max_length=10, choices=ClockNoticeKind.choices)
    due_on = models.DateField()
    sent_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "stage", "kind", "due_on"], name="clock_notice_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application}: {self.get_kind_display()} ({self.due_on})"


class DigestReceipt(models.Model):
    """One weekly digest sent to one reviewer: a rerun in the same week sends nothing."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_receipts"
    )
    week_starting = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week_starting"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "week_starting"], name="digest_one_per_week"
            )
        ]

    def __str__(self) -> str:
        return f"Digest for {self.recipient}, week of {self.week_starting}"
