"""OpenAPI spec of status posts: the routes, the sandbox route and the ``status.received`` webhook."""

from __future__ import annotations

from typing import Final

from wa_gateway.engine import contract as c
from wa_gateway.messaging.openapi_spec import MEDIA_FORM, MEDIA_JSON, SEND_ERRORS, SENT
from wa_gateway.openapi.builders import PathSpec, Schema, envelope, json_body, obj, operation, path_token

STRING: Final[Schema] = {"type": "string"}
_STATUS_MEDIA_TYPE: Final[Schema] = {"enum": list(c.STATUS_MEDIA_KINDS)}


def _without_recipient(schema: Schema) -> Schema:
    properties = {k: v for k, v in schema["properties"].items() if k not in ("to", "replyTo")}
    properties["type"] = _STATUS_MEDIA_TYPE
    required = [name for name in schema.get("required", []) if name != "to"]
    return obj(properties, tuple(required))


PATHS: Final[PathSpec] = {
    "/status": {
        "post": operation(
            "Post a text status (seen by the account's contacts)",
            tag="Status",
            errors=SEND_ERRORS,
            body=json_body(
                obj(
                    {
                        "token": STRING,
                        "text": STRING,
                        "backgroundColor": {"type": "string", "description": "#RRGGBB or #AARRGGBB"},
                        "font": {
                            "enum": list(c.STATUS_FONTS),
                            "description": "WhatsApp's status font number",
                        },
                    },
                    ("token", "text"),
                )
            ),
            ok=envelope(obj(SENT, ("messageId", "timestamp"))),
        )
    },
    "/status/media": {
        "post": operation(
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
            ok=envelope(
                obj(
                    {**SENT, "type": STRING, "mimetype": STRING, "size": {"type": "integer"}},
                    ("messageId", "timestamp", "type", "mimetype", "size"),
                )
            ),
        )
    },
}

SANDBOX_PATHS: Final[PathSpec] = {
    "/sandbox/devices/{token}/status": {
        "post": operation(
            "A contact posts a text status",
            tag="Sandbox",
            params=[path_token()],
            errors=(400, 401, 404, 409),
            body=json_body(
                obj(
                    {"from": {"type": "string", "description": "Digits of the contact"}, "text": STRING},
                    ("from", "text"),
                )
            ),
            ok=envelope(obj({"id": STRING})),
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {}
