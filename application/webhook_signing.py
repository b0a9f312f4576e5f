"""Standard Webhooks signatures (https://www.standardwebhooks.com): the headers of a delivery.

HMAC-SHA256 over ``{id}.{timestamp}.{body}`` with the secret's bytes, base64, prefixed ``v1,``.
Secrets are ``whsec_`` + base64 of random bytes. During a rotation the signature header carries
one signature per active secret, separated by spaces; receivers accept any of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from uuid import UUID, uuid5

SECRET_PREFIX = "whsec_"  # noqa: S105 - the public prefix of every secret, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh random signing secret, ``whsec_<base64>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``{message_id}.{timestamp}.{body}``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    active_secrets: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp, body) for secret in active_secrets
        ),
    }


def delivery_id(webhook_id: UUID, event_id: UUID) -> UUID:
    """The deterministic id of delivering ``event_id`` to ``webhook_id`` (retries collide)."""
    return uuid5(webhook_id, str(event_id))
