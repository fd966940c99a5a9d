"""Spec of ``GET /cluster`` (docs/cluster.md), present when DATABASE_URL is set."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi import builders as spec

NODE: Final[spec.Schema] = spec.obj(
    {
        "id": {"type": "string", "description": "NODE_ID"},
        "url": {"type": "string", "description": "NODE_URL: where the other nodes forward requests"},
        "lastHeartbeat": {"type": "string", "format": "date-time"},
        "live": {"type": "boolean", "description": "Heartbeat younger than LEASE_TTL_SECONDS, not stopped"},
        "devices": {"type": "array", "items": spec.STRING, "description": "Tokens it owns now"},
    },
    ("id", "url", "lastHeartbeat", "live", "devices"),
)
LEASE: Final[spec.Schema] = spec.obj(
    {
        "token": spec.STRING,
        "owner": {"type": ["string", "null"], "description": "The node running it; null while unowned"},
        "generation": {"type": "integer", "description": "Grows by one on every takeover"},
        "leaseExpiresAt": {"type": ["string", "null"], "format": "date-time"},
    },
    ("token", "owner", "generation", "leaseExpiresAt"),
)
PATHS: Final[spec.PathSpec] = {
    "/cluster": {
        "get": spec.operation(
            "The nodes sharing this database and which node owns each device",
            tag="System",
            description="Needs an admin key. Every node answers with the same view, read from the database.",
            errors=(401, 403),
            ok=spec.envelope(
                spec.obj(
                    {
                        "node": {"type": "string", "description": "The node that answered"},
                        "leaseTtlSeconds": {"type": "number"},
                        "nodes": {"type": "array", "items": spec.ref("ClusterNode")},
                        "devices": {"type": "array", "items": spec.ref("DeviceLease")},
                    },
                    ("node", "leaseTtlSeconds", "nodes", "devices"),
                )
            ),
        )
    },
}
SCHEMAS: Final[dict[str, spec.Schema]] = {"ClusterNode": NODE, "DeviceLease": LEASE}
