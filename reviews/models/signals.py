"""Safety signals, the partner regulators, and the alerts sent to and received from them."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from airlock import outbound
from reviews.models.plans import Metric
from reviews.network.models import DeliveryStatus


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
