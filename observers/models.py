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
    INVITED = "invited", "Invited to observe"
    INVITATION_CANCELLED = "invitation_cancelled", "Invitation cancelled"
    JOINED = "joined", "Joined as an observer"
    VIEWED_LIST = "viewed_list", "Viewed their cases"
    VIEWED_CASE = "viewed_case", "Viewed the case"
    DOWNLOADED = "downloaded", "Downloaded evidence"


class ObservationEvent(AppendOnly, Chained):
    """Every grant, revocation and page an observer opens: who, what, when. Never edited or
    deleted; written only by observers.audit.observation_record."""

    APPEND_ONLY_MESSAGE = "The observers' audit trail is append-only."

    # Empty for an invitation, sent before the observer has an account (`detail` names the
    # address).
    observer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="observations",
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
    # An invitation, a cancelled one, a joining and a look at the list name no case.
    AUDIT_PROGRAMME = True

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.observer or self.detail}: {self.get_kind_display()}"

    def audit_action(self) -> str:
        return self.get_kind_display()

    def audit_detail(self) -> str:
        return self.detail


# Invitations live in their own module; imported here so Django registers them with the app.
from observers.invitation_models import ObserverInvitation  # noqa: E402, F401
