"""Controlled testing: the testing plan, its thresholds and the versions both sides agree."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from devices.models import SandboxEnvironment


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


class PlanTerms(models.Model):
    """The terms of a testing plan: what a version proposes, and what the plan in force holds
    once both sides have agreed a version (reviews.plans copies them across by
    reviews.plan_terms.PLAN_FIELDS, these fields in this order)."""

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

    class Meta:
        abstract = True


class TestingPlan(PlanTerms):
    """The testing plan in force: the terms of the latest version both sides agreed.

    It is written only when a version is agreed by the manufacturer (reviews.plans), so an
    amendment cannot change what the checkpoint sweep schedules or what reports are
    evaluated against before both sides agree it. Every version, agreed or not, is a
    PlanVersion.
    """

    application = models.OneToOneField(
        "devices.Application", on_delete=models.PROTECT, related_name="testing_plan"
    )
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


class PlanVersion(PlanTerms):
    """One version of a case's testing plan: number 1 is the plan first agreed, each later one
    an amendment. A version takes effect only when the reviewer and then the manufacturer have
    agreed it (who and when are kept here and in the audit trail); it is then copied onto the
    TestingPlan in force and never changes again."""

    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="plan_versions"
    )
    number = models.PositiveSmallIntegerField()
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
