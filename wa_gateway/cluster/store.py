"""The cluster's tables and every statement on them: nodes, and one lease row per device.

Times are the writing node's wall clock in seconds (``Clock.time``), so a node's clock is injected in tests;
nodes must keep their clocks in step (NTP) well within a third of LEASE_TTL_SECONDS (docs/cluster.md
"Clocks"). A lease with ``owner`` NULL is free; ``generation`` grows on every takeover and never goes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import asyncpg

from wa_gateway.db import whatsmeow
from wa_gateway.db.postgres import PostgresDatabase

COMPONENT: Final = "cluster"
STEPS: Final = (
    """
    CREATE TABLE cluster_nodes (
        id text PRIMARY KEY,
        url text NOT NULL,
        started_at double precision NOT NULL,
        heartbeat_at double precision NOT NULL,
        stopped boolean NOT NULL DEFAULT false
    );
    CREATE TABLE device_leases (
        token text PRIMARY KEY,
        owner text,
        generation bigint NOT NULL DEFAULT 0,
        expires_at double precision NOT NULL DEFAULT 0,
        replaced_at double precision,
        replaced_owner text
    );
    CREATE INDEX device_leases_owner ON device_leases (owner)
    """,
    # The device directory (docs/cluster.md "One view of the cluster"): what its owner last reported, and
    # the JID whatsmeow keeps its session under; whatsmeow's own tables go into a schema of their own.
    f"""
    ALTER TABLE device_leases ADD COLUMN jid text, ADD COLUMN status text, ADD COLUMN push_name text,
        ADD COLUMN connected_at double precision;
    CREATE SCHEMA IF NOT EXISTS {whatsmeow.SCHEMA}
    """,
)


@dataclass(frozen=True, slots=True)
class NodeRow:
    id: str
    url: str
    heartbeat_at: float
    stopped: bool


@dataclass(frozen=True, slots=True)
class DirectoryRow:
    """A device as the cluster's directory has it: its lease, its owner's report, the owner's liveness."""

    token: str
    owner: str | None
    expires_at: float
    status: str | None
    jid: str | None
    push_name: str | None
    connected_at: float | None
    owner_heartbeat_at: float | None
    owner_stopped: bool


@dataclass(frozen=True, slots=True)
class LeaseRow:
    token: str
    owner: str | None
    generation: int
    expires_at: float


_REGISTER: Final = """
INSERT INTO device_leases (token) VALUES ($1)
ON CONFLICT (token) DO UPDATE SET replaced_owner = NULL WHERE device_leases.replaced_owner = $2
"""
_TAKE: Final = """
WITH free AS (
    SELECT token FROM device_leases
    WHERE (owner IS NULL OR expires_at <= $2 OR owner = $1)
        AND (cardinality($4::text[]) = 0 OR token = ANY($4))
        AND replaced_owner IS DISTINCT FROM $1 AND NOT (token = ANY($6::text[]))
    ORDER BY token LIMIT $5 FOR UPDATE SKIP LOCKED
)
UPDATE device_leases AS l
SET owner = $1, generation = l.generation + 1, expires_at = $2::float8 + $3::float8,
    status = NULL, connected_at = NULL
FROM free WHERE l.token = free.token
RETURNING l.token, l.generation
"""


