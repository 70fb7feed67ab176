from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

from airlock.roles import GROUP_ROLES, Role

# Where airlock.backends.RoleBackend leaves the names of the groups it read with the permissions.
GROUP_NAMES = "_group_names"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
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
        # Django's sign-in forms (ours and the admin's) never check the address's length, and
        # SQLite refuses a case-insensitive match on a huge one (a 500): no address that long
        # can be anyone's.
        if len(username) > self.model._meta.get_field("email").max_length:
            raise self.model.DoesNotExist
        # Logins are case-insensitive: people type their address however they like.
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
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
        permissions = [
            ("access_review_workspace", "Can work the review queue"),
            ("lead_review", "Can assign work, manage cohorts and countersign"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

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
