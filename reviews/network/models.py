"""The network's records (imported by reviews.models, so they belong to the reviews app)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"
    # A newer version of the same alert was queued before this one went: only that is sent.
    SUPERSEDED = "superseded", "Superseded by a newer version"


class PartnerSecret(models.Model):
    """A shared Standard Webhooks secret ("whsec_" + base64) between us and one partner,
    used both ways: we sign with every active one and accept a signature made with any.
    Rotation adds a new secret and gives the old ones an end (`expires_at`), so both sides
    keep working while the partner installs the new one."""

    partner = models.ForeignKey(
        "reviews.PartnerRegulator", on_delete=models.CASCADE, related_name="secrets"
    )
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: no end yet. Past: no longer signs or verifies."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "secret"], name="partner_secret_unique")
        ]

    def __str__(self) -> str:
        return f"{self.partner}: secret …{self.secret[-4:]}"

    @property
    def is_active(self) -> bool:
        return self.expires_at is None or self.expires_at > timezone.now()


def active_secrets(partner) -> list[str]:
    now = timezone.now()
    return list(
        PartnerSecret.objects.filter(partner=partner)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-created_at", "-pk")
        .values_list("secret", flat=True)
    )


class KeyAction(models.TextChoices):
    ISSUED = "issued", "New secret issued (rotation)"
    ADDED = "added", "Secret from the partner added"
    RETIRED = "retired", "Secret retired"


class PartnerKeyEvent(models.Model):
    """Who changed a partner's secrets, when: append-only, like reviews.AuditEntry."""

    partner = models.ForeignKey(
        "reviews.PartnerRegulator", on_delete=models.PROTECT, related_name="key_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=10, choices=KeyAction.choices)
    summary = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.partner}: {self.summary}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise PermissionError("The key audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The key audit trail is append-only.")


class WebhookMessage(models.Model):
    """A message id a partner has sent us. The unique constraint is the de-duplication: the
    same message delivered twice (a retry, or a replay inside the time window) does
    nothing the second time. Rows older than the signature window can be pruned."""

    partner = models.ForeignKey(
        "reviews.PartnerRegulator", on_delete=models.CASCADE, related_name="messages"
    )
    webhook_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=40)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "webhook_id"], name="webhook_id_unique")
        ]

    def __str__(self) -> str:
        return f"{self.partner}: {self.webhook_id}"


class ReceiptKind(models.TextChoices):
    RECEIVED = "received", "Received"
    TRIAGED = "triaged", "Triaged"
    ACTION_TAKEN = "action_taken", "Action taken"


class Assessment(models.TextChoices):
    RELEVANT = "relevant", "Relevant to devices on our market"
    NOT_RELEVANT = "not_relevant", "Not relevant to devices on our market"


class ActionCategory(models.TextChoices):
    NONE = "none", "No action needed"
    MONITORING = "monitoring", "Increased monitoring"
    MANUFACTURER_CONTACTED = "manufacturer_contacted", "Manufacturer contacted"
    FIELD_SAFETY_NOTICE = "field_safety_notice", "Field safety notice"
    RESTRICTION = "restriction", "Use restricted or suspended"
    OTHER = "other", "Other"


class AlertReceipt(models.Model):
    """A receipt a partner sent us about one of our shared signals."""

    signal = models.ForeignKey(
        "reviews.SafetySignal", on_delete=models.PROTECT, related_name="receipts"
    )
    partner = models.ForeignKey(
        "reviews.PartnerRegulator", on_delete=models.PROTECT, related_name="receipts_received"
    )
    kind = models.CharField(max_length=15, choices=ReceiptKind.choices)
    alert_version = models.PositiveIntegerField()
    assessment = models.CharField(max_length=15, choices=Assessment.choices, blank=True)
    action_category = models.CharField(max_length=25, choices=ActionCategory.choices, blank=True)
    note = models.TextField(blank=True)
    issued_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issued_at", "-pk"]
        indexes = [models.Index(fields=["signal", "partner"], name="receipt_signal_partner")]

    def __str__(self) -> str:
        return f"{self.partner} on {self.signal}: {self.kind}"


class ReceiptDelivery(models.Model):
    """A receipt we send a partner about an alert they shared with us, and its delivery
    log (like reviews.AlertDelivery)."""

    alert = models.ForeignKey(
        "reviews.IncomingAlert", on_delete=models.PROTECT, related_name="receipts_sent"
    )
    kind = models.CharField(max_length=15, choices=ReceiptKind.choices)
    alert_version = models.PositiveIntegerField()
    assessment = models.CharField(max_length=15, choices=Assessment.choices, blank=True)
    action_category = models.CharField(max_length=25, choices=ActionCategory.choices, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # "Received" is sent automatically, once per version of an alert.
            models.UniqueConstraint(
                fields=["alert", "alert_version"],
                condition=Q(kind="received"),
                name="receipt_received_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.alert}"
