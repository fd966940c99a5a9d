"""Spec of the per-device webhook routes (docs/device-webhooks.md)."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi.builders import PathSpec, Schema, envelope, json_body, obj, operation, path_token, ref

STRING: Final[Schema] = {"type": "string"}
TARGET: Final[Schema] = obj(
    {
        "token": STRING,
        "url": STRING,
        "events": {"type": "array", "items": STRING},
        "hasSecret": {"type": "boolean"},
    },
    ("token", "url", "events", "hasSecret"),
)
ABOUT: Final = (
    "Needs `webhooks:admin`. A URL set with a scoped key must resolve to public addresses unless "
    "WEBHOOK_ALLOW_PRIVATE_URLS=true (400 WEBHOOK_URL_NOT_ALLOWED)."
)

PATHS: Final[PathSpec] = {
    "/devices/{token}/webhook": {
        "put": operation(
            "Send this device's events to its own webhook too",
            tag="Webhooks",
            description=ABOUT,
            params=[path_token()],
            body=json_body(
                obj(
                    {
                        "url": {"type": "string", "format": "uri"},
                        "secret": {"type": "string", "minLength": 1},
                        "events": {
                            "type": "array",
                            "items": {"type": "string", "pattern": r"^[a-z0-9*][a-z0-9._*-]{0,63}$"},
                            "minItems": 1,
                            "description": 'Event names or patterns with * (default: ["*"])',
                        },
                    },
                    ("url",),
                )
            ),
            errors=(400, 401, 403),
            ok=envelope(ref("DeviceWebhook")),
        ),
        "get": operation(
            "This device's own webhook (without its secret)",
            tag="Webhooks",
            params=[path_token()],
            errors=(400, 401, 403, 404),
            ok=envelope(ref("DeviceWebhook")),
        ),
        "delete": operation(
            "Remove this device's own webhook and what was still queued for it",
            tag="Webhooks",
            params=[path_token()],
            errors=(400, 401, 403, 404),
            ok=envelope(obj({"token": STRING}, ("token",))),
        ),
    },
    "/webhooks/events/{id}/redeliver": {
        "post": operation(
            "Send a delivered webhook event again, with its original id and body",
            tag="Webhooks",
            description="Needs `webhooks:admin`. Searches WEBHOOK_URL's outbox and every device webhook's; "
            "delivered events are kept 3 days.",
            params=[{"name": "id", "in": "path", "required": True, "schema": STRING}],
            errors=(401, 403, 404),
            ok=envelope(obj({"id": STRING, "token": STRING}, ("id", "token"))),
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {"DeviceWebhook": TARGET}
