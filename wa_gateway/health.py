"""``GET /health`` (no auth) and ``GET /health/detailed`` (auth)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from wa_gateway import __version__, procstats
from wa_gateway import vocabulary as v
from wa_gateway.apikeys.policy import visible_devices
from wa_gateway.clock import Clock
from wa_gateway.envelope import ok, utc_timestamp
from wa_gateway.route_table import RouteTable, route

DeviceList = Callable[[], list[dict[str, Any]]]
# token -> the worker's ReconnectInfo (wa_gateway/engine/worker_stats.py)
Reconnecting = Callable[[], dict[str, dict[str, Any]]]

DEVICE_STATUSES = v.DEVICE_STATUSES


class HealthApi(RouteTable):
    def __init__(
        self,
        *,
        engine: str,
        clock: Clock,
        devices: DeviceList,
        ws_clients: Callable[[], int],
        engine_info: Callable[[], dict[str, Any]] | None = None,
        reconnecting: Reconnecting | None = None,
        first_sync: Callable[[], dict[str, int]] | None = None,
        cluster: Callable[[], Awaitable[dict[str, Any]]] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._started = clock.monotonic()
        self._devices = devices
        self._ws_clients = ws_clients
        self._engine_info = engine_info
        self._reconnecting = reconnecting
        self._first_sync = first_sync
        self._cluster = cluster

    @route.get("/health")
    async def health(self, request: web.Request) -> web.Response:
        return ok(request, {"status": "ok", "engine": self._engine, "version": __version__}, "ok")

    @route.get("/health/detailed")
    async def detailed(self, request: web.Request) -> web.Response:
        uptime = self._clock.monotonic() - self._started
        rss, heap, threads = await asyncio.to_thread(
            lambda: (procstats.rss_bytes(), procstats.heap_bytes(), procstats.thread_count())
        )
        devices = sorted(visible_devices(request, self._devices()), key=lambda d: str(d.get("token", "")))
        counts = Counter(str(d.get("status")) for d in devices)
        pending = self._reconnecting() if self._reconnecting is not None else {}
        syncing = self._first_sync() if self._first_sync is not None else {}
        devices = [
            {
                **d,
                "reconnect": reconnect_view(pending.get(str(d.get("token")))),
                "historySyncProgress": syncing.get(str(d.get("token"))),
            }
            for d in devices
        ]
        data: dict[str, Any] = {
            "version": __version__,
            "engine": self._engine,
            "uptime": procstats.human_duration(uptime),
            "uptimeSeconds": round(uptime, 3),
            "memoryRss": rss,
            "threads": threads,
            # The Go gateway's runtime figures under their names, with the nearest meaning a Python
            # process has (docs/health.md), so dashboards written for it keep working.
            "goroutines": threads,
            "memoryAlloc": heap,
            "memorySys": rss,
            "wsClients": self._ws_clients(),
            "deviceCount": len(devices),
            "devicesByStatus": {status: counts.get(status, 0) for status in DEVICE_STATUSES},
            "devices": devices,
        }
        if self._engine_info is not None:
            data["worker"] = self._engine_info()
        if self._cluster is not None:
            # This node's devices above; the nodes of the cluster here (docs/cluster.md "Limits").
            data["cluster"] = await self._cluster()
        return ok(request, data, "ok")


def reconnect_view(info: dict[str, Any] | None) -> dict[str, Any] | None:
    """A device's reconnect attempts as the API shows them (docs/health.md, "Engine figures")."""
    if info is None:
        return None
    at = info.get("nextAttemptAt")
    return {
        "attempts": info.get("attempts"),
        "nextAttemptAt": utc_timestamp(at) if isinstance(at, int | float) else None,
        "lastError": info.get("lastError"),
    }
