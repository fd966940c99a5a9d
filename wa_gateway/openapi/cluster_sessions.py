"""Spec of ``GET /sandbox/devices/{token}/sessions`` (sandbox engine with DATABASE_URL; docs/cluster.md)."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi import builders as spec

SESSION: Final[spec.Schema] = spec.obj(
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
PATHS: Final[spec.PathSpec] = {
    "/sandbox/devices/{token}/sessions": {
        "get": spec.operation(
            "Every connection the simulated network saw for a device, on any node, oldest first",
            tag="Sandbox",
            params=[spec.path_param("token")],
            errors=(400, 401, 403),
            ok=spec.envelope(
                spec.obj(
                    {
                        "token": spec.STRING,
                        "sessions": {"type": "array", "items": spec.ref("SandboxSession")},
                    },
                    ("token", "sessions"),
                )
            ),
        )
    },
}
SCHEMAS: Final[dict[str, spec.Schema]] = {"SandboxSession": SESSION}
