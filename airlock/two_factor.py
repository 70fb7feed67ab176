"""Two-factor sign-in (TOTP, through django-otp) for the regulator's staff.

Reviewers, lead reviewers and administrators can read every organisation's case files, so a
stolen password alone must not be enough: they confirm each sign-in with a six-digit code from
an authenticator app. Manufacturers are not asked (see docs/SECURITY.md).
"""

import hashlib
import logging
import math
import re
import secrets
from base64 import b32encode
from datetime import timedelta
from xml.etree import ElementTree

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from airlock.emails import send_templated
from airlock.models import SecurityEvent, SecurityEventKind, TwoFactorEnrolment, User

logger = logging.getLogger(__name__)

DEVICE_NAME = "Authenticator app"
TOKEN_PATTERN = re.compile(r"^\d{6}$")


def two_factor_applies(user: User) -> bool:
    """Whether this person's role calls for two-factor sign-in at all."""
    if not user.is_authenticated:
        return False
    return user.is_staff or user.is_superuser or user.has_perm("airlock.access_review_workspace")


def two_factor_required(user: User) -> bool:
    """Whether this person must confirm a code before using the site (AIRLOCK_REQUIRE_2FA is
    off in development so the demo logins work without an authenticator app)."""
    return settings.AIRLOCK_REQUIRE_2FA and two_factor_applies(user)


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


# --- Enrolment: a link by email, because a password alone must not add a second factor -------

# Where the setup page finds the enrolment link this session opened.
SESSION_ENROLMENT = "airlock_two_factor_enrolment"
# A person asking for another link within this long is told to check their inbox instead.
RESEND_AFTER = timedelta(minutes=1)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _send_enrolment(enrolment: TwoFactorEnrolment, token: str) -> None:
    send_templated(
        "two_factor_enrolment",
        {
            "user": enrolment.user,
            "url": settings.SITE_URL + reverse("two-factor-enrol", args=[token]),
            "expires_at": enrolment.expires_at,
            "issued_by": enrolment.issued_by,
        },
        [enrolment.user.email],
    )


