"""Organisations (the manufacturers) and the people in their teams, with their roles."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class Organisation(models.Model):
    """A manufacturer: the legal entity that brings devices into the sandbox."""

    name = models.CharField(max_length=200, unique=True)
    companies_house_number = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # An organisation that registered itself waits for a reviewer's approval before it can
    # submit (the ORGANISATION_APPROVED condition); empty until then.
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            # One organisation per company, and per name whatever its capitals.
            models.UniqueConstraint(
                fields=["companies_house_number"],
                name="organisation_unique_company_number",
                condition=~Q(companies_house_number=""),
            ),
            models.UniqueConstraint(Lower("name"), name="organisation_name_case_insensitive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None


class OrganisationRole(models.TextChoices):
    """What a person may do in their organisation (their Membership)."""

    ADMINISTRATOR = "administrator", "Administrator"
    CONTRIBUTOR = "contributor", "Contributor"
    VIEWER = "viewer", "Viewer"

    @property
    def description(self) -> str:
        return ORGANISATION_ROLE_DESCRIPTIONS[self]


ORGANISATION_ROLE_DESCRIPTIONS = {
    OrganisationRole.ADMINISTRATOR: "Everything a contributor can, and manages the team and the "
    "organisation's API keys.",
    OrganisationRole.CONTRIBUTOR: "Registers devices, edits drafts, uploads evidence, submits, "
    "answers the regulator and reports during testing.",
    OrganisationRole.VIEWER: "Reads the organisation's devices and cases; changes nothing.",
}
# The roles that may change the organisation's records; a viewer only reads.
CONTRIBUTING_ROLES = frozenset({OrganisationRole.ADMINISTRATOR, OrganisationRole.CONTRIBUTOR})


class Membership(models.Model):
    """A manufacturer user's place in their organisation (one organisation each), with their
    role in it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(
        max_length=20,
        choices=OrganisationRole.choices,
        default=OrganisationRole.CONTRIBUTOR,
        help_text="Administrators manage the team and API keys; contributors edit and submit; "
        "viewers only read.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "user"]

    def __str__(self) -> str:
        return f"{self.user} at {self.organisation}"

    @property
    def may_contribute(self) -> bool:
        return self.role in CONTRIBUTING_ROLES

    @property
    def is_administrator(self) -> bool:
        return self.role == OrganisationRole.ADMINISTRATOR
