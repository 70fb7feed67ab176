"""The service's Ed25519 key, which signs case bundles' manifests (documents/bundles.py)."""

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings


def _private_key() -> Ed25519PrivateKey:
    """From BUNDLE_SIGNING_KEY (a 32-byte seed, hex), or, when it is not set, derived from
    SECRET_KEY with a label of its own, so a development machine signs without configuration.
    Production should set its own: rotating SECRET_KEY would otherwise change the key."""
    if settings.BUNDLE_SIGNING_KEY:
        seed = bytes.fromhex(settings.BUNDLE_SIGNING_KEY)
    else:
        seed = hashlib.sha256(
            b"airlock bundle signing key\0" + settings.SECRET_KEY.encode()
        ).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_hex() -> str:
    return _private_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def sign(data: bytes) -> str:
    return _private_key().sign(data).hex()
