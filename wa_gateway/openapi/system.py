"""Spec of the system routes: health, WebSocket, metrics, dashboard and these docs."""

from __future__ import annotations

from typing import Final

from wa_gateway import vocabulary as v
from wa_gateway.openapi import builders as spec

operation = spec.tagged("System")

RECONNECT: Final[spec.Schema] = {
    "type": ["object", "null"],
    "description": "Set while the engine reconnects the device, as of the worker's last heartbeat",
    "properties": {
        "attempts": {"type": "integer", "description": "Failed connects in a row"},
        "nextAttemptAt": {"type": ["string", "null"], "description": "Next try (UTC); null while trying"},
        "lastError": spec.NULLABLE_STRING,
    },
}
FIRST_SYNC: Final[spec.Schema] = {
    "type": ["integer", "null"],
    "description": "Progress (%) of the first history sync of a device linked just now; null otherwise",
}
HEALTH_DEVICE: Final[spec.Schema] = {
    "allOf": [
        spec.ref("DeviceSummary"),
        spec.obj({"reconnect": RECONNECT, "historySyncProgress": FIRST_SYNC}),
    ]
}
WORKER: Final[spec.Schema] = spec.obj(
    {
        "state": spec.STRING,
        "pid": {"type": ["integer", "null"]},
        "restarts": spec.INTEGER,
        "lastError": spec.NULLABLE_STRING,
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

DEVICE_SUMMARY: Final[spec.Schema] = spec.obj(
    {
        "token": spec.STRING,
        "status": {"enum": list(v.DEVICE_STATUSES)},
        "jid": spec.NULLABLE_STRING,
        "pushName": spec.NULLABLE_STRING,
        "connectedAt": spec.NULLABLE_STRING,
        "node": {
            "type": ["string", "null"],
            "description": "With DATABASE_URL: the node that runs the device (null: none does now)",
        },
    },
    ("token", "status"),
)
CLUSTER_HEALTH: Final[spec.Schema] = spec.obj(
    {
        "node": spec.STRING,
        "devicesOwned": {"type": "integer"},
        "databaseReachable": {"type": "boolean"},
        "nodes": {
            "type": ["array", "null"],
            "items": spec.obj(
                {
                    "id": spec.STRING,
                    "url": spec.STRING,
                    "lastHeartbeat": spec.STRING,
                    "live": {"type": "boolean"},
                    "devices": {"type": "array", "items": spec.STRING},
                }
            ),
        },
    },
    description="With DATABASE_URL: this node and every node's liveness (nodes null: database unreadable)",
)

PATHS: Final[spec.PathSpec] = {
    "/health": {
        "get": operation(
            "Liveness, engine name and version",
            public=True,
            errors=(),
            ok=spec.envelope(
                spec.obj({"status": {"const": "ok"}, "engine": spec.STRING, "version": spec.STRING})
            ),
        )
    },
    "/health/detailed": {
        "get": operation(
            "Uptime, memory, threads, WebSocket clients, devices and the engine worker",
            errors=(401, 429),
            ok=spec.envelope(
                spec.obj(
                    {
                        "uptime": spec.STRING,
                        "uptimeSeconds": {"type": "number"},
                        "memoryRss": spec.INTEGER,
                        "threads": spec.INTEGER,
                        "goroutines": {"type": "integer", "description": "Threads (the Go gateway's name)"},
                        "memoryAlloc": {"type": "integer", "description": "Anonymous resident bytes (heap)"},
                        "memorySys": {"type": "integer", "description": "Resident set size in bytes"},
                        "wsClients": spec.INTEGER,
                        "deviceCount": spec.INTEGER,
                        "devicesByStatus": {"type": "object", "additionalProperties": spec.INTEGER},
                        "devices": spec.array(HEALTH_DEVICE),
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
            errors=(401, 429),
            ok_content={"text/plain": {"schema": spec.STRING}},
        )
    },
    "/openapi.json": {
        "get": spec.public_file(
            "This document", tag="System", media_type="application/json", schema={"type": "object"}
        )
    },
    "/docs": {
        "get": spec.public_file(
            "Human-readable API documentation rendered from this document",
            tag="System",
            media_type="text/html",
        )
    },
    "/docs/{asset}": {"get": spec.asset_operation("The docs page's script and style sheet", tag="System")},
}

SCHEMAS: Final[dict[str, spec.Schema]] = {"DeviceSummary": DEVICE_SUMMARY}
