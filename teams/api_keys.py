"""API keys an organisation's administrator manages on the site: made, shown once, stored
hashed, used by the API within their scope until they expire or are revoked.

Keys travel in the same header as the older account tokens (`Authorization: Token <key>`);
ours start with KEY_PREFIX, so ApiKeyAuthentication answers for them and leaves any other
token to DRF's TokenAuthentication (still issued by `manage.py drf_create_token`).
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from airlock.models import User
from teams.audit import team_event_record
from teams.models import ApiKey, ApiKeyScope, TeamEventKind
from teams.services import TeamRefused, administered_organisation

KEY_PREFIX = "ak_"
# The longest a key may live: a forgotten key should not work for ever.
MAX_DAYS = 366
# A key's last use is written at most this often: not a database write per API call.
LAST_USED_EVERY = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(
    *, actor: User, name: str, scope: str, expires_in_days: int
) -> tuple[ApiKey, str]:
    """Make a key for the actor's organisation; returns it and its secret, which is never
    shown or kept again."""
    if scope not in ApiKeyScope.values:
        raise TeamRefused("Choose what the key may do.")
    if not 1 <= expires_in_days <= MAX_DAYS:
        raise TeamRefused(f"A key lasts between 1 and {MAX_DAYS} days.")
    if not name.strip():
        raise TeamRefused("Name the key after the system that will use it.")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        organisation = administered_organisation(actor)
        key = ApiKey.objects.create(
            organisation=organisation,
            name=name.strip(),
            scope=scope,
            prefix=secret[: len(KEY_PREFIX) + 6],
            key_sha256=_digest(secret),
            created_by=actor,
            expires_at=timezone.now() + timedelta(days=expires_in_days),
        )
        team_event_record(
            organisation=organisation,
            actor=actor,
            kind=TeamEventKind.API_KEY_CREATED,
            subject=key.name,
            detail=f"{key.get_scope_display()}; {key.prefix}…, until {key.expires_at:%-d %B %Y}.",
        )
    return key, secret


def api_key_revoke(*, actor: User, key_id: int) -> ApiKey:
    with transaction.atomic():
        organisation = administered_organisation(actor)
        key = ApiKey.objects.select_for_update().get(pk=key_id, organisation=organisation)
        if key.revoked_at is not None:
            raise TeamRefused(f"{key} was revoked already.")
        key.revoked_at = timezone.now()
        key.revoked_by = actor
        key.save(update_fields=["revoked_at", "revoked_by"])
        team_event_record(
            organisation=organisation,
            actor=actor,
            kind=TeamEventKind.API_KEY_REVOKED,
            subject=key.name,
            detail=f"{key.prefix}…",
        )
    return key


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Token ak_…`: an organisation's API key. Any other token is left to
    the next authentication class."""

    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower().encode():
            return None
        try:
            secret = parts[1].decode()
        except UnicodeDecodeError:
            return None
        if not secret.startswith(KEY_PREFIX):
            return None
        key = (
            ApiKey.objects.select_related("created_by__membership")
            .filter(key_sha256=_digest(secret))
            .first()
        )
        if key is None or not key.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        user = key.created_by
        membership = getattr(user, "membership", None)
        if (
            not user.is_active
            or membership is None
            or membership.organisation_id != key.organisation_id
        ):
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        now = timezone.now()
        if key.last_used_at is None or key.last_used_at < now - LAST_USED_EVERY:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return user, key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents API keys in /api/schema/: the same `Authorization: Token …` header as an
    account's token (defined here, beside the class, so the schema knows it when it loads)."""

    target_class = "teams.api_keys.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An organisation's API key, sent as `Token ak_…`; limited to its scope.",
        }


class KeyScope(BasePermission):
    """A request made with an API key may do only what the key's scope allows: the view
    names what it needs in `required_scope` (read or report). Sessions and account tokens
    are not limited here."""

    message = "This API key's scope does not allow this: make a key that may report."

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            return True
        needed = getattr(view, "required_scope", ApiKeyScope.REPORT)
        return needed == ApiKeyScope.READ or request.auth.scope == ApiKeyScope.REPORT
