"""OpenAPI spec of status posts: the routes, the sandbox route and the ``status.received`` webhook."""

from __future__ import annotations

from typing import Final

from wa_gateway.engine import contract as c
from wa_gateway.messaging.openapi_spec import MEDIA_FORM, MEDIA_JSON, SEND_ERRORS, SENT
from wa_gateway.openapi import builders as spec

_STATUS_MEDIA_TYPE: Final[spec.Schema] = {"enum": list(c.STATUS_MEDIA_KINDS)}


def _without_recipient(schema: spec.Schema) -> spec.Schema:
    properties = {k: v for k, v in schema["properties"].items() if k not in ("to", "replyTo")}
    properties["type"] = _STATUS_MEDIA_TYPE
    required = [name for name in schema.get("required", []) if name != "to"]
    return spec.obj(properties, tuple(required))


PATHS: Final[spec.PathSpec] = {
    "/status": {
        "post": spec.operation(
            "Post a text status (seen by the account's contacts)",
            tag="Status",
            errors=SEND_ERRORS,
            body=spec.json_body(
                spec.obj(
                    {
                        "token": spec.STRING,
                        "text": spec.STRING,
                        "backgroundColor": {"type": "string", "description": "#RRGGBB or #AARRGGBB"},
                        "font": {
                            "enum": list(c.STATUS_FONTS),
                            "description": "WhatsApp's status font number",
                        },
                    },
                    ("token", "text"),
                )
            ),
            ok=spec.envelope(spec.obj(SENT, ("messageId", "timestamp"))),
        )
    },
    "/status/media": {
        "post": spec.operation(
            "Post an image or video status",
            tag="Status",
            description="Fields, sources and limits as `POST /messages/media`, without `to` and `replyTo`.",
            errors=SEND_ERRORS,
            body={
                "required": True,
                "content": {
                    "application/json": {"schema": _without_recipient(MEDIA_JSON)},
                    "multipart/form-data": {"schema": _without_recipient(MEDIA_FORM)},
                },
            },
            ok=spec.envelope(
                spec.obj(
                    {**SENT, "type": spec.STRING, "mimetype": spec.STRING, "size": spec.INTEGER},
                    ("messageId", "timestamp", "type", "mimetype", "size"),
                )
            ),
        )
    },
}

SANDBOX_PATHS: Final[spec.PathSpec] = {
    "/sandbox/devices/{token}/status": {
        "post": spec.operation(
            "A contact posts a text status",
            tag="Sandbox",
            params=[spec.path_token()],
            errors=(400, 401, 404, 409),
            body=spec.json_body(
                spec.obj(
                    {"from": {"type": "string", "description": "Digits of the contact"}, "text": spec.STRING},
                    ("from", "text"),
                )
            ),
            ok=spec.envelope(spec.obj({"id": spec.STRING})),
        )
    },
}

SCHEMAS: Final[dict[str, spec.Schema]] = {}
