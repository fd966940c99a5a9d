"""Spec of the scoped API key routes (docs/api-keys.md)."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi.builders import TIMESTAMP, PathSpec, Schema, envelope, json_body, obj, operation, ref
from wa_gateway.vocabulary import TOKEN_PATTERN

SCOPE: Final[Schema] = {
    "enum": [
        "admin",
        "contacts:read",
        "devices:read",
        "devices:write",
        "keys:admin",
        "messages:read",
        "messages:send",
        "webhooks:admin",
    ]
}
DEVICES: Final[Schema] = {
    "type": ["array", "null"],
    "items": {"type": "string", "pattern": TOKEN_PATTERN},
    "description": "Device tokens the key may use; null or omitted: every device",
}
KEY: Final[Schema] = obj(
    {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "prefix": {"type": "string", "description": "The key's first characters, to tell keys apart"},
        "scopes": {"type": "array", "items": SCOPE},
        "devices": DEVICES,
        "createdAt": TIMESTAMP,
    },
    ("id", "name", "prefix", "scopes", "devices", "createdAt"),
)
ABOUT: Final = (
    "Needs `keys:admin`. A key can only grant scopes and devices it has itself; "
    "the API_KEY admin key can grant anything."
)

PATHS: Final[PathSpec] = {
    "/keys": {
        "post": operation(
            "Create a scoped API key; the key is in this answer only",
            tag="API keys",
            description=ABOUT,
            body=json_body(
                obj(
                    {
                        "name": {"type": "string", "minLength": 1, "maxLength": 100},
                        "scopes": {"type": "array", "items": SCOPE, "minItems": 1},
                        "devices": DEVICES,
                    },
                    ("name", "scopes"),
                )
            ),
            ok_status=201,
            errors=(400, 401, 403),
            ok=envelope({"allOf": [ref("ApiKey"), obj({"key": {"type": "string"}}, ("key",))]}),
        ),
        "get": operation(
            "Scoped API keys, without their secrets",
            tag="API keys",
            description=ABOUT,
            errors=(401, 403),
            ok=envelope(obj({"keys": {"type": "array", "items": ref("ApiKey")}}, ("keys",))),
        ),
    },
    "/keys/{id}": {
        "delete": operation(
            "Revoke a key at once; its open WebSockets are closed",
            tag="API keys",
            description=ABOUT,
            params=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            errors=(400, 401, 403, 404),
            ok=envelope(obj({"id": {"type": "string"}}, ("id",))),
        )
    },
}

SCHEMAS: Final[dict[str, Schema]] = {"ApiKey": KEY}
