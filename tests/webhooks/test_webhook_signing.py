"""Signatures against published vectors and the Standard Webhooks reference library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from wa_gateway.webhooks.signing import (
    SIGNATURE_HEADER,
    WEBHOOK_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    sign_hex,
    signature_headers,
    standard_webhooks_key,
    standard_webhooks_signature,
    webhook_signature_value,
)

GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_PAYLOAD = b"Hello, World!"
GITHUB_DIGEST = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

BODY = (
    b'{"id":"evt_1","event":"message.received","token":"6281234567",'
    b'"data":{"text":"hi \xc3\xa9"},"timestamp":"2026-02-17T10:30:00Z"}'
)


def test_hex_signature_matches_githubs_published_vector() -> None:
    assert sign_hex(GITHUB_SECRET, GITHUB_PAYLOAD) == GITHUB_DIGEST


def test_x_webhook_signature_is_prefixed_by_default_and_bare_in_hex_format() -> None:
    assert webhook_signature_value(GITHUB_SECRET, GITHUB_PAYLOAD) == f"sha256={GITHUB_DIGEST}"
    assert webhook_signature_value(GITHUB_SECRET, GITHUB_PAYLOAD, "sha256") == f"sha256={GITHUB_DIGEST}"
    assert webhook_signature_value(GITHUB_SECRET, GITHUB_PAYLOAD, "hex") == GITHUB_DIGEST


def test_unknown_signature_format_is_refused() -> None:
    with pytest.raises(ValueError, match="signature format"):
        webhook_signature_value(GITHUB_SECRET, GITHUB_PAYLOAD, "base64")  # type: ignore[arg-type]


def test_no_secret_means_no_signature_headers() -> None:
    assert signature_headers("", "sha256", "evt_1", 1_700_000_000, BODY) == {}


@pytest.mark.parametrize("fmt", ["sha256", "hex"])
def test_standard_webhooks_round_trip_with_whsec_secret(fmt: str) -> None:
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    headers = signature_headers(secret, fmt, "evt_abc", int(time.time()), BODY)  # type: ignore[arg-type]

    expected = {SIGNATURE_HEADER, WEBHOOK_ID_HEADER, WEBHOOK_TIMESTAMP_HEADER, WEBHOOK_SIGNATURE_HEADER}
    assert set(headers) == expected
    assert headers[WEBHOOK_ID_HEADER] == "evt_abc"
    assert Webhook(secret).verify(BODY, headers)["event"] == "message.received"
    # X-Webhook-Signature is keyed with the secret text itself, whatever its shape.
    digest = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == (f"sha256={digest}" if fmt == "sha256" else digest)


def test_standard_webhooks_round_trip_with_plain_secret() -> None:
    secret = "a plain shared secret"
    headers = signature_headers(secret, "sha256", "evt_plain", int(time.time()), BODY)

    assert Webhook(secret.encode()).verify(BODY, headers)["token"] == "6281234567"
    assert headers[SIGNATURE_HEADER] == "sha256=" + sign_hex(secret, BODY)


def test_standard_webhooks_signature_rejects_a_changed_body_id_or_timestamp() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    now = int(time.time())
    headers = signature_headers(secret, "sha256", "evt_x", now, BODY)
    verifier = Webhook(secret)

    with pytest.raises(WebhookVerificationError):
        verifier.verify(BODY.replace(b"hi", b"ho"), headers)
    with pytest.raises(WebhookVerificationError):
        verifier.verify(BODY, {**headers, WEBHOOK_ID_HEADER: "evt_y"})
    with pytest.raises(WebhookVerificationError):
        verifier.verify(BODY, {**headers, WEBHOOK_TIMESTAMP_HEADER: str(now - 1)})


def test_signature_is_fresh_per_timestamp_and_stable_per_input() -> None:
    key = standard_webhooks_key("secret")
    first = standard_webhooks_signature(key, "evt_1", 100, BODY)
    assert first == standard_webhooks_signature(key, "evt_1", 100, BODY)
    assert first != standard_webhooks_signature(key, "evt_1", 101, BODY)
    assert first.startswith("v1,")


def test_whsec_secret_accepts_unpadded_base64() -> None:
    raw = b"0123456789abcdefghij"  # 20 bytes: its base64 ends in "="
    padded = base64.b64encode(raw).decode()
    assert padded.endswith("=")
    assert standard_webhooks_key("whsec_" + padded.rstrip("=")) == raw
    assert standard_webhooks_key("whsec_" + padded) == raw


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_", "whsec_a"])
def test_malformed_whsec_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="whsec_"):
        standard_webhooks_key(secret)
