"""Where idempotency keys live: a small interface, and its sqlite implementation.

The sqlite file is ``DATA_DIR/idempotency.db``.

A key is scoped by (API key fingerprint, device token). A row is ``running`` while its first request runs and
``done`` with the stored response afterwards; rows older than the retention are treated as absent.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TypeVar

BUSY_TIMEOUT_MS: Final = 5000
_T = TypeVar("_T")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope       TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('running', 'done')),
    owner       TEXT    NOT NULL,
    status      INTEGER,
    body        BLOB,
    created_at  REAL    NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_age ON idempotency_keys (created_at);
"""

Outcome = Literal["new", "running", "reused", "done", "orphaned"]


@dataclass(frozen=True, slots=True)
class Claim:
    """What ``begin`` found: ``new`` (run it), ``done`` (replay ``status``/``body``), ``running`` (another
    request of this process has it), ``orphaned`` (a request of an earlier process had it when that process
    stopped), ``reused`` (same key, different request)."""

    outcome: Outcome
    status: int = 0
    body: bytes = b""


class IdempotencyStore(Protocol):
    async def begin(
        self, scope: str, key: str, fingerprint: str, now: float, expired_before: float
    ) -> Claim: ...

    async def finish(self, scope: str, key: str, status: int, body: bytes) -> None: ...

    async def abandon(self, scope: str, key: str) -> None: ...

    async def close(self) -> None: ...


class _SqliteFile:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)

    def begin(
        self, scope: str, key: str, fingerprint: str, owner: str, now: float, expired_before: float
    ) -> Claim:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (expired_before,))
            row = self._conn.execute(
                "SELECT fingerprint, state, owner, status, body FROM idempotency_keys"
                " WHERE scope = ? AND key = ?",
                (scope, key),
            ).fetchone()
            if row is None:
                self._conn.execute(
                    "INSERT INTO idempotency_keys (scope, key, fingerprint, state, owner, created_at)"
                    " VALUES (?, ?, ?, 'running', ?, ?)",
                    (scope, key, fingerprint, owner, now),
                )
                claim = Claim("new")
            elif row[0] != fingerprint:
                claim = Claim("reused")
            elif row[1] == "done":
                claim = Claim("done", int(row[3]), bytes(row[4]))
            else:
                claim = Claim("running" if row[2] == owner else "orphaned")
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return claim

    def finish(self, scope: str, key: str, status: int, body: bytes) -> None:
        self._conn.execute(
            "UPDATE idempotency_keys SET state = 'done', status = ?, body = ? WHERE scope = ? AND key = ?",
            (status, body, scope, key),
        )

    def abandon(self, scope: str, key: str) -> None:
        self._conn.execute("DELETE FROM idempotency_keys WHERE scope = ? AND key = ?", (scope, key))

    def close(self) -> None:
        self._conn.close()


class SqliteIdempotencyStore:
    """``IdempotencyStore`` on sqlite, on one dedicated thread (sqlite never runs on the loop thread)."""

    def __init__(self, path: Path, owner: str) -> None:
        self._path = path
        self._owner = owner
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="idempotency")
        self._file: _SqliteFile | None = None

    async def open(self) -> None:
        self._file = await self._run(_SqliteFile, self._path)

    async def begin(self, scope: str, key: str, fingerprint: str, now: float, expired_before: float) -> Claim:
        result: Claim = await self._run(
            self._db().begin, scope, key, fingerprint, self._owner, now, expired_before
        )
        return result

    async def finish(self, scope: str, key: str, status: int, body: bytes) -> None:
        await self._run(self._db().finish, scope, key, status, body)

    async def abandon(self, scope: str, key: str) -> None:
        await self._run(self._db().abandon, scope, key)

    async def close(self) -> None:
        if self._file is not None:
            await self._run(self._file.close)
            self._file = None
        self._executor.shutdown(wait=False)

    def _db(self) -> _SqliteFile:
        if self._file is None:
            raise RuntimeError("idempotency store is not open")
        return self._file

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
