"""Spec of ``GET /cluster`` (docs/cluster.md), present when DATABASE_URL is set."""

from __future__ import annotations

from typing import Final

from wa_gateway.openapi.builders import PathSpec, Schema, envelope, obj, operation, ref

NODE: Final[Schema] = obj(
    {
        "id": {"type": "string", "description": "NODE_ID"},
        "url": {"type": "string", "description": "NODE_URL: where the other nodes forward requests"},
        "lastHeartbeat": {"type": "string", "format": "date-time"},
        "live": {"type": "boolean", "description": "Heartbeat younger than LEASE_TTL_SECONDS, not stopped"},
        "devices": {"type": "array", "items": {"type": "string"}, "description": "Tokens it owns now"},
    },
    ("id", "url", "lastHeartbeat", "live", "devices"),
)
LEASE: Final[Schema] = obj(
    {
        "token": {"type": "string"},
        "owner": {"type": ["string", "null"], "description": "The node running it; null while unowned"},
        "generation": {"type": "integer", "description": "Grows by one on every takeover"},
        "leaseExpiresAt": {"type": ["string", "null"], "format": "date-time"},
    },
    ("token", "owner", "generation", "leaseExpiresAt"),
)
PATHS: Final[PathSpec] = {
    "/cluster": {
        "get": operation(
            "The nodes sharing this database and which node owns each device",
            tag="System",
            description="Needs an admin key. Every node answers with the same view, read from the database.",
            errors=(401, 403),
            ok=envelope(
                obj(
                    {
                        "node": {"type": "string", "description": "The node that answered"},
                        "leaseTtlSeconds": {"type": "number"},
                        "nodes": {"type": "array", "items": ref("ClusterNode")},
                        "devices": {"type": "array", "items": ref("DeviceLease")},
                    },
                    ("node", "leaseTtlSeconds", "nodes", "devices"),
                )
            ),
        )
    },
}
SCHEMAS: Final[dict[str, Schema]] = {"ClusterNode": NODE, "DeviceLease": LEASE}
