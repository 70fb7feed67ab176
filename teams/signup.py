"""Manufacturers registering themselves: a sign-up confirmed by a one-time email link makes
the account, the organisation (waiting for a reviewer's approval) and the first member, its
administrator; a reviewer approves the organisation; a person whose organisation is already
registered asks to join it instead.

Nothing here says whether an address has an account: a sign-up for an address that has one
gets the same "check your email" answer, and that inbox gets a note saying so instead of a
link. Each address (by IP) may try SIGNUPS_PER_HOUR times an hour, like the sign-in lockout.
"""

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from airlock.emails import send_templated
from airlock.models import User, canonical_email
from airlock.roles import Role, group_for
from devices.models import Membership, Organisation, OrganisationRole
from reviews.models import ConflictOfInterest
from teams.audit import team_event_record
from teams.models import SignUp, TeamEventKind
from teams.services import TeamRefused, token_digest

# Companies House numbers: eight digits (England and Wales), or two letters and six digits
# (SC Scotland, NI Northern Ireland, OC/SO/NC LLPs, and the rest of the register's prefixes).
COMPANY_NUMBER = re.compile(r"^(?:[0-9]{8}|[A-Z]{2}[0-9]{6})$")
COMPANY_NUMBER_MESSAGE = (
    "Enter the Companies House number as it appears on the register: 8 characters, either 8 "
    "digits (for example 01234567) or 2 letters and 6 digits (for example SC123456)."
)


def company_number_clean(value: str) -> str | None:
    """The number in the register's spelling (capitals, no spaces), or None if it cannot be
    one."""
    # ASCII as typed: upper() turns a ligature such as "ﬁ" into plain "FI".
    number = "".join(value.split())
    if not number.isascii():
        return None
    number = number.upper()
    return number if COMPANY_NUMBER.match(number) else None


def organisation_taken(*, name: str, companies_house_number: str) -> Organisation | None:
    """The registered organisation this one would duplicate (same company number, or the
    same name whatever its capitals), if any."""
    return (
        Organisation.objects.annotate(lower_name=Lower("name"))
        .filter(lower_name=name.strip().lower())
        .first()
        or Organisation.objects.filter(companies_house_number=companies_house_number).first()
    )


