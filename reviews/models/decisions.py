"""Evidence review against the GMLP principles, and the decisions on a case."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ledger.models import Chained


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
