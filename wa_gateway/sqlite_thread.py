"""One sqlite connection owned by one worker thread, so sqlite never runs on the event loop.

The small stores (API keys, webhook targets, idempotency keys) share it; each keeps only its SQL.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class SqliteThread:
    def __init__(self, path: Path, schema: str, thread_name: str) -> None:
        self._path = path
        self._schema = schema
        self._thread_name = thread_name
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> None:
        self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(self._schema)
        self._db = db

    async def open(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=self._thread_name)
        await asyncio.get_running_loop().run_in_executor(self._executor, self._connect)

    async def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job`` with the connection on the store's thread."""
        assert self._executor is not None, "store is not open"
        db = self._db
        assert db is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: job(db))

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._db is not None:
            await self.run(lambda db: db.close())
            self._db = None
        self._executor.shutdown(wait=True)
        self._executor = None
