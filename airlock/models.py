from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import cached_property

from airlock.roles import GROUP_ROLES, Role

# The session store's table (airlock.sessions), in a module of its own; imported to register it.
from airlock.session_table import Session  # noqa: F401
from ledger.models import Chained

# Where airlock.backends.RoleBackend leaves the names of the groups it read with the permissions.
GROUP_NAMES = "_group_names"


PLAIN_EMAIL_MESSAGE = (
    "Enter the email address in plain letters, digits and symbols (A to Z, 0 to 9, and "
    "characters such as . _ + -). Look-alike letters from other alphabets, such as ı or ſ, "  # noqa: RUF001
    "and spaces are not accepted."
)


def canonical_email(value: str) -> str:
    """The one spelling of an email address that Airlock stores, looks people up by and counts
    failed sign-ins against: without surrounding spaces, in lower case.

    Lower case is only safe on an address already checked to be plain ASCII as typed
    (is_plain_email): Python's lower() and the database's LOWER() and UPPER() agree on ASCII
    but not beyond it (PostgreSQL's UPPER() of a dotless i is I; Python's lower() of the
    Kelvin sign is k), and a spelling one side folds and the other does not is a second name
    for the same account.
    """
    return value.strip().lower()


def is_plain_email(value: str) -> bool:
    """Printable ASCII with no spaces: the only characters an address may have here."""
    return bool(value) and value.isascii() and all(33 <= ord(char) <= 126 for char in value)


def validate_plain_email(value: str) -> None:
    if not is_plain_email(value):
        raise ValidationError(PLAIN_EMAIL_MESSAGE, code="not_plain")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        validate_plain_email(email.strip())
        user = self.model(email=canonical_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        # People type their address however they like; it is stored in its canonical
        # spelling, so an exact match on that finds at most one person (the unique index on
        # LOWER(email) guarantees it). An address no one could have (too long, or with
        # characters outside plain ASCII) is no one's: never a case-insensitive match, which
        # the database might fold differently from Python.
        typed = (username or "").strip()
        if len(typed) > self.model._meta.get_field("email").max_length or not is_plain_email(typed):
            raise self.model.DoesNotExist
        return self.get(email=canonical_email(typed))


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True, validators=[validate_plain_email])
    full_name = models.CharField(max_length=150)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        "staff status", default=False, help_text="Can log in to the Django admin."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]
        constraints = [
            # Whatever writes the row (the admin, a script, a migration), no two people can
            # have addresses that differ only in case.
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_case_insensitive_unique",
                violation_error_message="Someone already has this email address "
                "(addresses are the same whatever their capitals).",
            )
        ]
        permissions = [
            ("access_review_workspace", "Can work the review queue"),
            ("lead_review", "Can assign work, manage cohorts and countersign"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        # Before the uniqueness checks, so DUP@… and dup@… are compared as the same address.
        self.email = canonical_email(self.email or "")

    def save(self, *args, **kwargs):
        self.email = canonical_email(self.email or "")
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @cached_property
    def role(self) -> Role | None:
        if self.is_superuser:
            return Role.ADMINISTRATOR
        # airlock.backends.RoleBackend reads the group names with the permissions; most pages
        # have checked a permission by the time they show the role.
        names = getattr(self, GROUP_NAMES, None)
        if names is None:
            names = {group.name for group in self.groups.all()}
        return next((role for role in GROUP_ROLES if role.label in names), None)

    @property
    def is_manufacturer(self) -> bool:
        return self.role == Role.MANUFACTURER

    @property
    def is_reviewer(self) -> bool:
        """Reviewers and lead reviewers: everyone who works the queue."""
        return self.role in (Role.REVIEWER, Role.LEAD_REVIEWER)

    @property
    def is_lead_reviewer(self) -> bool:
        return self.role == Role.LEAD_REVIEWER


class Heartbeat(models.Model):
    """When a part of the stack last showed it was alive: `beat` (the scheduler holding the
    lock) and `worker:<queue>` (a worker ran the heartbeat job on that queue). Read by
    /healthz/ready/; one row per name, overwritten, never a history."""

    name = models.CharField(max_length=50, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"


def heartbeat_stamp(name: str) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"at": timezone.now()})


class TwoFactorEnrolment(models.Model):
    """A one-time link that lets one person set up an authenticator app.

    The password alone must not be enough to enrol a second factor (or it would protect
    nothing): the link goes to the person's email address, sent when they ask for it at
    sign-in or when an administrator resets their second factor. Only the token's SHA-256 is
    kept. A link is used once, and only by the account it was issued to, signed in.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="enrolments")
    token_sha256 = models.CharField(max_length=64, unique=True)
    # None: the person asked for it themselves, after their password.
    issued_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Two-factor set-up link for {self.user}"

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()


class SecurityEventKind(models.TextChoices):
    ENROLMENT_SENT = "enrolment_sent", "Two-factor set-up link sent"
    TWO_FACTOR_SET_UP = "two_factor_set_up", "Two-factor sign-in set up"
    TWO_FACTOR_RESET = "two_factor_reset", "Two-factor sign-in reset by an administrator"


class SecurityEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Security events are never changed.")

    def delete(self):
        raise PermissionError("Security events are never deleted.")


class SecurityEvent(Chained):
    """The audit trail of a person's sign-in security: append-only and chained, like a case's
    ApplicationEvent. Who (`actor`, None for the person themselves) did what to whose
    account, and when."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="security_events")
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=SecurityEventKind.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = SecurityEventQuerySet.as_manager()

    CHAIN_FIELDS = ("user", "actor", "kind", "detail", "created_at")
    AUDIT_CASE_FIELD = None
    AUDIT_PERSON_FIELDS = ("user", "actor")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.user}"

    def audit_action(self) -> str:
        return self.get_kind_display()

    def audit_detail(self) -> str:
        return f"{self.user}: {self.detail}".strip()

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Security events are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Security events are never deleted.")
