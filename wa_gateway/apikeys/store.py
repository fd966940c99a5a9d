"""Where scoped keys live: a small interface, and its sqlite implementation in DATA_DIR/keys.db.

Only the SHA-256 of a key is stored: keys are 256 random bits, so a fast hash is as safe as a slow one
(there is nothing to brute-force), and the plain key is shown once, when it is created.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol, TypeVar

import orjson

T = TypeVar("T")

KEYS_FILE: Final = "keys.db"
_SCHEMA: Final = """CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    scopes TEXT NOT NULL,
    devices TEXT,
    created_at TEXT NOT NULL
)"""
_COLUMNS: Final = "id, name, key_hash, prefix, scopes, devices, created_at"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    name: str
    key_hash: bytes
    prefix: str  # the key's first characters, so an operator can tell keys apart
    scopes: frozenset[str]
    devices: frozenset[str] | None
    created_at: str


class KeyStore(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def all(self) -> list[KeyRecord]: ...
    async def add(self, record: KeyRecord) -> None: ...
    async def remove(self, key_id: str) -> bool: ...


def _row(row: tuple[str, str, bytes, str, str, str | None, str]) -> KeyRecord:
    key_id, name, key_hash, prefix, scopes, devices, created_at = row
    return KeyRecord(
        key_id,
        name,
        key_hash,
        prefix,
        frozenset(orjson.loads(scopes)),
        frozenset(orjson.loads(devices)) if devices is not None else None,
        created_at,
    )


class SqliteKeyStore:
    """One connection owned by one worker thread, so sqlite never runs on the event loop."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None

    async def _run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        assert self._executor is not None, "store is not open"
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: job(self._conn()))

    def _conn(self) -> sqlite3.Connection:
        assert self._db is not None
        return self._db

    def _connect(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(_SCHEMA)
        self._db = db

    async def open(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="keys-db")
        await asyncio.get_running_loop().run_in_executor(self._executor, self._connect)

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._db is not None:
            await self._run(lambda db: db.close())
            self._db = None
        self._executor.shutdown(wait=True)
        self._executor = None

    async def all(self) -> list[KeyRecord]:
        def job(db: sqlite3.Connection) -> list[KeyRecord]:
            return [_row(r) for r in db.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, id")]

        return await self._run(job)

    async def add(self, record: KeyRecord) -> None:
        devices = orjson.dumps(sorted(record.devices)).decode() if record.devices is not None else None
        values = (
            record.id,
            record.name,
            record.key_hash,
            record.prefix,
            orjson.dumps(sorted(record.scopes)).decode(),
            devices,
            record.created_at,
        )
        await self._run(
            lambda db: db.execute(f"INSERT INTO api_keys ({_COLUMNS}) VALUES (?,?,?,?,?,?,?)", values)
        )

    async def remove(self, key_id: str) -> bool:
        def job(db: sqlite3.Connection) -> bool:
            return db.execute("DELETE FROM api_keys WHERE id = ?", (key_id,)).rowcount > 0

        return await self._run(job)
