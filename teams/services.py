"""Every change to an organisation's team: invitations, joining, role changes, removal.

Removing a member also revokes the API keys they made (requests with a key act as its
maker). Each service locks the organisation's row (so two administrators cannot both demote the
other and leave no administrator), checks the actor is one of its administrators, makes the
change, writes the audit row through teams.audit, and sends emails on commit.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from airlock.emails import send_templated
from airlock.models import User, canonical_email, is_plain_email
from airlock.roles import Role, group_for
from devices.models import Membership, Organisation, OrganisationRole
from teams.audit import team_event_record
from teams.models import ApiKey, Invitation, TeamEventKind


class TeamRefused(Exception):
    """A team change that cannot happen; the message says why, for the person who tried."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def administered_organisation(actor: User) -> Organisation:
    """The organisation `actor` administers, its row locked; PermissionError otherwise."""
    membership = getattr(actor, "membership", None)
    if membership is None or not actor.has_perm("devices.act_for_organisation"):
        raise PermissionError("Only an organisation's administrators can manage its team.")
    organisation = Organisation.objects.select_for_update().get(pk=membership.organisation_id)
    # Read again under the lock: the role may have changed since the request began.
    if not Membership.objects.filter(
        pk=membership.pk, role=OrganisationRole.ADMINISTRATOR
    ).exists():
        raise PermissionError(f"Only {organisation}'s administrators can manage its team.")
    return organisation


def _send_invitation(invitation: Invitation, token: str) -> None:
    send_templated(
        "team_invitation",
        {
            "invitation": invitation,
            "role": OrganisationRole(invitation.role),
            "url": settings.SITE_URL + reverse("teams:join", args=[token]),
        },
        [invitation.email],
    )


def invitation_send(*, actor: User, email: str, role: str) -> Invitation:
    """Invite an address to the actor's organisation in a role, by a one-time link that
    expires after TEAM_INVITATION_DAYS. A new invitation to the same address replaces any
    still pending."""
    address = email.strip()
    if not is_plain_email(address):
        raise TeamRefused("Enter the email address in plain letters, digits and symbols.")
    address = canonical_email(address)
    if role not in OrganisationRole.values:
        raise TeamRefused("Choose a role: administrator, contributor or viewer.")
    with transaction.atomic():
        organisation = administered_organisation(actor)
        if Membership.objects.filter(organisation=organisation, user__email=address).exists():
            raise TeamRefused(f"{address} is in your team already: change their role instead.")
        now = timezone.now()
        Invitation.objects.filter(
            organisation=organisation, email=address, accepted_at__isnull=True
        ).update(cancelled_at=now)
        token = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            organisation=organisation,
            email=address,
            role=role,
            token_sha256=token_digest(token),
            invited_by=actor,
            created_at=now,
            expires_at=now + timedelta(days=settings.TEAM_INVITATION_DAYS),
        )
        team_event_record(
            organisation=organisation,
            actor=actor,
            kind=TeamEventKind.INVITED,
            subject=address,
            detail=f"As {OrganisationRole(role).label.lower()}.",
        )
        transaction.on_commit(lambda: _send_invitation(invitation, token))
    return invitation


def invitation_cancel(*, actor: User, invitation_id: int) -> Invitation:
    with transaction.atomic():
        organisation = administered_organisation(actor)
        invitation = Invitation.objects.select_for_update().get(
            pk=invitation_id, organisation=organisation
        )
        if not invitation.is_usable:
            raise TeamRefused("That invitation was used, cancelled or has expired already.")
        invitation.cancelled_at = timezone.now()
        invitation.save(update_fields=["cancelled_at"])
        team_event_record(
            organisation=organisation,
            actor=actor,
            kind=TeamEventKind.INVITATION_CANCELLED,
            subject=invitation.email,
        )
    return invitation


def invitation_for_token(token: str) -> Invitation | None:
    """The usable invitation `token` names; None for a used, cancelled, expired or unknown
    link (all look the same)."""
    invitation = (
        Invitation.objects.select_related("organisation", "invited_by")
        .filter(token_sha256=token_digest(token))
        .first()
    )
    return invitation if invitation is not None and invitation.is_usable else None


def _join(invitation: Invitation, user: User) -> Membership:
    membership = Membership.objects.create(
        user=user, organisation=invitation.organisation, role=invitation.role
    )
    user.groups.add(group_for(Role.MANUFACTURER))
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    team_event_record(
        organisation=invitation.organisation,
        actor=user,
        kind=TeamEventKind.JOINED,
        subject=user.email,
        detail=f"As {invitation.get_role_display().lower()}, invited by {invitation.invited_by}.",
    )
    return membership


