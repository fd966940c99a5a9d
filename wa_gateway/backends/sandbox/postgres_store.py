"""The sandbox's simulated network in PostgreSQL (a ``SandboxStore``): every node's worker sees one network.

The worker talks to the database itself, on a small pool of its own; the URL comes in its config from the
gateway (DATABASE_URL), never from its environment. Same rows as the sqlite files (docs/storage.md).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Final

import orjson

from wa_gateway.backends.sandbox.store import (
    PendingSends,
    SentMessage,
    SessionRecord,
    sent_from_row,
    sent_message_json,
)
from wa_gateway.db.postgres import PostgresDatabase

# A worker runs one command at a time per device and few at once: two connections are plenty.
POOL_SIZE: Final = 2
MIGRATIONS: Final = (
    """
CREATE TABLE wa_sandbox_sessions (
    token text PRIMARY KEY,
    jid text NOT NULL DEFAULT '',
    push_name text NOT NULL DEFAULT '',
    paired_at double precision
);
CREATE TABLE wa_sandbox_sent (
    seq bigserial PRIMARY KEY,
    token text NOT NULL REFERENCES wa_sandbox_sessions ON DELETE CASCADE,
    id text NOT NULL,
    recipient text NOT NULL,
    text text NOT NULL,
    timestamp double precision NOT NULL,
    presence text NOT NULL,
    details text NOT NULL DEFAULT '{}'
);
CREATE TABLE wa_sandbox_read (
    seq bigserial PRIMARY KEY,
    token text NOT NULL REFERENCES wa_sandbox_sessions ON DELETE CASCADE,
    message_id text NOT NULL
);
CREATE TABLE wa_sandbox_presence (
    seq bigserial PRIMARY KEY,
    token text NOT NULL REFERENCES wa_sandbox_sessions ON DELETE CASCADE,
    recipient text,
    state text NOT NULL,
    at double precision NOT NULL
);
CREATE TABLE wa_sandbox_rejected_calls (
    seq bigserial PRIMARY KEY,
    token text NOT NULL REFERENCES wa_sandbox_sessions ON DELETE CASCADE,
    caller text NOT NULL,
    call_id text NOT NULL,
    at double precision NOT NULL
);
CREATE TABLE wa_sandbox_groups (
    token text NOT NULL REFERENCES wa_sandbox_sessions ON DELETE CASCADE,
    position integer NOT NULL,
    jid text NOT NULL,
    info text NOT NULL,
    PRIMARY KEY (token, position)
);
CREATE TABLE wa_sandbox_numbers (
    phone text PRIMARY KEY,
    registered boolean NOT NULL
);
CREATE INDEX wa_sandbox_sent_token ON wa_sandbox_sent (token, seq);
""",
    # A keyed send is looked up by its id so a retry finds the message it already made (docs/durability.md).
    "CREATE INDEX wa_sandbox_sent_id ON wa_sandbox_sent (token, id)",
)


class PostgresSandboxStore:
    def __init__(self, url: str, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._db = PostgresDatabase(url, pool_size=POOL_SIZE)
        self._pending = PendingSends()
        # The pool has two connections: inserts of queued sends take turns so their rows keep call order.
        self._sent_order = asyncio.Lock()

    async def open(self) -> None:
        await self._db.open()
        await self._db.migrate("sandbox", MIGRATIONS)

    async def close(self) -> None:
        await self._db.close()

    async def _ensure(self, token: str) -> None:
        await self._db.pool.execute(
            "INSERT INTO wa_sandbox_sessions (token) VALUES ($1) ON CONFLICT (token) DO NOTHING", token
        )

    async def session_exists(self, token: str) -> bool:
        found = await self._db.pool.fetchval("SELECT 1 FROM wa_sandbox_sessions WHERE token = $1", token)
        return found is not None

    async def load_session(self, token: str) -> SessionRecord | None:
        row = await self._db.pool.fetchrow(
            "SELECT jid, push_name FROM wa_sandbox_sessions WHERE token = $1", token
        )
        return None if row is None else SessionRecord(token, row["jid"], row["push_name"])

    async def create_session(self, token: str) -> SessionRecord:
        await self._ensure(token)
        record = await self.load_session(token)
        assert record is not None
        return record

    async def save_pairing(self, token: str, jid: str, push_name: str, paired_at: float) -> None:
        await self._db.pool.execute(
            "INSERT INTO wa_sandbox_sessions (token, jid, push_name, paired_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (token) DO UPDATE SET jid = $2, push_name = $3, paired_at = $4",
            token,
            jid,
            push_name,
            paired_at,
        )

    async def add_sent(self, token: str, message: SentMessage) -> None:
        await self._ensure(token)
        await self._db.pool.execute(
            "INSERT INTO wa_sandbox_sent (token, id, recipient, text, timestamp, presence, details)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            token,
            message.id,
            message.to,
            message.text,
            message.timestamp,
            orjson.dumps(message.presence).decode(),
            orjson.dumps(dict(message.details)).decode(),
        )

    def queue_sent(self, token: str, message: SentMessage) -> asyncio.Future[None]:
        return self._pending.track(token, message, self._add_sent_in_order(token, message))

    async def _add_sent_in_order(self, token: str, message: SentMessage) -> None:
        async with self._sent_order:
            await self.add_sent(token, message)

    async def find_sent(self, token: str, message_id: str) -> SentMessage | None:
        queued = self._pending.get(token, message_id)
        if queued is not None:
            return queued
        row = await self._db.pool.fetchrow(
            "SELECT id, recipient, text, timestamp, presence, details FROM wa_sandbox_sent"
            " WHERE token = $1 AND id = $2 ORDER BY seq LIMIT 1",
            token,
            message_id,
        )
        return None if row is None else sent_from_row(*row.values())

    async def _add(self, token: str, insert: str, *values: Any) -> None:
        """One row of what the device did; ``insert`` takes the token as $1, then ``values``."""
        await self._ensure(token)
        await self._db.pool.execute(insert, token, *values)

    async def add_read(self, token: str, ids: list[str]) -> None:
        await self._add(
            token,
            "INSERT INTO wa_sandbox_read (token, message_id) SELECT $1, m FROM unnest($2::text[])"
            " WITH ORDINALITY AS r(m, n) ORDER BY n",
            ids,
        )

    async def add_presence(self, token: str, to: str | None, state: str, at: float) -> None:
        await self._add(
            token,
            "INSERT INTO wa_sandbox_presence (token, recipient, state, at) VALUES ($1, $2, $3, $4)",
            to,
            state,
            at,
        )

    async def add_rejected_call(self, token: str, caller: str, call_id: str, at: float) -> None:
        await self._add(
            token,
            "INSERT INTO wa_sandbox_rejected_calls (token, caller, call_id, at) VALUES ($1, $2, $3, $4)",
            caller,
            call_id,
            at,
        )

    async def set_groups(self, token: str, groups: list[dict[str, Any]]) -> None:
        await self._ensure(token)
        async with self._db.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM wa_sandbox_groups WHERE token = $1", token)
            await conn.executemany(
                "INSERT INTO wa_sandbox_groups (token, position, jid, info) VALUES ($1, $2, $3, $4)",
                [
                    (token, index, group["jid"], orjson.dumps(group).decode())
                    for index, group in enumerate(groups)
                ],
            )

    async def groups(self, token: str) -> list[dict[str, Any]]:
        rows = await self._db.pool.fetch(
            "SELECT info FROM wa_sandbox_groups WHERE token = $1 ORDER BY position", token
        )
        return [orjson.loads(r["info"]) for r in rows]

    async def sent_log(self, token: str) -> dict[str, Any]:
        await self._ensure(token)
        async with self._db.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            sent = await conn.fetch(
                "SELECT id, recipient, text, timestamp, presence, details FROM wa_sandbox_sent"
                " WHERE token = $1 ORDER BY seq",
                token,
            )
            read = await conn.fetch(
                "SELECT message_id FROM wa_sandbox_read WHERE token = $1 ORDER BY seq", token
            )
            presence = await conn.fetch(
                "SELECT recipient, state, at FROM wa_sandbox_presence WHERE token = $1 ORDER BY seq", token
            )
            rejected = await conn.fetch(
                "SELECT caller, call_id, at FROM wa_sandbox_rejected_calls WHERE token = $1 ORDER BY seq",
                token,
            )
        return {
            "messages": [
                sent_message_json(
                    r["id"],
                    r["recipient"],
                    r["text"],
                    r["timestamp"],
                    orjson.loads(r["presence"]),
                    orjson.loads(r["details"]),
                )
                for r in sent
            ],
            "read": [r["message_id"] for r in read],
            "presence": [{"to": r["recipient"], "state": r["state"], "at": r["at"]} for r in presence],
            "rejectedCalls": [{"from": r["caller"], "callId": r["call_id"], "at": r["at"]} for r in rejected],
        }

    async def delete_session(self, token: str) -> bool:
        status = await self._db.pool.execute("DELETE FROM wa_sandbox_sessions WHERE token = $1", token)
        return str(status) != "DELETE 0"

    async def list_sessions(self) -> list[dict[str, Any]]:
        rows = await self._db.pool.fetch("SELECT token, jid FROM wa_sandbox_sessions ORDER BY token")
        return [{"token": r["token"], "paired": bool(r["jid"])} for r in rows]

    async def set_number(self, phone: str, registered: bool) -> None:
        await self._db.pool.execute(
            "INSERT INTO wa_sandbox_numbers (phone, registered) VALUES ($1, $2)"
            " ON CONFLICT (phone) DO UPDATE SET registered = excluded.registered",
            phone,
            registered,
        )

    async def registered_numbers(self, phones: list[str]) -> dict[str, bool]:
        rows = await self._db.pool.fetch(
            "SELECT phone, registered FROM wa_sandbox_numbers WHERE phone = ANY($1::text[])",
            list(set(phones)),
        )
        known = {r["phone"]: bool(r["registered"]) for r in rows}
        return {phone: known.get(phone, True) for phone in set(phones)}
