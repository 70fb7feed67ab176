"""Records of what scheduled jobs have sent: clock notices and digests."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from devices.models import ClockStage


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
