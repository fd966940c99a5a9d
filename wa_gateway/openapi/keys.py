"""Spec of the scoped API key routes (docs/api-keys.md)."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi import builders as spec
from wa_gateway.vocabulary import TOKEN_PATTERN

SCOPE: Final[spec.Schema] = {
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
DEVICES: Final[spec.Schema] = {
    "type": ["array", "null"],
    "items": {"type": "string", "pattern": TOKEN_PATTERN},
    "description": "Device tokens the key may use; null or omitted: every device",
}
KEY: Final[spec.Schema] = spec.obj(
    {
        "id": spec.STRING,
        "name": spec.STRING,
        "prefix": {"type": "string", "description": "The key's first characters, to tell keys apart"},
        "scopes": {"type": "array", "items": SCOPE},
        "devices": DEVICES,
        "createdAt": spec.TIMESTAMP,
    },
    ("id", "name", "prefix", "scopes", "devices", "createdAt"),
)
ABOUT: Final = (
    "Needs `keys:admin`. A key can only grant scopes and devices it has itself; "
    "the API_KEY admin key can grant anything."
)

PATHS: Final[spec.PathSpec] = {
    "/keys": {
        "post": spec.operation(
            "Create a scoped API key; the key is in this answer only",
            tag="API keys",
            description=ABOUT,
            body=spec.json_body(
                spec.obj(
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
            ok=spec.envelope({"allOf": [spec.ref("ApiKey"), spec.obj({"key": spec.STRING}, ("key",))]}),
        ),
        "get": spec.operation(
            "Scoped API keys, without their secrets",
            tag="API keys",
            description=ABOUT,
            errors=(401, 403),
            ok=spec.envelope(spec.obj({"keys": {"type": "array", "items": spec.ref("ApiKey")}}, ("keys",))),
        ),
    },
    "/keys/{id}": {
        "delete": spec.operation(
            "Revoke a key at once; its open WebSockets are closed",
            tag="API keys",
            description=ABOUT,
            params=[spec.path_param("id")],
            errors=(400, 401, 403, 404),
            ok=spec.envelope(spec.obj({"id": spec.STRING}, ("id",))),
        )
    },
}

SCHEMAS: Final[dict[str, spec.Schema]] = {"ApiKey": KEY}