def _locked_invitation(token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("organisation", "invited_by")
        .filter(token_sha256=token_digest(token))
        .first()
    )
    if invitation is None or not invitation.is_usable:
        raise TeamRefused(
            "This invitation link has been used, cancelled or has expired. Ask the "
            "organisation's administrator for a new one."
        )
    return invitation


def invitation_accept(*, token: str, user: User) -> Membership:
    """Join with an account that exists already: the signed-in person the link was sent to,
    who belongs to no organisation and has no regulator role."""
    with transaction.atomic():
        invitation = _locked_invitation(token)
        if canonical_email(user.email) != invitation.email:
            raise TeamRefused(
                f"This invitation was sent to another address. Sign out, then open the link "
                f"again and sign in as {invitation.email}."
            )
        if Membership.objects.filter(user=user).exists():
            raise TeamRefused(
                "Your account belongs to an organisation already; an account belongs to one "
                "organisation only."
            )
        if user.is_staff or user.is_superuser or user.has_perm("airlock.access_review_workspace"):
            raise TeamRefused("A regulator's account cannot join a manufacturer's team.")
        return _join(invitation, user)


def invitation_accept_new(*, token: str, full_name: str, password: str) -> User:
    """Join by making an account for the invited address, with the name and password given
    (the form has validated the password)."""
    with transaction.atomic():
        invitation = _locked_invitation(token)
        if User.objects.filter(email=invitation.email).exists():
            raise TeamRefused(
                f"There is an account for {invitation.email} already: sign in, then open the "
                "link again."
            )
        user = User.objects.create_user(
            email=invitation.email, password=password, full_name=full_name.strip()
        )
        _join(invitation, user)
    return user


def _member(organisation: Organisation, membership_id: int) -> Membership:
    return (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user")
        .get(pk=membership_id, organisation=organisation)
    )


def _refuse_losing_last_administrator(membership: Membership, verb: str) -> None:
    if membership.role != OrganisationRole.ADMINISTRATOR:
        return
    others = (
        Membership.objects.filter(
            organisation_id=membership.organisation_id, role=OrganisationRole.ADMINISTRATOR
        )
        .exclude(pk=membership.pk)
        .exists()
    )
    if not others:
        raise TeamRefused(
            f"{membership.user} is the organisation's only administrator: make someone else "
            f"an administrator before you {verb}."
        )


def membership_role_change(*, actor: User, membership_id: int, role: str) -> Membership:
    """Give a member another role; the organisation always keeps an administrator."""
    if role not in OrganisationRole.values:
        raise TeamRefused("Choose a role: administrator, contributor or viewer.")
    with transaction.atomic():
        organisation = administered_organisation(actor)
        membership = _member(organisation, membership_id)
        if membership.role == role:
            raise TeamRefused(
                f"{membership.user} is {membership.get_role_display().lower()} already."
            )
        if role != OrganisationRole.ADMINISTRATOR:
            _refuse_losing_last_administrator(membership, "change their role")
        before = membership.get_role_display().lower()
        membership.role = role
        membership.save(update_fields=["role"])
        team_event_record(
            organisation=organisation,
            actor=actor,
            kind=TeamEventKind.ROLE_CHANGED,
            subject=membership.user.email,
            detail=f"From {before} to {membership.get_role_display().lower()}.",
        )
    return membership


def membership_remove(*, actor: User, membership_id: int) -> User:
    """Take a person out of the organisation: they keep their account (what they did stays
    on the record under their name) but see none of its records from their next request."""
    with transaction.atomic():
        organisation = administered_organisation(actor)
        membership = _member(organisation, membership_id)
        _refuse_losing_last_administrator(membership, "remove them")
        user = membership.user
        role = membership.get_role_display().lower()
        membership.delete()
        user.groups.remove(group_for(Role.MANUFACTURER))
        api_keys_revoke_made_by(actor=actor, user=user)
        team_event_record(
            organisation=organisation,
            actor=actor,
            kind=TeamEventKind.REMOVED,
            subject=user.email,
            detail=f"Was {role}.",
        )
    return user


def api_keys_revoke_made_by(*, actor: User | None, user: User) -> int:
    """Revoke every active key `user` made (they are leaving the organisation: requests made
    with their keys act as them). Call inside the caller's transaction."""
    keys = list(
        ApiKey.objects.select_for_update().filter(
            created_by=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
    )
    for key in keys:
        key.revoked_at = timezone.now()
        key.revoked_by = actor
        key.save(update_fields=["revoked_at", "revoked_by"])
        team_event_record(
            organisation=key.organisation,
            actor=actor,
            kind=TeamEventKind.API_KEY_REVOKED,
            subject=key.name,
            detail=f"{key.prefix}…; its maker, {user.email}, left the organisation.",
        )
    return len(keys)
