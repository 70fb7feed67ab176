"""Standard Webhooks signatures (https://www.standardwebhooks.com/), through the maintained
`standardwebhooks` package: it is small, has no dependencies and is the specification's own
reference implementation, so the bytes we sign are the bytes any other implementation checks.

A message carries three headers:

- `webhook-id`: the message's id, the same on every retry (receivers de-duplicate on it);
- `webhook-timestamp`: seconds since the epoch when it was signed;
- `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256>` signatures of
  `<id>.<timestamp>.<body>`, one per active secret, so a partner that has installed either
  the old or the new secret during a rotation verifies the message.

What this module adds to the package: several secrets per partner, and errors that never
escape as a 500 (the package lets a malformed signature header raise ValueError).
"""

import base64
import binascii
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
# The package's tolerance, which the specification recommends: five minutes either way.
TOLERANCE_SECONDS = 5 * 60


class SignatureRefused(Exception):
    """The message is not signed by this partner, or not now; the message says why."""


def new_secret() -> str:
    """A fresh 32-byte secret in the specification's format."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def is_valid_secret(value: str) -> bool:
    if not value.startswith(SECRET_PREFIX):
        return False
    try:
        return len(base64.b64decode(value.removeprefix(SECRET_PREFIX), validate=True)) >= 24
    except (binascii.Error, ValueError):
        return False


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def signature(*, secret_values: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    text = body.decode()
    return " ".join(
        Webhook(value).sign(msg_id=message_id, timestamp=moment, data=text)
        for value in secret_values
    )


def signed_headers(
    *, secret_values: list[str], message_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers for `body`, signed with every secret given (newest first)."""
    if not secret_values:
        raise SignatureRefused("There is no active secret to sign with: add one in the admin.")
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(
            secret_values=secret_values, message_id=message_id, timestamp=timestamp, body=body
        ),
    }


def verify(*, secret_values: list[str], body: bytes, headers: Mapping[str, str]) -> str:
    """Check the signature and the time; the message id. Raises SignatureRefused saying why.

    A timestamp outside the window is refused whichever secret signed the message: a replay
    of a captured message an hour later fails here, and one inside the window is caught by
    the de-duplication on its id.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    message_id = lowered.get(ID_HEADER, "")
    if not (message_id and lowered.get(TIMESTAMP_HEADER) and lowered.get(SIGNATURE_HEADER)):
        raise SignatureRefused(
            f"Send the {ID_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers."
        )
    if len(message_id) > 255:
        raise SignatureRefused(f"The {ID_HEADER} header is longer than 255 characters.")
    if not secret_values:
        raise SignatureRefused("We hold no active secret for you: ask us to issue one.")
    last = "No signature matched an active secret."
    for value in secret_values:
        try:
            Webhook(value).verify(body, lowered, json_parse=False)
        except WebhookVerificationError as exc:
            if "timestamp" in str(exc).lower() or "headers" in str(exc).lower():
                raise SignatureRefused(_in_words(str(exc))) from None
            last = "No signature matched an active secret."
        except (ValueError, TypeError):
            # A signature that is not "v1,<base64>", or a body that is not UTF-8.
            raise SignatureRefused(
                f"The {SIGNATURE_HEADER} header is not in the form v1,<base64 signature>."
            ) from None
        else:
            return message_id
    raise SignatureRefused(last)


def _in_words(problem: str) -> str:
    return {
        "Message timestamp too old": "The timestamp is more than 5 minutes old: sign it again.",
        "Message timestamp too new": "The timestamp is more than 5 minutes in the future.",
        "Invalid Signature Headers": f"The {TIMESTAMP_HEADER} header is not a number of seconds.",
    }.get(problem, problem)
