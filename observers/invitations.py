"""Inviting a person at an NHS organisation or partner body to be an observer, without the
Django admin: a lead reviewer or an administrator sends a one-time link (the teams'
invitation machinery: only the token's SHA-256 is kept, the link expires after
TEAM_INVITATION_DAYS); opening it makes the account with the Observer role, or gives the role
to the account signed in with the invited address. An account has one role: a regulator's, a
manufacturer's or an administrator's account cannot become an observer's. Each step is
audited in the observers' trail (ObservationEvent)."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from airlock.emails import send_templated
from airlock.models import User, canonical_email, is_plain_email
from airlock.roles import Role, group_for
from devices.models import Membership
from observers.audit import observation_record
from observers.models import ObservationKind, ObserverInvitation
from observers.services import OBSERVE
from teams.services import token_digest


class InvitationRefused(Exception):
    """An invitation that cannot be sent or used; the message says why, for the person."""


def _inviter(actor: User) -> None:
    if not (actor.is_superuser or actor.has_perm("airlock.lead_review")):
        raise PermissionError("Only a lead reviewer or an administrator can invite observers.")


def _other_role(user: User) -> str:
    """Why this account cannot be an observer's ("" when it can)."""
    if user.is_superuser or user.is_staff or user.has_perm("airlock.access_review_workspace"):
        return f"{user.email} is a regulator's account: an account has one role."
    if Membership.objects.filter(user=user).exists():
        return f"{user.email} belongs to a manufacturer's team: an account has one role."
    return ""


def _send(invitation: ObserverInvitation, token: str) -> None:
    send_templated(
        "observer_invitation",
        {
            "invitation": invitation,
            "url": settings.SITE_URL + reverse("observers:join", args=[token]),
        },
        [invitation.email],
    )


def observer_invite(*, actor: User, email: str, body: str) -> ObserverInvitation:
    """Email a one-time link to join as an observer for `body`. A new invitation to the same
    address replaces any still pending. Refused for an address whose account is an observer
    already, or has another role."""
    _inviter(actor)
    address = email.strip()
    if not is_plain_email(address):
        raise InvitationRefused("Enter the email address in plain letters, digits and symbols.")
    address = canonical_email(address)
    body = body.strip()
    if not body:
        raise InvitationRefused("Enter the NHS organisation or partner body they observe for.")
    with transaction.atomic():
        existing = User.objects.filter(email=address).first()
        if existing is not None:
            if existing.has_perm(OBSERVE) and not existing.is_superuser:
                raise InvitationRefused(
                    f"{address} is an observer already: give them access on a case's "
                    "Observers page."
                )
            refusal = _other_role(existing)
            if refusal:
                raise InvitationRefused(refusal)
        now = timezone.now()
        ObserverInvitation.objects.filter(
            email=address, accepted_at__isnull=True, cancelled_at__isnull=True
        ).update(cancelled_at=now)
        token = secrets.token_urlsafe(32)
        invitation = ObserverInvitation.objects.create(
            email=address,
            body=body,
            token_sha256=token_digest(token),
            invited_by=actor,
            created_at=now,
            expires_at=now + timedelta(days=settings.TEAM_INVITATION_DAYS),
        )
        observation_record(
            observer=existing,
            actor=actor,
            kind=ObservationKind.INVITED,
            detail=f"{address}, for {body}.",
        )
        transaction.on_commit(lambda: _send(invitation, token))
    return invitation


def observer_invitation_cancel(*, actor: User, invitation_id: int) -> ObserverInvitation:
    _inviter(actor)
    with transaction.atomic():
        invitation = ObserverInvitation.objects.select_for_update().get(pk=invitation_id)
        if not invitation.is_usable:
            raise InvitationRefused("That invitation was used, cancelled or has expired already.")
        invitation.cancelled_at = timezone.now()
        invitation.save(update_fields=["cancelled_at"])
        observation_record(
            observer=None,
            actor=actor,
            kind=ObservationKind.INVITATION_CANCELLED,
            detail=f"{invitation.email}, for {invitation.body}.",
        )
    return invitation


def invitation_for_token(token: str) -> ObserverInvitation | None:
    """The usable invitation `token` names; None for a used, cancelled, expired or unknown
    link (all look the same)."""
    invitation = (
        ObserverInvitation.objects.select_related("invited_by")
        .filter(token_sha256=token_digest(token))
        .first()
    )
    return invitation if invitation is not None and invitation.is_usable else None


def _locked(token: str) -> ObserverInvitation:
    invitation = (
        ObserverInvitation.objects.select_for_update()
        .select_related("invited_by")
        .filter(token_sha256=token_digest(token))
        .first()
    )
    if invitation is None or not invitation.is_usable:
        raise InvitationRefused(
            "This invitation link has been used, cancelled or has expired. Ask the regulator "
            "for a new one."
        )
    return invitation


def _join(invitation: ObserverInvitation, user: User) -> User:
    user.groups.add(group_for(Role.OBSERVER))
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    observation_record(
        observer=user,
        actor=user,
        kind=ObservationKind.JOINED,
        detail=f"For {invitation.body}, invited by {invitation.invited_by}.",
    )
    return user


def observer_join(*, token: str, user: User) -> User:
    """Take the Observer role with the account signed in: the address the link was sent to,
    with no other role."""
    with transaction.atomic():
        invitation = _locked(token)
        if canonical_email(user.email) != invitation.email:
            raise InvitationRefused(
                f"This invitation was sent to another address. Sign out, then open the link "
                f"again and sign in as {invitation.email}."
            )
        refusal = _other_role(user)
        if refusal:
            raise InvitationRefused(refusal)
        return _join(invitation, user)


def observer_join_new(*, token: str, full_name: str, password: str) -> User:
    """Make the observer's account for the invited address, with the name and password given
    (the form has validated the password)."""
    with transaction.atomic():
        invitation = _locked(token)
        if User.objects.filter(email=invitation.email).exists():
            raise InvitationRefused(
                f"There is an account for {invitation.email} already: sign in, then open the "
                "link again."
            )
        user = User.objects.create_user(
            email=invitation.email, password=password, full_name=full_name.strip()
        )
        return _join(invitation, user)
