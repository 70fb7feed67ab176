"""An organisation's team: invitations to join it, and the audit trail of who joined, changed
role or left. (Memberships and their roles live with the organisation, in devices.models.)"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from devices.models import Organisation, OrganisationRole
from ledger.append_only import AppendOnly
from ledger.models import Chained


class Invitation(models.Model):
    """A one-time link, emailed to one address, to join an organisation in a role.

    Only the token's SHA-256 is kept. A link works until it expires or is used, and only for
    the address it was sent to."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=OrganisationRole.choices)
    token_sha256 = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.organisation}"

    @property
    def is_usable(self) -> bool:
        return (
            self.accepted_at is None
            and self.cancelled_at is None
            and self.expires_at > timezone.now()
        )


class TeamEventKind(models.TextChoices):
    INVITED = "invited", "Invited"
    INVITATION_CANCELLED = "invitation_cancelled", "Invitation cancelled"
    JOINED = "joined", "Joined"
    ROLE_CHANGED = "role_changed", "Role changed"
    REMOVED = "removed", "Removed"
    API_KEY_CREATED = "api_key_created", "API key created"
    API_KEY_REVOKED = "api_key_revoked", "API key revoked"
    REGISTERED = "registered", "Organisation registered"
    APPROVED = "approved", "Organisation approved"
    JOIN_REQUESTED = "join_requested", "Asked to join"


class TeamEvent(AppendOnly, Chained):
    """One audit row per change to an organisation's team or API keys: who did what, about
    whom, when. Never edited or deleted; written only by teams.audit.team_event_record."""

    APPEND_ONLY_MESSAGE = "The team's audit trail is append-only."

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="team_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system acted.",
    )
    kind = models.CharField(max_length=30, choices=TeamEventKind.choices)
    # Whom it was about, as an address: the person may not have an account yet (an
    # invitation), or may have left.
    subject = models.CharField(max_length=254, blank=True)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    # Role changes are part of the audit trail anyone can verify (ledger.models.Chained).
    CHAIN_FIELDS = ("organisation", "actor", "kind", "subject", "detail", "created_at")
    AUDIT_CASE_FIELD = None

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.get_kind_display()} {self.subject}"


class ApiKeyScope(models.TextChoices):
    READ = "read", "Read cases"
    REPORT = "report", "Read cases, and report checkpoints and incidents"


class ApiKey(models.Model):
    """A key an organisation's administrator made for their own systems to call the API.

    The key is shown once, when made; only its SHA-256 is kept, with its first characters
    (`prefix`) so people can tell their keys apart. Requests made with it act for the
    administrator who made it, within its scope, until it expires or is revoked."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=ApiKeyScope.choices)
    prefix = models.CharField(max_length=16)
    key_sha256 = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "Revoked"
        return "Active" if self.expires_at > timezone.now() else "Expired"


class SignUp(models.Model):
    """A registration waiting for its email address to be confirmed.

    Nothing exists for the person or their organisation until they open the one-time link
    (teams.signup.signup_confirm): then the account, the organisation (waiting for the
    regulator's approval) and their membership as its administrator are made together. The
    password is kept only as Django's hash; the link only as its SHA-256."""

    email = models.EmailField()
    full_name = models.CharField(max_length=150)
    password_hash = models.CharField(max_length=128)
    organisation_name = models.CharField(max_length=200)
    companies_house_number = models.CharField(max_length=8)
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Sign-up of {self.email} for {self.organisation_name}"

    @property
    def is_usable(self) -> bool:
        return self.confirmed_at is None and self.expires_at > timezone.now()
