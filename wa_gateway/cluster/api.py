"""``GET /cluster``: the nodes (id, url, last heartbeat, live, devices owned) and every device's owner."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway.clock import Clock
from wa_gateway.cluster.leases import DB_ERRORS
from wa_gateway.cluster.store import LeaseRow, LeaseStore, NodeRow
from wa_gateway.envelope import ok, utc_timestamp_ms

# /health/detailed reads the same rows; a database that does not answer costs it this much at most.
HEALTH_READ_TIMEOUT_S: Final = 2.0


def node_views(nodes: list[NodeRow], leases: list[LeaseRow], now: float, ttl: float) -> list[dict[str, Any]]:
    """Each node with its liveness and the devices whose lease it holds (an expired lease has no owner)."""
    owners = {lease.token: lease.owner if lease.expires_at > now else None for lease in leases}
    return [
        {
            "id": node.id,
            "url": node.url,
            "lastHeartbeat": utc_timestamp_ms(node.heartbeat_at),
            "live": not node.stopped and node.heartbeat_at > now - ttl,
            "devices": sorted(t for t, owner in owners.items() if owner == node.id),
        }
        for node in nodes
    ]


class ClusterApi:
    def __init__(self, store: LeaseStore, *, node_id: str, ttl: float, clock: Clock) -> None:
        self._store = store
        self._node_id = node_id
        self._ttl = ttl
        self._clock = clock

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/cluster", self.cluster)]

    async def cluster(self, request: web.Request) -> web.Response:
        try:
            nodes, leases = await self._store.nodes(), await self._store.leases()
        except DB_ERRORS:
            raise errors.ApiError(errors.CLUSTER_DATABASE_UNAVAILABLE) from None
        now = self._clock.time()
        # An expired lease has no owner any more, whatever the row still names.
        owners = {lease.token: lease.owner if lease.expires_at > now else None for lease in leases}
        data = {
            "node": self._node_id,
            "leaseTtlSeconds": self._ttl,
            "nodes": node_views(nodes, leases, now, self._ttl),
            "devices": [
                {
                    "token": lease.token,
                    "owner": owners[lease.token],
                    "generation": lease.generation,
                    "leaseExpiresAt": utc_timestamp_ms(lease.expires_at) if owners[lease.token] else None,
                }
                for lease in leases
            ],
        }
        return ok(request, data)

    async def health(self, owned: int, database_reachable: bool) -> dict[str, Any]:
        """The cluster part of /health/detailed: this node, and every node's liveness (None: unreadable)."""
        view: dict[str, Any] = {
            "node": self._node_id,
            "devicesOwned": owned,
            "databaseReachable": database_reachable,
            "nodes": None,
        }
        try:
            within = HEALTH_READ_TIMEOUT_S
            nodes, leases = await self._store.nodes(within), await self._store.leases(within)
        except DB_ERRORS:
            view["databaseReachable"] = False
            return view
        view["nodes"] = node_views(nodes, leases, self._clock.time(), self._ttl)
        return view
