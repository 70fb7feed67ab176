"""The checkpoint sweep's email outbox: one row per address per kind of email per run."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class CheckpointEmailKind(models.TextChoices):
    DUE_7_DAYS = "7_days", "Reports due within a week"
    DUE_1_DAY = "1_day", "Reports due by tomorrow"
    OVERDUE = "overdue", "Reports overdue"
    ESCALATED = "escalated", "Overdue reports escalated"


class CheckpointEmail(models.Model):
    """An email the checkpoint sweep owes one address, written in the sweep's transaction and
    sent afterwards by a task on the `emails` queue (or by the repair sweep, if that task's
    message was lost). It carries ids, not text: the checkpoints it lists are read when it is
    sent."""

    kind = models.CharField(max_length=10, choices=CheckpointEmailKind.choices)
    email_to = models.EmailField()
    # The stamp the run wrote on the checkpoints this email reports (their reminded_*_at,
    # overdue_at or escalated_at): with the kind and the address it names the email, so a
    # run can never owe one address the same email twice.
    stamped_at = models.DateTimeField()
    # The checkpoints the email lists, in case and sequence order (EMAIL_LIST_LIMIT at most),
    # and how many the run stamped for this address in all (the email counts the rest).
    checkpoint_ids = models.JSONField()
    total = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "stamped_at", "email_to"], name="checkpoint_email_once"
            )
        ]
        indexes = [
            # The repair sweep looks only for rows still waiting to be sent.
            models.Index(
                fields=["created_at"],
                condition=Q(sent_at__isnull=True),
                name="checkpoint_email_unsent_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.email_to}"
