"""The API and its limits, document verification, bundle signing, checkpoint sweeps, partner
webhooks and the regulators' network."""

import ipaddress
import re

from django.core.exceptions import ImproperlyConfigured

from airlock.settings.env import PRODUCTION, env_bool, env_int, env_list, env_str

# The API: manufacturer systems authenticate with a DRF token; partner regulators with their
# own bearer token (reviews.api.PartnerTokenAuthentication) on the alert endpoints only.
REST_FRAMEWORK = {
    # Organisations' own API keys (teams/api_keys.py) first: they share the Token scheme and
    # answer only for keys starting "ak_", leaving account tokens to DRF's.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "teams.api_keys.ApiKeyAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "teams.api_keys.KeyScope",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Size and depth limits before parsing, no NaN or Infinity, no NUL (airlock.json_parsing).
    "DEFAULT_PARSER_CLASSES": ["airlock.json_parsing.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "airlock.api_limits.CappedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    # Per token here; per address (wrong tokens included) in ApiAddressLimitMiddleware.
    "DEFAULT_THROTTLE_CLASSES": ["airlock.api_limits.TokenRateThrottle"],
    # How many proxies in front of us add themselves to X-Forwarded-For: 0 reads the
    # client's address from the connection itself, so a forged header changes nothing.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}
# What one API caller may ask for (airlock/api_limits.py, airlock/json_parsing.py).
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 100)
API_TOKEN_REQUESTS_PER_MINUTE = env_int("API_TOKEN_REQUESTS_PER_MINUTE", 120)
API_ADDRESS_REQUESTS_PER_MINUTE = env_int("API_ADDRESS_REQUESTS_PER_MINUTE", 300)
API_ADDRESS_FAILED_AUTHS_PER_HOUR = env_int("API_ADDRESS_FAILED_AUTHS_PER_HOUR", 20)
# The public document verification page (documents/views.py), per address: enough for anyone
# checking a handful of documents, too few to probe for fingerprints.
VERIFY_REQUESTS_PER_MINUTE = env_int("VERIFY_REQUESTS_PER_MINUTE", 20)
# The service's Ed25519 key for signing case bundles: a 32-byte seed as 64 hex characters
# (`python3 -c "import secrets; print(secrets.token_hex(32))"`). Unset: derived from SECRET_KEY
# (ledger/signing.py). Its public half is published at /bundles/public-key/.
BUNDLE_SIGNING_KEY = env_str("BUNDLE_SIGNING_KEY", "")
if BUNDLE_SIGNING_KEY and not re.fullmatch(r"[0-9a-fA-F]{64}", BUNDLE_SIGNING_KEY):
    raise ImproperlyConfigured("BUNDLE_SIGNING_KEY must be 64 hexadecimal characters.")
# Largest PDF the verification page hashes.
VERIFY_MAX_UPLOAD_BYTES = env_int("VERIFY_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
# A checkpoint report or an alert is a few kilobytes and a few levels deep.
API_MAX_JSON_BYTES = env_int("API_MAX_JSON_KB", 256) * 1024
API_MAX_JSON_DEPTH = env_int("API_MAX_JSON_DEPTH", 20)
# What one checkpoint sweep may create (reviews/monitoring/checkpoints.py): a month of daily
# checkpoints for one case, and comfortably more than a 20-week catch-up over 100k cases
# (250,000). Whatever a plan's dates, a run stays bounded; what it held back it reports.
CHECKPOINT_SWEEP_MAX_PER_CASE = env_int("CHECKPOINT_SWEEP_MAX_PER_CASE", 31)
CHECKPOINT_SWEEP_MAX_PER_RUN = env_int("CHECKPOINT_SWEEP_MAX_PER_RUN", 500_000)
# Partner regulators' webhooks (airlock/outbound.py): https only in production; a webhook's
# host must resolve to public addresses, except in the networks listed here (a development
# receiver on this machine, e.g. 127.0.0.1/32).
PARTNER_WEBHOOK_ALLOW_HTTP = env_bool("PARTNER_WEBHOOK_ALLOW_HTTP", default=not PRODUCTION)
PARTNER_WEBHOOK_ALLOWED_NETWORKS = env_list("PARTNER_WEBHOOK_ALLOWED_NETWORKS", [])
_LOOPBACK = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
if PRODUCTION and any(
    allowed.version == loopback.version and allowed.overlaps(loopback)
    for allowed in (ipaddress.ip_network(n, strict=False) for n in PARTNER_WEBHOOK_ALLOWED_NETWORKS)
    for loopback in _LOOPBACK
):
    # Loopback partners exist for the two-node test and `make network` only: in production a
    # partner's inbox on this machine would reach our own services.
    raise ImproperlyConfigured(
        "PARTNER_WEBHOOK_ALLOWED_NETWORKS may not include loopback addresses in production."
    )
# The regulators' network (reviews/network/, docs/NETWORK.md): who we are in the alerts we
# send, how long an old signing secret keeps working after a rotation, and how long a
# partner has to acknowledge a high or critical alert before the dashboard flags it.
NETWORK_ISSUER_NAME = env_str("NETWORK_ISSUER_NAME", "Airlock")
NETWORK_ISSUER_COUNTRY = env_str("NETWORK_ISSUER_COUNTRY", "GB")
PARTNER_SECRET_OVERLAP_HOURS = env_int("PARTNER_SECRET_OVERLAP_HOURS", 72)
PARTNER_ACK_HOURS = env_int("PARTNER_ACK_HOURS", 24)
# The OpenAPI schema and Swagger UI describe every endpoint: public only when this says so
# (on in development), otherwise for signed-in people and API tokens.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", default=not PRODUCTION)
SPECTACULAR_SETTINGS = {
    "TITLE": "Airlock API",
    "DESCRIPTION": (
        "Manufacturer systems push checkpoint reports and read their applications; partner "
        "regulators read shared safety alerts and push their own."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}
