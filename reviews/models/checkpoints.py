"""The scheduled checkpoints of a case's controlled testing."""

from django.db import models


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
