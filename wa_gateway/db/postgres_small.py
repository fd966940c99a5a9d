"""The small stores in PostgreSQL: idempotency keys, scoped API keys, per-device webhook targets.

Each implements the interface its sqlite twin does (docs/storage.md); the pool is the node's.
"""

from __future__ import annotations

from typing import Final

import orjson

from wa_gateway.apikeys.store import KeyRecord
from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.idempotency.store import TTL_S, Claim
from wa_gateway.webhooks.targets import WebhookTarget

IDEMPOTENCY_MIGRATIONS: Final = (
    """
CREATE TABLE wa_idempotency (
    scope text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    state text NOT NULL,
    status integer,
    body bytea,
    created double precision NOT NULL,
    node text NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX wa_idempotency_created ON wa_idempotency (created);
""",
)
KEYS_MIGRATIONS: Final = (
    """
CREATE TABLE wa_api_keys (
    id text PRIMARY KEY,
    name text NOT NULL,
    key_hash bytea NOT NULL UNIQUE,
    prefix text NOT NULL,
    scopes text NOT NULL,
    devices text,
    created_at text NOT NULL
);
""",
)
TARGETS_MIGRATIONS: Final = (
    """
CREATE TABLE wa_webhook_targets (
    token text PRIMARY KEY,
    url text NOT NULL,
    secret text NOT NULL,
    events text NOT NULL
);
""",
)


class PostgresIdempotencyStore:
    def __init__(self, db: PostgresDatabase, *, node: str, ttl_s: float = TTL_S) -> None:
        self._db = db
        self._node = node
        self._ttl_s = ttl_s

    async def open(self) -> None:
        await self._db.migrate("idempotency", IDEMPOTENCY_MIGRATIONS)
        # Requests this node was running when it last ended can never finish; other nodes' still may.
        await self._db.pool.execute(
            "DELETE FROM wa_idempotency WHERE state = 'running' AND node = $1", self._node
        )

    async def close(self) -> None:
        """The pool is the node's, closed by its owner."""

    async def begin(self, scope: str, key: str, fingerprint: str, now: float) -> Claim:
        async with self._db.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM wa_idempotency WHERE created < $1", now - self._ttl_s)
            inserted = await conn.fetchval(
                "INSERT INTO wa_idempotency (scope, key, fingerprint, state, created, node)"
                " VALUES ($1, $2, $3, 'running', $4, $5) ON CONFLICT (scope, key) DO NOTHING RETURNING 1",
                scope,
                key,
                fingerprint,
                now,
                self._node,
            )
            if inserted is not None:
                return Claim("new")
            row = await conn.fetchrow(
                "SELECT fingerprint, state, status, body FROM wa_idempotency WHERE scope = $1 AND key = $2",
                scope,
                key,
            )
        if row is None:  # expired and deleted by another node between the two statements
            return Claim("running")
        if row["fingerprint"] != fingerprint:
            return Claim("reused")
        if row["state"] == "running":
            return Claim("running")
        return Claim("done", int(row["status"]), bytes(row["body"]))

    async def finish(self, scope: str, key: str, status: int, body: bytes) -> None:
        await self._db.pool.execute(
            "UPDATE wa_idempotency SET state = 'done', status = $3, body = $4 WHERE scope = $1 AND key = $2",
            scope,
            key,
            status,
            body,
        )

    async def abandon(self, scope: str, key: str) -> None:
        await self._db.pool.execute("DELETE FROM wa_idempotency WHERE scope = $1 AND key = $2", scope, key)


class PostgresKeyStore:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def open(self) -> None:
        await self._db.migrate("api_keys", KEYS_MIGRATIONS)

    async def close(self) -> None:
        """The pool is the node's, closed by its owner."""

    async def all(self) -> list[KeyRecord]:
        rows = await self._db.pool.fetch(
            "SELECT id, name, key_hash, prefix, scopes, devices, created_at FROM wa_api_keys"
            " ORDER BY created_at, id"
        )
        return [
            KeyRecord(
                r["id"],
                r["name"],
                bytes(r["key_hash"]),
                r["prefix"],
                frozenset(orjson.loads(r["scopes"])),
                frozenset(orjson.loads(r["devices"])) if r["devices"] is not None else None,
                r["created_at"],
            )
            for r in rows
        ]

    async def add(self, record: KeyRecord) -> None:
        devices = orjson.dumps(sorted(record.devices)).decode() if record.devices is not None else None
        await self._db.pool.execute(
            "INSERT INTO wa_api_keys (id, name, key_hash, prefix, scopes, devices, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            record.id,
            record.name,
            record.key_hash,
            record.prefix,
            orjson.dumps(sorted(record.scopes)).decode(),
            devices,
            record.created_at,
        )

    async def remove(self, key_id: str) -> bool:
        status = await self._db.pool.execute("DELETE FROM wa_api_keys WHERE id = $1", key_id)
        return str(status) != "DELETE 0"


class PostgresTargetStore:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def open(self) -> None:
        await self._db.migrate("webhook_targets", TARGETS_MIGRATIONS)

    async def close(self) -> None:
        """The pool is the node's, closed by its owner."""

    async def all(self) -> list[WebhookTarget]:
        rows = await self._db.pool.fetch(
            "SELECT token, url, secret, events FROM wa_webhook_targets ORDER BY token"
        )
        return [
            WebhookTarget(r["token"], r["url"], r["secret"], tuple(orjson.loads(r["events"]))) for r in rows
        ]

    async def put(self, target: WebhookTarget) -> None:
        await self._db.pool.execute(
            "INSERT INTO wa_webhook_targets (token, url, secret, events) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (token) DO UPDATE SET url = excluded.url, secret = excluded.secret,"
            " events = excluded.events",
            target.token,
            target.url,
            target.secret,
            orjson.dumps(list(target.events)).decode(),
        )

    async def delete(self, token: str) -> bool:
        status = await self._db.pool.execute("DELETE FROM wa_webhook_targets WHERE token = $1", token)
        return str(status) != "DELETE 0"
