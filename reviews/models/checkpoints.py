"""The scheduled checkpoints of a case's controlled testing and post-clearance monitoring."""

from django.db import models
from django.db.models import Q


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
    """A scheduled report during controlled testing or post-clearance monitoring, created by
    the checkpoint sweep."""

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
    # Set on the checkpoints of a post-clearance monitoring plan (postclearance), whose terms
    # they are reported and judged against; empty during controlled testing.
    monitoring_plan = models.ForeignKey(
        "postclearance.MonitoringPlan",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="checkpoints",
        # Indexed below with due_on, for monitoring checkpoints only.
        db_index=False,
    )

    class Meta:
        ordering = ["application", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "sequence"], name="checkpoint_unique_sequence"
            )
        ]
        indexes = [
            models.Index(fields=["status", "due_on"], name="checkpoint_status_due_idx"),
            # The sweep reads a monitoring plan's last due date (MAX(due_on) for the plan):
            # without it PostgreSQL walks the due_on index backwards through every testing
            # checkpoint (70 s at 20k cases). Partial, so testing checkpoints never enter it.
            models.Index(
                fields=["monitoring_plan", "due_on"],
                name="checkpoint_monitoring_due_idx",
                condition=Q(monitoring_plan__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} checkpoint {self.sequence}"

    @property
    def status_enum(self) -> CheckpointStatus:
        return CheckpointStatus(self.status)
