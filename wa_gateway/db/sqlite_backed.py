"""A store kept in one sqlite file (docs/architecture.md "Storage layout"): open and closed with the file."""

from __future__ import annotations

from wa_gateway.db.sqlite import SqliteDatabase


class SqliteBacked:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()
