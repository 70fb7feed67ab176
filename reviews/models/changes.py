"""Changes to a model under test, notified by the manufacturer and decided by the regulator
(the protocol itself: reviews.model_changes)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from reviews.models.plans import ChangeKind


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
