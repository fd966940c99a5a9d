"""Spec of the per-device webhook routes (docs/device-webhooks.md)."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi import builders as spec

TARGET: Final[spec.Schema] = spec.obj(
    {
        "token": spec.STRING,
        "url": spec.STRING,
        "events": {"type": "array", "items": spec.STRING},
        "hasSecret": spec.BOOLEAN,
    },
    ("token", "url", "events", "hasSecret"),
)
ABOUT: Final = (
    "Needs `webhooks:admin`. A URL set with a scoped key must resolve to public addresses unless "
    "WEBHOOK_ALLOW_PRIVATE_URLS=true (400 WEBHOOK_URL_NOT_ALLOWED)."
)

PATHS: Final[spec.PathSpec] = {
    "/devices/{token}/webhook": {
        "put": spec.operation(
            "Send this device's events to its own webhook too",
            tag="Webhooks",
            description=ABOUT,
            params=[spec.path_token()],
            body=spec.json_body(
                spec.obj(
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
            ok=spec.envelope(spec.ref("DeviceWebhook")),
        ),
        "get": spec.operation(
            "This device's own webhook (without its secret)",
            tag="Webhooks",
            params=[spec.path_token()],
            errors=(400, 401, 403, 404),
            ok=spec.envelope(spec.ref("DeviceWebhook")),
        ),
        "delete": spec.operation(
            "Remove this device's own webhook and what was still queued for it",
            tag="Webhooks",
            params=[spec.path_token()],
            errors=(400, 401, 403, 404),
            ok=spec.envelope(spec.obj({"token": spec.STRING}, ("token",))),
        ),
    },
    "/webhooks/events/{id}/redeliver": {
        "post": spec.operation(
            "Send a delivered webhook event again, with its original id and body",
            tag="Webhooks",
            description="Needs `webhooks:admin`. Searches WEBHOOK_URL's outbox and every device webhook's; "
            "delivered events are kept 3 days.",
            params=[spec.path_param("id")],
            errors=(401, 403, 404),
            ok=spec.envelope(spec.obj({"id": spec.STRING, "token": spec.STRING}, ("id", "token"))),
        )
    },
}

SCHEMAS: Final[dict[str, spec.Schema]] = {"DeviceWebhook": TARGET}
