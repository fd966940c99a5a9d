"""Webhook signatures: the seed's ``X-Webhook-Signature`` and the Standard Webhooks ``webhook-*`` trio."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Final, Literal

SignatureFormat = Literal["sha256", "hex"]
SIGNATURE_FORMATS: Final[tuple[SignatureFormat, ...]] = ("sha256", "hex")

SIGNATURE_HEADER: Final = "X-Webhook-Signature"
WEBHOOK_ID_HEADER: Final = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER: Final = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER: Final = "webhook-signature"

# Standard Webhooks secrets are "whsec_" + base64 of the raw key (spec "Signature scheme").
STANDARD_SECRET_PREFIX: Final = "whsec_"


def sign_hex(secret: str, body: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of the exact body bytes, keyed with the secret's UTF-8 bytes."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_signature_value(secret: str, body: bytes, fmt: SignatureFormat = "sha256") -> str:
    """The ``X-Webhook-Signature`` value: ``sha256=<hex>`` as the seed README documents, or bare hex.

    Bare hex is what the Go gateway's code really sends (docs/go-gateway.md §5), kept
    for receivers written against it.
    """
    digest = sign_hex(secret, body)
    if fmt == "hex":
        return digest
    if fmt == "sha256":
        return f"sha256={digest}"
    raise ValueError(f"unknown signature format {fmt!r}; expected one of {', '.join(SIGNATURE_FORMATS)}")


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key for ``webhook-signature``.

    A ``whsec_`` secret carries its key in base64, as the spec's libraries expect; any other secret
    is used as its UTF-8 bytes so that one plain WEBHOOK_SECRET serves both signatures.
    """
    if not secret.startswith(STANDARD_SECRET_PREFIX):
        if not secret:
            raise ValueError("webhook secret is empty")
        return secret.encode()
    encoded = secret[len(STANDARD_SECRET_PREFIX) :]
    try:
        # The reference library accepts unpadded base64, so we pad before a strict decode.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("webhook secret starts with 'whsec_' but the rest is not valid base64") from exc
    if not key:
        raise ValueError("webhook secret 'whsec_' carries an empty key")
    return key


def standard_webhooks_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` (Standard Webhooks "Signature scheme")."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(
    secret: str, fmt: SignatureFormat, msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Every signature header for one delivery attempt; empty when no secret is configured.

    ``msg_id`` stays the same across retries while ``timestamp`` is fresh per attempt (spec
    "Webhook metadata"), so the receiver can both dedupe and reject replays.
    """
    if not secret:
        return {}
    return {
        SIGNATURE_HEADER: webhook_signature_value(secret, body, fmt),
        WEBHOOK_ID_HEADER: msg_id,
        WEBHOOK_TIMESTAMP_HEADER: str(timestamp),
        WEBHOOK_SIGNATURE_HEADER: standard_webhooks_signature(
            standard_webhooks_key(secret), msg_id, timestamp, body
        ),
    }
