"""One bounded asyncpg pool per node, and versioned schema migrations that several nodes may run at once.

Each component (contacts, outbox, leases, ...) owns its tables and a list of migration steps; step N runs
once, in a transaction that holds an advisory lock named after the component, so two nodes starting at the
same moment never apply a step twice (PostgreSQL manual, "Advisory Locks").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Final

import asyncpg

MIGRATIONS_TABLE: Final = "wa_schema_migrations"
CONNECT_TIMEOUT_SECONDS: Final = 10.0
_CREATE_MIGRATIONS: Final = f"""
CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
    component text NOT NULL,
    version integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or refused the node's credentials."""


class PostgresDatabase:
    """The node's pool. ``open`` before any store uses it; ``close`` after the last one is done."""

    def __init__(self, url: str, *, pool_size: int) -> None:
        self._url = url
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    @property
    def pool_size(self) -> int:
        return self._pool_size

    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            self._pool = await asyncpg.create_pool(
                self._url, min_size=1, max_size=self._pool_size, timeout=CONNECT_TIMEOUT_SECONDS
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise DatabaseUnavailable(f"cannot connect to DATABASE_URL: {exc}") from exc
        async with self._pool.acquire() as conn, conn.transaction():
            # CREATE TABLE IF NOT EXISTS races with itself across sessions (a unique violation on pg_type).
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", MIGRATIONS_TABLE)
            await conn.execute(_CREATE_MIGRATIONS)

    @contextlib.asynccontextmanager
    async def connection(
        self, within: float
    ) -> AsyncIterator[asyncpg.pool.PoolConnectionProxy[asyncpg.Record]]:
        """A pooled connection whose acquire, use and release are bounded by ``within``; pass it to each
        query too. An outer timeout alone is not enough on a server that stopped answering: the pool
        returns a connection whose query was cancelled only once the server confirmed the cancel, and
        without a release timeout it waits for that forever."""
        async with asyncio.timeout(within * 2), self.pool.acquire(timeout=within) as conn:
            yield conn

    async def close(self, within: float | None = None) -> None:
        """Close gracefully; past ``within`` seconds (a server that stopped answering) cut the connections."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            async with asyncio.timeout(within):
                await pool.close()
        except TimeoutError:
            pool.terminate()

    async def migrate(self, component: str, steps: Sequence[str]) -> int:
        """Apply the steps of ``component`` not applied yet, in order; returns the schema version reached."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))", f"{MIGRATIONS_TABLE}:{component}"
            )
            done = await conn.fetchval(
                f"SELECT coalesce(max(version), 0) FROM {MIGRATIONS_TABLE} WHERE component = $1", component
            )
            version = int(done)
            for number, sql in enumerate(steps, start=1):
                if number <= version:
                    continue
                await conn.execute(sql)
                await conn.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (component, version) VALUES ($1, $2)", component, number
                )
                version = number
            return version