def address_allowed(address: str) -> bool:
    """Count one sign-up attempt (or join request) from this IP address in the current hour;
    False once it is over SIGNUPS_PER_HOUR. Without a cache nothing is refused."""
    window = int(timezone.now().timestamp() // 3600)
    key = f"signup-limit:{address}:{window}"
    cache.add(key, 0, timeout=3601)
    try:
        count = cache.incr(key)
    except ValueError:
        count = 1
    return count <= settings.SIGNUPS_PER_HOUR


def _send_confirmation(signup: SignUp, token: str) -> None:
    send_templated(
        "signup_confirm",
        {
            "signup": signup,
            "url": settings.SITE_URL + reverse("teams:signup-confirm", args=[token]),
        },
        [signup.email],
    )


def _send_account_exists(email: str) -> None:
    send_templated(
        "signup_account_exists",
        {"login_url": settings.SITE_URL + reverse("login")},
        [email],
    )


def signup_start(
    *,
    email: str,
    full_name: str,
    password: str,
    organisation_name: str,
    companies_house_number: str,
) -> None:
    """Record the sign-up and email the link (or, if the address has an account already, a
    note saying so): the caller says "check your email" either way. The form has checked the
    address, the password and the company number, and that the organisation is new."""
    address = canonical_email(email)
    if User.objects.filter(email=address).exists():
        transaction.on_commit(lambda: _send_account_exists(address))
        return
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        signup = SignUp.objects.create(
            email=address,
            full_name=full_name.strip(),
            password_hash=make_password(password),
            organisation_name=organisation_name.strip(),
            companies_house_number=companies_house_number,
            token_sha256=token_digest(token),
            created_at=now,
            expires_at=now + timedelta(hours=settings.SIGNUP_LINK_HOURS),
        )
        transaction.on_commit(lambda: _send_confirmation(signup, token))


def signup_for_token(token: str) -> SignUp | None:
    signup = SignUp.objects.filter(token_sha256=token_digest(token)).first()
    return signup if signup is not None and signup.is_usable else None


def signup_confirm(*, token: str) -> User:
    """The link from the email: make the account, the organisation (not yet approved) and the
    membership as its administrator, together; audit; tell the reviewers."""
    with transaction.atomic():
        signup = SignUp.objects.select_for_update().filter(token_sha256=token_digest(token)).first()
        if signup is None or not signup.is_usable:
            raise TeamRefused(
                "This link has been used or has expired. Sign up again to get a new one."
            )
        if User.objects.filter(email=signup.email).exists():
            raise TeamRefused(f"There is an account for {signup.email} already: sign in instead.")
        if organisation_taken(
            name=signup.organisation_name, companies_house_number=signup.companies_house_number
        ):
            raise TeamRefused(
                f"{signup.organisation_name} was registered while your link was on its way. "
                "Ask its administrator to invite you, or ask to join it from the sign-up page."
            )
        try:
            with transaction.atomic():
                organisation = Organisation.objects.create(
                    name=signup.organisation_name,
                    companies_house_number=signup.companies_house_number,
                )
        except IntegrityError:
            raise TeamRefused(
                f"{signup.organisation_name} was registered a moment ago: ask to join it."
            ) from None
        user = User.objects.create(
            email=signup.email, full_name=signup.full_name, password=signup.password_hash
        )
        user.groups.add(group_for(Role.MANUFACTURER))
        Membership.objects.create(
            user=user, organisation=organisation, role=OrganisationRole.ADMINISTRATOR
        )
        signup.confirmed_at = timezone.now()
        signup.save(update_fields=["confirmed_at"])
        team_event_record(
            organisation=organisation,
            actor=user,
            kind=TeamEventKind.REGISTERED,
            subject=user.email,
            detail=f"Companies House number {organisation.companies_house_number}.",
        )
        reviewers = list(
            User.objects.filter(
                is_active=True, groups__name__in=[Role.REVIEWER.label, Role.LEAD_REVIEWER.label]
            )
            .values_list("email", flat=True)
            .distinct()
        )
        transaction.on_commit(
            lambda: send_templated(
                "organisation_registered",
                {
                    "organisation": organisation,
                    "url": settings.SITE_URL + reverse("teams:organisations"),
                },
                reviewers,
            )
        )
    return user


def organisation_approve(*, actor: User, organisation_id: int) -> Organisation:
    """A reviewer approves a registered organisation: from now on it can submit."""
    if not actor.has_perm("airlock.access_review_workspace"):
        raise PermissionError("Only the regulator's reviewers can approve an organisation.")
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        if ConflictOfInterest.objects.filter(reviewer=actor, organisation=organisation).exists():
            raise PermissionError(f"You have declared a conflict of interest with {organisation}.")
        if organisation.is_approved:
            raise TeamRefused(f"{organisation} was approved already.")
        organisation.approved_at = timezone.now()
        organisation.approved_by = actor
        organisation.save(update_fields=["approved_at", "approved_by"])
        team_event_record(organisation=organisation, actor=actor, kind=TeamEventKind.APPROVED)
        administrators = list(
            organisation.memberships.filter(role=OrganisationRole.ADMINISTRATOR).values_list(
                "user__email", flat=True
            )
        )
        transaction.on_commit(
            lambda: send_templated(
                "organisation_approved",
                {"organisation": organisation, "url": settings.SITE_URL + reverse("devices:home")},
                administrators,
            )
        )
    return organisation


def join_request(*, organisation: Organisation, email: str, full_name: str) -> None:
    """Someone whose organisation is registered asks to join it: its administrators are
    emailed (they invite the person from the team page if they know them). Audited."""
    address = canonical_email(email)
    with transaction.atomic():
        team_event_record(
            organisation=organisation,
            actor=None,
            kind=TeamEventKind.JOIN_REQUESTED,
            subject=address,
            detail=f"Name given: {full_name.strip()}.",
        )
        administrators = list(
            organisation.memberships.filter(role=OrganisationRole.ADMINISTRATOR).values_list(
                "user__email", flat=True
            )
        )
        transaction.on_commit(
            lambda: send_templated(
                "join_request",
                {
                    "organisation": organisation,
                    "email": address,
                    "full_name": full_name.strip(),
                    "url": settings.SITE_URL + reverse("teams:team"),
                },
                administrators,
            )
        )
