"""Signed webhooks delivered at least once from a durable sqlite outbox (docs/architecture.md "Webhooks")."""

from .api import WebhookAdminApi
from .dispatcher import WebhookDispatcher
from .outbox import WebhookOutbox
from .signing import SIGNATURE_FORMATS, SignatureFormat, sign_hex, signature_headers, standard_webhooks_key

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
