"""One notification per person per event: what the notification centre lists and what is emailed.

The row doubles as the email outbox (the pattern the audit trail used before it): `emailed_at`
stays empty until the email has gone, so a task sent on commit sends it and a sweep repairs
anything a lost message or a dead broker left behind.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class NotificationKind(models.TextChoices):
    TRANSITION = "transition", "Status changed"
    INFORMATION_REQUESTED = "information_requested", "Information requested"
    INFORMATION_PROVIDED = "information_provided", "Information provided"
    MESSAGE = "message", "Message"
    CHECKPOINT_DUE = "checkpoint_due", "Checkpoint due soon"
    CHECKPOINT_OVERDUE = "checkpoint_overdue", "Checkpoint overdue"
    CHECKPOINT_ESCALATED = "checkpoint_escalated", "Checkpoint escalated"
    SAFETY_SIGNAL = "safety_signal", "Safety signal"
    PLAN_FOR_AGREEMENT = "plan_for_agreement", "Testing plan to agree"
    PLAN_AGREED = "plan_agreed", "Testing plan agreed"
    PLAN_RETURNED = "plan_returned", "Testing plan returned"
    COUNTERSIGNATURE = "countersignature", "Clearance to countersign"
    MODEL_CHANGE = "model_change", "Model change"
    MONITORING_PLAN = "monitoring_plan", "Post-clearance monitoring"
    AUDIT_CHAIN_BROKEN = "audit_chain_broken", "Audit trail failed verification"


class Notification(models.Model):
    """What one person (or, for email only, a shared mailbox) was told about one event."""

    # No index of its own: the inbox index below starts with it. The sweep inserts hundreds of
    # thousands of rows in a catch-up, and every index costs each of them.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        db_index=False,
        help_text="Empty for an email to a shared mailbox (the reviewers' team address).",
    )
    email_to = models.EmailField(
        blank=True, help_text="Where the email goes; empty when it is shown in Airlock only."
    )
    # Unindexed for the same reason: nothing reads notifications by case, and a case is never
    # deleted (the only thing such an index would speed up).
    application = models.ForeignKey(
        "devices.Application",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    # Names the event, e.g. "event:42" or "checkpoint:7:overdue": the unique constraints make
    # telling the same person about the same event twice impossible, so creation is idempotent.
    key = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, help_text="A path on this site.")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "key"],
                condition=Q(recipient__isnull=False),
                name="notification_once_per_person",
            ),
            models.UniqueConstraint(
                fields=["email_to", "key"],
                condition=Q(recipient__isnull=True),
                name="notification_once_per_mailbox",
            ),
        ]
        indexes = [
            # The notification centre: a person's newest first.
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox_idx"),
            # The unread count in every page's header reads this small index alone.
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            # The email sweep looks only for rows still waiting to be sent.
            models.Index(
                fields=["created_at"],
                condition=Q(emailed_at__isnull=True) & ~Q(email_to=""),
                name="notification_unsent_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient or self.email_to}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
