"""Signed webhooks delivered at least once from a durable sqlite outbox (docs/architecture.md "Webhooks")."""

from wa_gateway.webhooks.api import WebhookAdminApi
from wa_gateway.webhooks.dispatcher import WebhookDispatcher
from wa_gateway.webhooks.outbox import WebhookOutbox
from wa_gateway.webhooks.signing import (
    SIGNATURE_FORMATS,
    SignatureFormat,
    sign_hex,
    signature_headers,
    standard_webhooks_key,
)

__all__ = [
    "SIGNATURE_FORMATS",
    "SignatureFormat",
    "WebhookAdminApi",
    "WebhookDispatcher",
    "WebhookOutbox",
    "sign_hex",
    "signature_headers",
    "standard_webhooks_key",
]
