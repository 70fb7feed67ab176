"""Two-factor sign-in (TOTP, through django-otp) for the regulator's staff.

Reviewers, lead reviewers and administrators can read every organisation's case files, so a
stolen password alone must not be enough: they confirm each sign-in with a six-digit code from
an authenticator app. Manufacturers are not asked (see docs/SECURITY.md).
"""

import logging
import math
import re
from base64 import b32encode
from xml.etree import ElementTree

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from airlock.models import User

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


def totp_device_for_setup(*, user: User) -> TOTPDevice:
    """The unconfirmed device this person is setting up, created on first visit.

    The same secret is shown until it is confirmed, so reloading the page does not invalidate
    what the person has already scanned.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def totp_device_confirm(*, device: TOTPDevice, token: str) -> TOTPDevice | None:
    """Confirm a new device with a code it produced; the confirmed device, or None.

    Steps: lock the device row (two tabs confirming at once must not both succeed on one
    code), check the code (django-otp refuses a code already used and throttles guessing),
    mark the device confirmed and drop any other unconfirmed ones the person abandoned.
    """
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if device.confirmed or not device.verify_token(token):
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user_id=device.user_id, confirmed=False).delete()
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
