"""Spec of the system routes: health, WebSocket, metrics, dashboard and these docs."""

from __future__ import annotations

from typing import Final

from wa_gateway import vocabulary as v
from wa_gateway.openapi.builders import PathSpec, Schema, asset_operation, envelope, obj, operation, ref

RECONNECT: Final[Schema] = {
    "type": ["object", "null"],
    "description": "Set while the engine reconnects the device, as of the worker's last heartbeat",
    "properties": {
        "attempts": {"type": "integer", "description": "Failed connects in a row"},
        "nextAttemptAt": {"type": ["string", "null"], "description": "Next try (UTC); null while trying"},
        "lastError": {"type": ["string", "null"]},
    },
}
FIRST_SYNC: Final[Schema] = {
    "type": ["integer", "null"],
    "description": "Progress (%) of the first history sync of a device linked just now; null otherwise",
}
HEALTH_DEVICE: Final[Schema] = {
    "allOf": [ref("DeviceSummary"), obj({"reconnect": RECONNECT, "historySyncProgress": FIRST_SYNC})]
}
WORKER: Final[Schema] = obj(
    {
        "state": {"type": "string"},
        "pid": {"type": ["integer", "null"]},
        "restarts": {"type": "integer"},
        "lastError": {"type": ["string", "null"]},
        "stuckThreads": {"type": "integer", "description": "Engine threads a stop could not end"},
        "lostEventSessions": {"type": "integer", "description": "Sessions ended by an undeliverable event"},
        "watchdogReconnects": {"type": "integer", "description": "Dead sessions the watchdog reconnected"},
        "recycles": {"type": "integer", "description": "Orderly restarts because of stuck engine threads"},
        "recycleStuckThreads": {"type": "integer", "description": "ENGINE_RECYCLE_STUCK_THREADS"},
    }
)

WS_PROTOCOL: Final = """\
Upgrade to a WebSocket. The first message must be `{"type":"auth","apiKey":"…"}` within WS_AUTH_TIMEOUT
seconds; the reply is `{"type":"auth","success":true}` or `{"type":"auth","success":false,"message":…}`
(`Invalid API key`, `API key is required`, `First message must be auth`, `Invalid message format`,
`Message too large`, `Authentication timeout`), then the socket closes (1008, or 1009 when too large).

Events: `{"event":"qrcode","token","data":"2@…"}`, `{"event":"pairing-code","token","data":{"code"}}`,
`{"event":"connection-success","token"}`, `{"event":"connection-error","token","message"}`.
`{"type":"subscribe","tokens":[…],"events":[…]}` narrows the devices and chooses events, including every
webhook event (same `id` and payload as the webhook; `"*"` = all). `{"type":"ping"}` → `{"type":"pong"}`.
Close codes: 1001 shutdown, 1008 auth failure, 1009 for a message over 4096 bytes, 4008 client too slow.
The `Origin` header must be in WS_ALLOWED_ORIGINS, or name the gateway's own listening IP address (or
`localhost` on loopback) and port; the `Host` header never counts: 403 otherwise.
"""

DEVICE_SUMMARY: Final[Schema] = obj(
    {
        "token": {"type": "string"},
        "status": {"enum": list(v.DEVICE_STATUSES)},
        "jid": {"type": ["string", "null"]},
        "pushName": {"type": ["string", "null"]},
        "connectedAt": {"type": ["string", "null"]},
        "node": {
            "type": ["string", "null"],
            "description": "With DATABASE_URL: the node that runs the device (null: none does now)",
        },
    },
    ("token", "status"),
)
CLUSTER_HEALTH: Final[Schema] = obj(
    {
        "node": {"type": "string"},
        "devicesOwned": {"type": "integer"},
        "databaseReachable": {"type": "boolean"},
        "nodes": {
            "type": ["array", "null"],
            "items": obj(
                {
                    "id": {"type": "string"},
                    "url": {"type": "string"},
                    "lastHeartbeat": {"type": "string"},
                    "live": {"type": "boolean"},
                    "devices": {"type": "array", "items": {"type": "string"}},
                }
            ),
        },
    },
    description="With DATABASE_URL: this node and every node's liveness (nodes null: database unreadable)",
)

PATHS: Final[PathSpec] = {
    "/health": {
        "get": operation(
            "Liveness, engine name and version",
            tag="System",
            public=True,
            errors=(),
            ok=envelope(
                obj({"status": {"const": "ok"}, "engine": {"type": "string"}, "version": {"type": "string"}})
            ),
        )
    },
    "/health/detailed": {
        "get": operation(
            "Uptime, memory, threads, WebSocket clients, devices and the engine worker",
            tag="System",
            errors=(401, 429),
            ok=envelope(
                obj(
                    {
                        "uptime": {"type": "string"},
                        "uptimeSeconds": {"type": "number"},
                        "memoryRss": {"type": "integer"},
                        "threads": {"type": "integer"},
                        "goroutines": {"type": "integer", "description": "Threads (the Go gateway's name)"},
                        "memoryAlloc": {"type": "integer", "description": "Anonymous resident bytes (heap)"},
                        "memorySys": {"type": "integer", "description": "Resident set size in bytes"},
                        "wsClients": {"type": "integer"},
                        "deviceCount": {"type": "integer"},
                        "devicesByStatus": {"type": "object", "additionalProperties": {"type": "integer"}},
                        "devices": {"type": "array", "items": HEALTH_DEVICE},
                        "worker": WORKER,
                        "cluster": CLUSTER_HEALTH,
                    }
                )
            ),
        )
    },
    "/ws": {
        "get": operation(
            "WebSocket for real-time events",
            tag="System",
            public=True,
            errors=(403, 426, 429),
            ok_status=101,
            ok_content={},
            description=WS_PROTOCOL,
        )
    },
    "/metrics": {
        "get": operation(
            "Prometheus metrics (API key, or METRICS_TOKEN as a bearer token)",
            tag="System",
            errors=(401, 429),
            ok_content={"text/plain": {"schema": {"type": "string"}}},
        )
    },
    "/openapi.json": {
        "get": operation(
            "This document",
            tag="System",
            public=True,
            errors=(),
            ok_content={"application/json": {"schema": {"type": "object"}}},
        )
    },
    "/docs": {
        "get": operation(
            "Human-readable API documentation rendered from this document",
            tag="System",
            public=True,
            errors=(),
            ok_content={"text/html": {"schema": {"type": "string"}}},
        )
    },
    "/docs/{asset}": {"get": asset_operation("The docs page's script and style sheet", tag="System")},
}

SCHEMAS: Final[dict[str, Schema]] = {"DeviceSummary": DEVICE_SUMMARY}
