"""Issuing, adding and retiring a partner's signing secrets, each audited (PartnerKeyEvent).

Rotation without downtime: `secret_rotate` issues a new secret and gives every older active
one an end PARTNER_SECRET_OVERLAP_HOURS from now. Until then we sign with both (the
signature header carries one signature per secret) and accept either, so the partner can
install the new secret when it suits them; after it, only the new one works.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from airlock.models import User
from reviews.models import PartnerRegulator
from reviews.network import signing
from reviews.network.models import KeyAction, PartnerKeyEvent, PartnerSecret


def _locked(partner_id: int) -> PartnerRegulator:
    return PartnerRegulator.objects.select_for_update().get(pk=partner_id)


def _end_older(partner: PartnerRegulator, *, keep: PartnerSecret, ends_at) -> int:
    older = PartnerSecret.objects.filter(partner=partner).exclude(pk=keep.pk)
    return older.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=ends_at)).update(
        expires_at=ends_at
    )


def secret_rotate(*, actor: User | None, partner_id: int) -> PartnerSecret:
    """Issue a new secret for the partner (shown once to the administrator, who sends it to
    the partner securely); older active secrets end after the overlap."""
    overlap = timedelta(hours=settings.PARTNER_SECRET_OVERLAP_HOURS)
    with transaction.atomic():
        partner = _locked(partner_id)
        secret = PartnerSecret.objects.create(partner=partner, secret=signing.new_secret())
        ended = _end_older(partner, keep=secret, ends_at=timezone.now() + overlap)
        PartnerKeyEvent.objects.create(
            partner=partner,
            actor=actor,
            action=KeyAction.ISSUED,
            summary=f"New secret …{secret.secret[-4:]} issued; {ended} older secret(s) end "
            f"in {settings.PARTNER_SECRET_OVERLAP_HOURS} h.",
        )
    return secret


def secret_add(*, actor: User | None, partner_id: int, value: str) -> PartnerSecret:
    """Install a secret the partner issued (their rotation): it signs and verifies at once,
    beside the ones we already hold."""
    value = value.strip()
    if not signing.is_valid_secret(value):
        raise ValidationError(
            "A secret is whsec_ followed by at least 24 bytes in base64, as the partner sent it."
        )
    with transaction.atomic():
        partner = _locked(partner_id)
        secret, created = PartnerSecret.objects.get_or_create(partner=partner, secret=value)
        if not created:
            raise ValidationError("That secret is already installed for this partner.")
        PartnerKeyEvent.objects.create(
            partner=partner,
            actor=actor,
            action=KeyAction.ADDED,
            summary=f"Secret …{value[-4:]} from the partner added.",
        )
    return secret


def secrets_retire_older(*, actor: User | None, partner_id: int) -> int:
    """End every secret but the newest now (the partner has confirmed the new one)."""
    with transaction.atomic():
        partner = _locked(partner_id)
        newest = PartnerSecret.objects.filter(partner=partner).order_by("-created_at", "-pk")
        newest = newest.first()
        if newest is None:
            return 0
        ended = _end_older(partner, keep=newest, ends_at=timezone.now())
        if ended:
            PartnerKeyEvent.objects.create(
                partner=partner,
                actor=actor,
                action=KeyAction.RETIRED,
                summary=f"{ended} older secret(s) retired; …{newest.secret[-4:]} remains.",
            )
    return ended
