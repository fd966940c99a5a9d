"""Spec of the webhook operator routes and of every webhook the gateway sends (OpenAPI 3.1 ``webhooks``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from wa_gateway.events.model import EventType
from wa_gateway.openapi.builders import TIMESTAMP, PathSpec, Schema, envelope, obj, operation, query, ref

SIGNING: Final = """\
With WEBHOOK_SECRET set: `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body>` (bare hex with
WEBHOOK_SIGNATURE_FORMAT=hex) and the Standard Webhooks headers `webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. Delivered at least once, in order per
device; answer 2xx to acknowledge. `id` is stable across retries.
"""

STRING: Final[Schema] = {"type": "string"}


def webhooks(types: Iterable[EventType]) -> dict[str, Any]:
    """OpenAPI 3.1 ``webhooks``: one per event, its body produced by the event's definition."""
    return {
        kind.name: {
            "post": {
                "summary": f"{kind.name} webhook",
                "description": f"{kind.doc}\n\n{SIGNING}",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": kind.webhook_schema()}},
                },
                "responses": {"2XX": {"description": "Delivered"}},
            }
        }
        for kind in sorted(types, key=lambda t: t.name)
    }


def websocket_frames(types: Iterable[EventType]) -> dict[str, Schema]:
    """``components.schemas`` entries ``WsFrame.<event>``: the frame a WebSocket client gets per event."""
    return {f"WsFrame.{kind.name}": kind.frame_schema() for kind in sorted(types, key=lambda t: t.name)}


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
