"""Per-device webhook targets: a small interface and its sqlite implementation in DATA_DIR.

The secret is stored as given: the gateway needs it to sign every delivery, exactly like WEBHOOK_SECRET.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fnmatch
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol, TypeVar

import orjson

T = TypeVar("T")

TARGETS_FILE: Final = "webhook_targets.db"
_SCHEMA: Final = """CREATE TABLE IF NOT EXISTS webhook_targets (
    token TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL
)"""


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    token: str
    url: str
    secret: str
    events: tuple[str, ...]  # name patterns; ``*`` matches any run of characters

    def wants(self, event: str) -> bool:
        return any(fnmatch.fnmatchcase(event, pattern) for pattern in self.events)


class TargetStore(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def all(self) -> list[WebhookTarget]: ...
    async def put(self, target: WebhookTarget) -> None: ...
    async def delete(self, token: str) -> bool: ...


class SqliteTargetStore:
    """One connection owned by one worker thread, so sqlite never runs on the event loop."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None

    async def _run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        assert self._executor is not None, "store is not open"
        db = self._db
        assert db is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: job(db))

    def _connect(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(_SCHEMA)
        self._db = db

    async def open(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="webhook-targets")
        await asyncio.get_running_loop().run_in_executor(self._executor, self._connect)

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._db is not None:
            await self._run(lambda db: db.close())
            self._db = None
        self._executor.shutdown(wait=True)
        self._executor = None

    async def all(self) -> list[WebhookTarget]:
        def job(db: sqlite3.Connection) -> list[WebhookTarget]:
            rows: Sequence[tuple[str, str, str, str]] = db.execute(
                "SELECT token, url, secret, events FROM webhook_targets ORDER BY token"
            ).fetchall()
            return [WebhookTarget(t, u, s, tuple(orjson.loads(e))) for t, u, s, e in rows]

        return await self._run(job)

    async def put(self, target: WebhookTarget) -> None:
        values = (target.token, target.url, target.secret, orjson.dumps(list(target.events)).decode())
        await self._run(
            lambda db: db.execute(
                "INSERT INTO webhook_targets (token, url, secret, events) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (token) DO UPDATE SET url = excluded.url, secret = excluded.secret,"
                " events = excluded.events",
                values,
            )
        )

    async def delete(self, token: str) -> bool:
        def job(db: sqlite3.Connection) -> bool:
            return db.execute("DELETE FROM webhook_targets WHERE token = ?", (token,)).rowcount > 0

        return await self._run(job)