def _issue(*, user: User, actor: User | None) -> None:
    """Replace the person's unused links with a new one, emailed once the transaction
    commits. Call inside a transaction that has locked the user's row."""
    TwoFactorEnrolment.objects.filter(user=user, used_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    enrolment = TwoFactorEnrolment.objects.create(
        user=user,
        token_sha256=_token_digest(token),
        issued_by=actor,
        created_at=now,
        expires_at=now + timedelta(hours=settings.TWO_FACTOR_ENROLMENT_HOURS),
    )
    transaction.on_commit(lambda: _send_enrolment(enrolment, token))


def enrolment_link_send(*, user: User) -> bool:
    """Email the person a set-up link, on their own request after their password; False
    (and nothing sent) when one went less than RESEND_AFTER ago.

    Steps: lock the user's row (two clicks send one email), check the last link's age,
    replace any unused link with a new one, write the audit row, email it on commit.
    """
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        latest = TwoFactorEnrolment.objects.filter(user=user).order_by("-created_at").first()
        if latest is not None and latest.created_at > timezone.now() - RESEND_AFTER:
            return False
        _issue(user=user, actor=None)
        SecurityEvent.objects.create(
            user=user, kind=SecurityEventKind.ENROLMENT_SENT, detail=f"Sent to {user.email}."
        )
    return True


def enrolment_pending(user: User) -> TwoFactorEnrolment | None:
    """The person's newest link that can still be used, if any."""
    enrolment = TwoFactorEnrolment.objects.filter(user=user, used_at__isnull=True).first()
    return enrolment if enrolment is not None and enrolment.is_usable else None


def enrolment_claim(*, user: User, token: str) -> TwoFactorEnrolment | None:
    """The usable link `token` names, if it was issued to `user`; else None (someone else's
    link, an old one, a used one, or nonsense all look the same)."""
    enrolment = TwoFactorEnrolment.objects.filter(
        token_sha256=_token_digest(token), user=user
    ).first()
    return enrolment if enrolment is not None and enrolment.is_usable else None


def enrolment_for_session(user: User, session) -> TwoFactorEnrolment | None:
    """The link this session opened, while it is still usable."""
    pk = session.get(SESSION_ENROLMENT)
    if pk is None:
        return None
    enrolment = TwoFactorEnrolment.objects.filter(pk=pk, user=user).first()
    return enrolment if enrolment is not None and enrolment.is_usable else None


def two_factor_reset(*, user: User, actor: User) -> None:
    """An administrator's reset, for someone who lost their phone: their authenticators stop
    working at once (a session verified with one is asked again), and a new set-up link goes
    to their email address.

    Steps: lock the user's row, delete their TOTP devices and unused links, issue a new link
    (emailed on commit), write the audit row naming the administrator.
    """
    if not actor.is_superuser:
        raise PermissionError("Only an administrator can reset someone's two-factor sign-in.")
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        removed, _ = TOTPDevice.objects.filter(user=user).delete()
        _issue(user=user, actor=actor)
        SecurityEvent.objects.create(
            user=user,
            actor=actor,
            kind=SecurityEventKind.TWO_FACTOR_RESET,
            detail=f"{removed} authenticator(s) removed; a new set-up link sent to {user.email}.",
        )
    logger.info("Two-factor sign-in of user %s reset by %s", user.pk, actor.pk)


def totp_device_for_setup(*, user: User) -> TOTPDevice:
    """The unconfirmed device this person is setting up, created on first visit.

    The same secret is shown until it is confirmed, so reloading the page does not invalidate
    what the person has already scanned.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def totp_device_confirm(
    *, device: TOTPDevice, token: str, enrolment: TwoFactorEnrolment
) -> TOTPDevice | None:
    """Confirm a new device with a code it produced; the confirmed device, or None.

    Steps: lock the enrolment and device rows (two tabs confirming at once must not both
    succeed on one code or one link), check the link is still usable and the code
    (django-otp refuses a code already used and throttles guessing), mark the device
    confirmed and the link used, drop any other unconfirmed devices the person abandoned,
    and write the audit row.
    """
    with transaction.atomic():
        enrolment = TwoFactorEnrolment.objects.select_for_update().get(pk=enrolment.pk)
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if (
            not enrolment.is_usable
            or enrolment.user_id != device.user_id
            or device.confirmed
            or not device.verify_token(token)
        ):
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        enrolment.used_at = timezone.now()
        enrolment.save(update_fields=["used_at"])
        TOTPDevice.objects.filter(user_id=device.user_id, confirmed=False).delete()
        SecurityEvent.objects.create(
            user_id=device.user_id,
            kind=SecurityEventKind.TWO_FACTOR_SET_UP,
            detail="Set up with a link issued by "
            + (str(enrolment.issued_by) if enrolment.issued_by else "email at sign-in")
            + ".",
        )
    logger.info("Two-factor device confirmed for user %s", device.user_id)
    return device


def totp_device_verify(*, device: TOTPDevice, token: str) -> TOTPDevice | None:
    """Check a sign-in code; the device if it matched, else None.

    The row is locked so the same code sent twice at once is accepted only once.
    """
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        return device if device.confirmed and device.verify_token(token) else None


def throttle_seconds(device: TOTPDevice) -> int:
    """How long django-otp will go on refusing codes after wrong ones (0: not throttled).

    The wait doubles with each wrong code in a row, which makes guessing a million codes
    hopeless while a person who mistypes once barely notices.
    """
    allowed, details = device.verify_is_allowed()
    if allowed or not details or "locked_until" not in details:
        return 0
    return max(1, math.ceil((details["locked_until"] - timezone.now()).total_seconds()))


def grouped_secret(device: TOTPDevice) -> str:
    """The base32 secret in groups of four, as authenticator apps ask for it typed in."""
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// address as an inline SVG QR code, drawn on the server.

    Inline markup (not a data: image or a third-party service) keeps the secret off every
    log and cache, and needs no script, so it works under the strict Content-Security-Policy.
    """
    image = qrcode.make(
        device.config_url,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    svg = image.get_image()
    # Sized by the stylesheet (.qr-code) rather than in millimetres.
    for attribute in ("width", "height"):
        svg.attrib.pop(attribute, None)
    for element in svg.iter():
        element.attrib.pop("id", None)
    svg.set("class", "qr-code")
    svg.set("role", "img")
    svg.set("aria-label", "QR code for your authenticator app")
    return ElementTree.tostring(svg, encoding="unicode")
