"""Where idempotency keys are kept: a small interface, and its sqlite implementation in DATA_DIR.

One thread owns the connection, so sqlite never runs on the event loop. Rows are scoped by a hash of the API
key and the device token, and forgotten after ``ttl_s`` (24 h), as the IETF ``Idempotency-Key`` draft
(draft-ietf-httpapi-idempotency-key-header) lets a server choose.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol

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


@dataclass(frozen=True)
class Claim:
    """What ``begin`` found: ``new`` (the caller runs the request), ``running``, ``reused`` (same key,
    other request) or ``done`` with the stored response."""

    outcome: Literal["new", "running", "reused", "done"]
    status: int = 0
    body: bytes = b""


class IdempotencyStore(Protocol):
    async def begin(self, scope: str, key: str, fingerprint: str, now: float) -> Claim: ...
    async def finish(self, scope: str, key: str, status: int, body: bytes) -> None: ...
    async def abandon(self, scope: str, key: str) -> None: ...
    async def close(self) -> None: ...


class SqliteIdempotencyStore:
    def __init__(self, path: Path, ttl_s: float = TTL_S) -> None:
        self._path = path
        self._ttl_s = ttl_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="idempotency")
        self._db: sqlite3.Connection | None = None

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            db = sqlite3.connect(self._path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=5000")
            db.executescript(_SCHEMA)
            # Requests that were running when the last process ended can never finish; dropping them lets
            # their retries run (the README says that such a retry may send again).
            db.execute("DELETE FROM idempotency WHERE state = 'running'")
            self._db = db
        return self._db

    async def open(self) -> None:
        await self._call(self._conn)

    def _begin(self, scope: str, key: str, fingerprint: str, now: float) -> Claim:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
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
                claim = Claim("new")
            elif row[0] != fingerprint:
                claim = Claim("reused")
            elif row[1] == "running":
                claim = Claim("running")
            else:
                claim = Claim("done", int(row[2]), bytes(row[3]))
            db.execute("COMMIT")
            return claim
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def begin(self, scope: str, key: str, fingerprint: str, now: float) -> Claim:
        claim: Claim = await self._call(self._begin, scope, key, fingerprint, now)
        return claim

    def _finish(self, scope: str, key: str, status: int, body: bytes) -> None:
        self._conn().execute(
            "UPDATE idempotency SET state = 'done', status = ?, body = ? WHERE scope = ? AND key = ?",
            (status, body, scope, key),
        )

    async def finish(self, scope: str, key: str, status: int, body: bytes) -> None:
        await self._call(self._finish, scope, key, status, body)

    def _abandon(self, scope: str, key: str) -> None:
        self._conn().execute("DELETE FROM idempotency WHERE scope = ? AND key = ?", (scope, key))

    async def abandon(self, scope: str, key: str) -> None:
        await self._call(self._abandon, scope, key)

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def close(self) -> None:
        await self._call(self._close)
        self._executor.shutdown(wait=True)
