"""Where idempotency keys are kept: a small interface, and its sqlite implementation in DATA_DIR.

One ``SqliteDatabase`` thread owns the file, so sqlite never runs on the event loop. Rows are scoped by a
hash of the API key and the device token, and forgotten after ``ttl_s`` (24 h), as the IETF
``Idempotency-Key`` draft (draft-ietf-httpapi-idempotency-key-header) lets a server choose.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

from wa_gateway.db.sqlite import SqliteDatabase

TTL_S: Final = 24 * 3600.0

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    status INTEGER,
    body BLOB,
    created REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created);
"""
# Requests that were running when the last process ended can never finish; dropping them at start lets
# their retries run (the README says that such a retry may send again).
_FORGET_RUNNING: Final = "DELETE FROM idempotency WHERE state = 'running'"


@dataclass(frozen=True)
class Claim:
    """What ``begin`` found: ``new`` (the caller runs the request), ``running``, ``reused`` (same key,
    other request) or ``done`` with the stored response."""

    outcome: Literal["new", "running", "reused", "done"]
    status: int = 0
    body: bytes = b""


class IdempotencyStore(Protocol):
    async def open(self) -> None: ...
    async def begin(self, scope: str, key: str, fingerprint: str, now: float) -> Claim: ...
    async def finish(self, scope: str, key: str, status: int, body: bytes) -> None: ...
    async def abandon(self, scope: str, key: str) -> None: ...
    async def close(self) -> None: ...


class SqliteIdempotencyStore:
    def __init__(self, path: Path, ttl_s: float = TTL_S) -> None:
        self._ttl_s = ttl_s
        self._db = SqliteDatabase(path, (_SCHEMA,), name="idempotency")

    async def open(self) -> None:
        await self._db.write(lambda db: db.execute(_FORGET_RUNNING))

    async def close(self) -> None:
        await self._db.close()

    def _begin(self, db: sqlite3.Connection, scope: str, key: str, fingerprint: str, now: float) -> Claim:
        db.execute("DELETE FROM idempotency WHERE created < ?", (now - self._ttl_s,))
        row = db.execute(
            "SELECT fingerprint, state, status, body FROM idempotency WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        if row is None:
            db.execute(
                "INSERT INTO idempotency (scope, key, fingerprint, state, created) "
                "VALUES (?, ?, ?, 'running', ?)",
                (scope, key, fingerprint, now),
            )
            return Claim("new")
        if row[0] != fingerprint:
            return Claim("reused")
        if row[1] == "running":
            return Claim("running")
        return Claim("done", int(row[2]), bytes(row[3]))

    async def begin(self, scope: str, key: str, fingerprint: str, now: float) -> Claim:
        return await self._db.write(lambda db: self._begin(db, scope, key, fingerprint, now))

    async def finish(self, scope: str, key: str, status: int, body: bytes) -> None:
        await self._db.write(
            lambda db: db.execute(
                "UPDATE idempotency SET state = 'done', status = ?, body = ? WHERE scope = ? AND key = ?",
                (status, body, scope, key),
            )
        )

    async def abandon(self, scope: str, key: str) -> None:
        await self._db.write(
            lambda db: db.execute("DELETE FROM idempotency WHERE scope = ? AND key = ?", (scope, key))
        )
