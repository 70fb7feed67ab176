"""Reads of an organisation's team, for its own members."""

from django.db.models import QuerySet
from django.utils import timezone

from devices.models import Membership, Organisation
from teams.models import ApiKey, Invitation, TeamEvent

# The team page shows the latest changes; the admin holds the whole trail.
RECENT_EVENTS = 20


def members_of(organisation: Organisation) -> QuerySet[Membership]:
    return Membership.objects.filter(organisation=organisation).select_related("user")


def pending_invitations(organisation: Organisation) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        organisation=organisation,
        accepted_at__isnull=True,
        cancelled_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).select_related("invited_by")


def team_events(organisation: Organisation) -> list[TeamEvent]:
    return list(
        TeamEvent.objects.filter(organisation=organisation).select_related("actor")[:RECENT_EVENTS]
    )


def api_keys_of(organisation: Organisation) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organisation=organisation).select_related("created_by")
