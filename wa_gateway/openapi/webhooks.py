"""Spec of the webhook operator routes and of every webhook the gateway sends (OpenAPI 3.1 ``webhooks``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from wa_gateway.events.model import EventType
from wa_gateway.openapi import builders as spec

SIGNING: Final = """\
With WEBHOOK_SECRET set: `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body>` (bare hex with
WEBHOOK_SIGNATURE_FORMAT=hex) and the Standard Webhooks headers `webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. Delivered at least once, in order per
device; answer 2xx to acknowledge. `id` is stable across retries.
"""


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


def websocket_frames(types: Iterable[EventType]) -> dict[str, spec.Schema]:
    """``components.schemas`` entries ``WsFrame.<event>``: the frame a WebSocket client gets per event."""
    return {f"WsFrame.{kind.name}": kind.frame_schema() for kind in sorted(types, key=lambda t: t.name)}


DEAD_ITEM: Final[spec.Schema] = spec.obj(
    {
        "id": spec.STRING,
        "event": spec.STRING,
        "token": spec.STRING,
        "attempts": spec.INTEGER,
        "lastError": {"type": ["string", "null"]},
        "lastStatus": {"type": ["integer", "null"]},
        "createdAt": spec.TIMESTAMP,
        "payload": {"type": "object"},
    }
)

PATHS: Final[spec.PathSpec] = {
    "/webhooks/stats": {
        "get": spec.operation(
            "Webhook outbox: pending, delivered, dead, oldest pending age",
            tag="Webhooks",
            errors=(401,),
            ok=spec.envelope(
                spec.obj(
                    {
                        "pending": spec.INTEGER,
                        "delivered": spec.INTEGER,
                        "dead": spec.INTEGER,
                        "oldestPendingAgeSeconds": spec.INTEGER,
                    }
                )
            ),
        )
    },
    "/webhooks/dead": {
        "get": spec.operation(
            "Dead-lettered webhook events, oldest first",
            tag="Webhooks",
            params=spec.paging(limit_minimum=0),
            errors=(400, 401),
            ok=spec.envelope(spec.page("items", spec.ref("DeadWebhook"))),
        )
    },
    "/webhooks/dead/retry": {
        "post": spec.operation(
            "Send every dead-lettered event again",
            tag="Webhooks",
            errors=(401,),
            ok=spec.envelope(spec.obj({"retried": spec.INTEGER})),
        )
    },
    "/webhooks/dead/{id}/retry": {
        "post": spec.operation(
            "Send one dead-lettered event again",
            tag="Webhooks",
            params=[spec.path_param("id")],
            errors=(401, 404),
            ok=spec.envelope(spec.obj({"id": spec.STRING})),
        )
    },
}

SCHEMAS: Final[dict[str, spec.Schema]] = {"DeadWebhook": DEAD_ITEM}
