"""Where scoped keys live: a small interface, and its sqlite implementation in DATA_DIR/keys.db.

Only the SHA-256 of a key is stored: keys are 256 random bits, so a fast hash is as safe as a slow one
(there is nothing to brute-force), and the plain key is shown once, when it is created.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import orjson

from wa_gateway.db.sqlite import SqliteDatabase
from wa_gateway.db.sqlite_backed import SqliteBacked
from wa_gateway.lifecycle import Resource

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


class KeyStore(Resource, Protocol):
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


class SqliteKeyStore(SqliteBacked):
    def __init__(self, path: Path) -> None:
        super().__init__(SqliteDatabase(path, (_SCHEMA,), name="keys-db"))

    async def all(self) -> list[KeyRecord]:
        def job(db: sqlite3.Connection) -> list[KeyRecord]:
            return [_row(r) for r in db.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, id")]

        return await self._db.read(job)

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
        await self._db.write(
            lambda db: db.execute(f"INSERT INTO api_keys ({_COLUMNS}) VALUES (?,?,?,?,?,?,?)", values)
        )

    async def remove(self, key_id: str) -> bool:
        def job(db: sqlite3.Connection) -> bool:
            return db.execute("DELETE FROM api_keys WHERE id = ?", (key_id,)).rowcount > 0

        return await self._db.write(job)