class LeaseStore:
    """SQL only; the rules (when to renew, whom to fence) live in ``leases.LeaseKeeper``."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

    async def open(self) -> None:
        await self._db.migrate(COMPONENT, STEPS)

    async def _fetch(self, sql: str, within: float | None) -> list[asyncpg.Record]:
        """Rows of ``sql``; bounded by ``within`` (acquire, query and release) when given."""
        if within is None:
            return await self._db.pool.fetch(sql)
        async with self._db.connection(within) as conn:
            return await conn.fetch(sql, timeout=within)

    async def heartbeat(self, node: str, url: str, now: float) -> None:
        await self._db.pool.execute(
            """
            INSERT INTO cluster_nodes (id, url, started_at, heartbeat_at) VALUES ($1, $2, $3, $3)
            ON CONFLICT (id) DO UPDATE SET url = $2, heartbeat_at = $3, stopped = false
            """,
            node,
            url,
            now,
        )

    async def register(self, token: str, node: str) -> None:
        """Make ``token`` a cluster device; a connect asked for on ``node`` lifts its stream-replaced mark."""
        await self._db.pool.execute(_REGISTER, token, node)

    async def forget(self, token: str) -> None:
        """The device was deleted: its lease row goes, and whatsmeow's session rows with it, whether or not
        WhatsApp heard of the logout (an offline logout deletes nothing, docs/neonize.md §1)."""
        async with self._db.pool.acquire() as conn, conn.transaction():
            jid = await conn.fetchval("DELETE FROM device_leases WHERE token = $1 RETURNING jid", token)
            if jid and await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", whatsmeow.DEVICE_TABLE):
                # whatsmeow's other tables reference the device row ON DELETE CASCADE.
                await conn.execute(f"DELETE FROM {whatsmeow.DEVICE_TABLE} WHERE jid = $1", jid)

    async def session_jid(self, token: str, within: float) -> str | None:
        """The JID the device's whatsmeow session is stored under, as its last owner recorded it."""
        async with self._db.connection(within) as conn:
            jid = await conn.fetchval("SELECT jid FROM device_leases WHERE token = $1", token, timeout=within)
        return str(jid) if jid else None

    async def report(
        self,
        node: str,
        reports: Sequence[tuple[str, int, str, str | None, str | None, float | None]],
        within: float,
    ) -> None:
        """(token, generation, status, jid, push name, connected at) of devices this node holds: written
        only where the lease still is this node's at that generation, so a fenced owner cannot overwrite
        the new owner's report. A JID, once known, is kept until a new one comes."""
        if not reports:
            return
        columns = [list(column) for column in zip(*reports, strict=True)]
        async with self._db.connection(within) as conn:
            await conn.execute(
                """
                UPDATE device_leases AS l SET status = r.status, jid = coalesce(r.jid, l.jid),
                    push_name = r.push_name, connected_at = r.connected_at
                FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::float8[])
                    AS r(token, generation, status, jid, push_name, connected_at)
                WHERE l.token = r.token AND l.owner = $1 AND l.generation = r.generation
                """,
                node,
                *columns,
                timeout=within,
            )

    async def directory(self, within: float, token: str | None = None) -> list[DirectoryRow]:
        async with self._db.connection(within) as conn:
            rows = await conn.fetch(_DIRECTORY, token, timeout=within)
        return [_directory_row(r) for r in rows]

    async def renew(self, node: str, held: dict[str, int], now: float, ttl: float) -> set[str]:
        """Extend the leases this node still holds at the generation it took them; returns those renewed.

        A lease that expired is not revived even when nobody took it: the owner fenced it already, and
        taking it again is a takeover with a new generation."""
        if not held:
            return set()
        rows = await self._db.pool.fetch(
            """
            UPDATE device_leases AS l SET expires_at = $3::float8 + $4::float8
            FROM unnest($2::text[], $5::bigint[]) AS h(token, generation)
            WHERE l.token = h.token AND l.generation = h.generation AND l.owner = $1 AND l.expires_at > $3
            RETURNING l.token
            """,
            node,
            list(held),
            now,
            ttl,
            list(held.values()),
        )
        return {str(r["token"]) for r in rows}

    async def take(
        self, node: str, tokens: Sequence[str], now: float, ttl: float, limit: int, held: Sequence[str] = ()
    ) -> dict[str, int]:
        """Take up to ``limit`` free or expired leases (only ``tokens`` when given): token → generation.

        A lease that still names this node but that it does not hold (it fenced the device, or this is a
        restart after a crash) is taken back the same way, with a new generation: nobody else can hold it.
        A device whose connection here was stream-replaced is never taken back by this node on its own."""
        if limit <= 0:
            return {}
        rows = await self._db.pool.fetch(_TAKE, node, now, ttl, list(tokens), limit, list(held))
        return {str(r["token"]): int(r["generation"]) for r in rows}

    async def claim(self, node: str, token: str, now: float, ttl: float, held: Sequence[str]) -> int | None:
        """Register ``token`` and take its lease if it is free, in one transaction: no other node's round
        can take a device between its registration and this node's take. Returns the generation."""
        async with self._db.pool.acquire() as conn, conn.transaction():
            await conn.execute(_REGISTER, token, node)
            row = await conn.fetchrow(_TAKE, node, now, ttl, [token], 1, list(held))
        return int(row["generation"]) if row is not None else None

    async def release(self, node: str, tokens: Sequence[str] | None = None) -> None:
        """Free this node's leases (all of them, or ``tokens``) so another node takes them at once."""
        await self._db.pool.execute(
            """
            UPDATE device_leases SET owner = NULL, expires_at = 0
            WHERE owner = $1 AND ($2::text[] IS NULL OR token = ANY($2))
            """,
            node,
            None if tokens is None else list(tokens),
        )

    async def stopped(self, node: str) -> None:
        await self._db.pool.execute("UPDATE cluster_nodes SET stopped = true WHERE id = $1", node)

    async def stream_replaced(self, token: str, node: str, generation: int, now: float) -> None:
        """Record that WhatsApp kicked this node's connection, and give the lease up if still ours."""
        await self._db.pool.execute(
            """
            UPDATE device_leases SET replaced_at = $4, replaced_owner = $2,
                owner = CASE WHEN owner = $2 AND generation = $3 THEN NULL ELSE owner END,
                expires_at = CASE WHEN owner = $2 AND generation = $3 THEN 0 ELSE expires_at END
            WHERE token = $1
            """,
            token,
            node,
            generation,
            now,
        )

    async def counts(self, now: float, ttl: float) -> tuple[int, int]:
        """(devices, live nodes): a node is live when its heartbeat is younger than the TTL."""
        row = await self._db.pool.fetchrow(
            """
            SELECT (SELECT count(*) FROM device_leases) AS devices,
                   (SELECT count(*) FROM cluster_nodes
                    WHERE NOT stopped AND heartbeat_at > $1::float8 - $2::float8) AS nodes
            """,
            now,
            ttl,
        )
        assert row is not None
        return int(row["devices"]), int(row["nodes"])

    async def lease(self, token: str) -> tuple[LeaseRow, NodeRow | None] | None:
        row = await self._db.pool.fetchrow(
            """
            SELECT l.token, l.owner, l.generation, l.expires_at, n.url, n.heartbeat_at, n.stopped
            FROM device_leases l LEFT JOIN cluster_nodes n ON n.id = l.owner WHERE l.token = $1
            """,
            token,
        )
        if row is None:
            return None
        lease = _lease(row)
        if row["url"] is None:
            return lease, None
        node = NodeRow(str(row["owner"]), str(row["url"]), float(row["heartbeat_at"]), bool(row["stopped"]))
        return lease, node

    async def nodes(self, within: float | None = None) -> list[NodeRow]:
        rows = await self._fetch(
            "SELECT id, url, heartbeat_at, stopped FROM cluster_nodes ORDER BY id", within
        )
        return [
            NodeRow(str(r["id"]), str(r["url"]), float(r["heartbeat_at"]), bool(r["stopped"])) for r in rows
        ]

    async def leases(self, within: float | None = None) -> list[LeaseRow]:
        rows = await self._fetch(
            "SELECT token, owner, generation, expires_at FROM device_leases ORDER BY token", within
        )
        return [
            LeaseRow(str(r["token"]), r["owner"], int(r["generation"]), float(r["expires_at"])) for r in rows
        ]


def _lease(row: asyncpg.Record) -> LeaseRow:
    return LeaseRow(str(row["token"]), row["owner"], int(row["generation"]), float(row["expires_at"]))


_DIRECTORY: Final = """
SELECT l.token, l.owner, l.expires_at, l.status, l.jid, l.push_name, l.connected_at,
       n.heartbeat_at, coalesce(n.stopped, false) AS stopped
FROM device_leases l LEFT JOIN cluster_nodes n ON n.id = l.owner
WHERE $1::text IS NULL OR l.token = $1 ORDER BY l.token
"""


def _directory_row(r: asyncpg.Record) -> DirectoryRow:
    return DirectoryRow(
        str(r["token"]),
        r["owner"],
        float(r["expires_at"]),
        r["status"],
        r["jid"],
        r["push_name"],
        r["connected_at"],
        r["heartbeat_at"],
        bool(r["stopped"]),
    )
