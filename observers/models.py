"""Observers: people at NHS organisations and partner bodies who follow cases the regulator
grants them, read-only. An observer sees a granted case's summary and its history of
states; its evidence only when the grant says so; never internal notes, messages or anything
else. Every page an observer opens is recorded (ObservationEvent)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ledger.append_only import AppendOnly
from ledger.models import Chained


class ObserverGrant(models.Model):
    """One observer's read-only access to one case, given by a lead reviewer or an
    administrator, until revoked."""

    observer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="observer_grants"
    )
    application = models.ForeignKey(
        "devices.Application", on_delete=models.PROTECT, related_name="observer_grants"
    )
    evidence = models.BooleanField(
        "evidence too", default=False, help_text="Whether the observer may read the evidence."
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        permissions = [("observe", "Can follow the cases granted to them, read-only")]
        constraints = [
            # One live grant per observer and case; revoked ones stay as history.
            models.UniqueConstraint(
                fields=["observer", "application"],
                condition=models.Q(revoked_at__isnull=True),
                name="observer_grant_one_live",
            )
        ]

    def __str__(self) -> str:
        return f"{self.observer} observes {self.application}"


class ObservationKind(models.TextChoices):
    GRANTED = "granted", "Access granted"
    REVOKED = "revoked", "Access revoked"
    VIEWED_LIST = "viewed_list", "Viewed their cases"
    VIEWED_CASE = "viewed_case", "Viewed the case"
    DOWNLOADED = "downloaded", "Downloaded evidence"


class ObservationEvent(AppendOnly, Chained):
    """Every grant, revocation and page an observer opens: who, what, when. Never edited or
    deleted; written only by observers.audit.observation_record."""

    APPEND_ONLY_MESSAGE = "The observers' audit trail is append-only."

    observer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="observations"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(
        "devices.Application",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="observations",
    )
    kind = models.CharField(max_length=20, choices=ObservationKind.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    # Part of the audit trail anyone can verify (ledger.models.Chained).
    CHAIN_FIELDS = ("observer", "actor", "application", "kind", "detail", "created_at")
    AUDIT_PERSON_FIELDS = ("observer", "actor")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.observer}: {self.get_kind_display()}"
