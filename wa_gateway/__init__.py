"""wa-gateway: a self-hosted WhatsApp gateway (REST, WebSocket, signed webhooks)."""

__version__ = "0.1.0"
