"""Spec of ``GET /sandbox/devices/{token}/sessions`` (sandbox engine with DATABASE_URL; docs/cluster.md)."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi.builders import PathSpec, Schema, envelope, obj, operation, ref

SESSION: Final[Schema] = obj(
    {
        "node": {"type": "string", "description": "The node whose engine held the connection"},
        "generation": {"type": "integer", "description": "That node's lease generation for the device"},
        "connectedAt": {"type": "string", "format": "date-time"},
        "endedAt": {"type": ["string", "null"], "format": "date-time", "description": "null: still open"},
        "endedBy": {
            "enum": ["stream_replaced", "disconnected", "lease_lost", "shutdown", None],
            "description": "stream_replaced: a newer connection of the device opened, on any node",
        },
    },
    ("node", "generation", "connectedAt", "endedAt", "endedBy"),
)
PATHS: Final[PathSpec] = {
    "/sandbox/devices/{token}/sessions": {
        "get": operation(
            "Every connection the simulated network saw for a device, on any node, oldest first",
            tag="Sandbox",
            params=[{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            errors=(400, 401, 403),
            ok=envelope(
                obj(
                    {
                        "token": {"type": "string"},
                        "sessions": {"type": "array", "items": ref("SandboxSession")},
                    },
                    ("token", "sessions"),
                )
            ),
        )
    },
}
SCHEMAS: Final[dict[str, Schema]] = {"SandboxSession": SESSION}
