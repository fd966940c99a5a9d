"""Spec of the webhook operator routes and of every webhook the gateway sends (OpenAPI 3.1 ``webhooks``)."""

from __future__ import annotations

from typing import Any, Final

from wa_gateway.openapi.builders import TIMESTAMP, PathSpec, Schema, envelope, obj, operation, query, ref

SIGNING: Final = """\
With WEBHOOK_SECRET set: `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body>` (bare hex with
WEBHOOK_SIGNATURE_FORMAT=hex) and the Standard Webhooks headers `webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. Delivered at least once, in order per
device; answer 2xx to acknowledge. `id` is stable across retries.
"""

STRING: Final[Schema] = {"type": "string"}
SENDER_EVENT: Final[dict[str, Schema]] = {
    "chat": STRING,
    "from": STRING,
    "timestamp": TIMESTAMP,
    "isGroup": {"type": "boolean"},
}

# Events of messages and calls are described beside their handlers (messaging/openapi_spec.py).
EVENT_DATA: Final[dict[str, Schema]] = {
    "device.connected": obj({"jid": {"type": ["string", "null"]}, "pushName": {"type": ["string", "null"]}}),
    "device.disconnected": obj({"reason": STRING}),
    "device.reconnecting": obj({"reason": STRING}),
    "device.logged_out": obj({"reason": STRING}),
    "device.qr_expired": obj({}),
    "device.banned": obj({"code": {"type": ["integer", "null"]}, "expires": {"type": ["string", "null"]}}),
    "message.receipt": obj(
        {
            "type": {"enum": ["delivered", "read", "played"]},
            "messageIds": {"type": "array", "items": STRING},
            "from": STRING,
            "chat": STRING,
            "timestamp": TIMESTAMP,
        }
    ),
    "contacts.new": obj({"name": STRING, "phone": STRING}),
    "contacts.sync": {"type": "array", "items": obj({"name": STRING, "phone": STRING}), "maxItems": 1000},
}


def webhook_payload(event: str, data: Schema) -> Schema:
    return obj(
        {"id": STRING, "event": {"const": event}, "token": STRING, "data": data, "timestamp": TIMESTAMP},
        ("id", "event", "token", "data", "timestamp"),
    )


def webhooks(event_data: dict[str, Schema]) -> dict[str, Any]:
    return {
        event: {
            "post": {
                "summary": f"{event} webhook",
                "description": SIGNING,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": webhook_payload(event, data)}},
                },
                "responses": {"2XX": {"description": "Delivered"}},
            }
        }
        for event, data in sorted(event_data.items())
    }


DEAD_ITEM: Final[Schema] = obj(
    {
        "id": STRING,
        "event": STRING,
        "token": STRING,
        "attempts": {"type": "integer"},
        "lastError": {"type": ["string", "null"]},
        "lastStatus": {"type": ["integer", "null"]},
        "createdAt": TIMESTAMP,
        "payload": {"type": "object"},
    }
)

PATHS: Final[PathSpec] = {
    "/webhooks/stats": {
        "get": operation(
            "Webhook outbox: pending, delivered, dead, oldest pending age",
            tag="Webhooks",
            errors=(401,),
            ok=envelope(
                obj(
                    {
                        "pending": {"type": "integer"},
                        "delivered": {"type": "integer"},
                        "dead": {"type": "integer"},
                        "oldestPendingAgeSeconds": {"type": "integer"},
                    }
                )
            ),
        )
    },
    "/webhooks/dead": {
        "get": operation(
            "Dead-lettered webhook events, oldest first",
            tag="Webhooks",
            params=[
                query("limit", {"type": "integer", "minimum": 0}, "Page size (default 100, at most 1000)"),
                query("offset", {"type": "integer", "minimum": 0}, "Rows to skip"),
            ],
            errors=(400, 401),
            ok=envelope(
                obj(
                    {
                        "items": {"type": "array", "items": ref("DeadWebhook")},
                        "total": {"type": "integer"},
                        "limit": {"type": "integer"},
                        "offset": {"type": "integer"},
                        "hasMore": {"type": "boolean"},
                    }
                )
            ),
        )
    },
    "/webhooks/dead/retry": {
        "post": operation(
            "Send every dead-lettered event again",
            tag="Webhooks",
            errors=(401,),
            ok=envelope(obj({"retried": {"type": "integer"}})),
        )
    },
    "/webhooks/dead/{id}/retry": {
        "post": operation(
            "Send one dead-lettered event again",
            tag="Webhooks",
            params=[{"name": "id", "in": "path", "required": True, "schema": STRING}],
            errors=(401, 404),
            ok=envelope(obj({"id": STRING})),
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {"DeadWebhook": DEAD_ITEM}
