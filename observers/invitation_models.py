"""An invitation to follow cases as an observer: a one-time link emailed to one address at an
NHS organisation or partner body. Imported by observers.models."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ObserverInvitation(models.Model):
    """Made by a lead reviewer or an administrator; opening the link makes (or, for the same
    address signed in, takes) an account with the Observer role. Only the token's SHA-256 is
    kept; a link works until it expires or is used, and only for the address it was sent to.
    An observer sees nothing until a case is granted them (observers.services.grant_give)."""

    email = models.EmailField()
    body = models.CharField(
        "organisation",
        max_length=200,
        help_text="The NHS organisation or partner body they observe for.",
    )
    token_sha256 = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="observer_invitations",
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email} ({self.body}) to observe"

    @property
    def is_usable(self) -> bool:
        return (
            self.accepted_at is None
            and self.cancelled_at is None
            and self.expires_at > timezone.now()
        )
