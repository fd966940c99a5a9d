"""The node's PostgreSQL pool and migrations, against a real server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import SettingsFactory
from wa_gateway.db.postgres import DatabaseUnavailable, PostgresDatabase

STEPS = (
    "CREATE TABLE widgets (id serial PRIMARY KEY, name text NOT NULL)",
    "ALTER TABLE widgets ADD COLUMN colour text NOT NULL DEFAULT 'blue'",
)


async def test_steps_run_once_even_when_nodes_migrate_at_the_same_moment(postgres_url: str) -> None:
    nodes = [PostgresDatabase(postgres_url, pool_size=2) for _ in range(3)]
    try:
        await asyncio.gather(*(db.open() for db in nodes))
        versions = await asyncio.gather(*(db.migrate("widgets", STEPS) for db in nodes))
        assert versions == [2, 2, 2]
        await nodes[0].pool.execute("INSERT INTO widgets (name) VALUES ('a')")
        assert await nodes[1].pool.fetchval("SELECT colour FROM widgets") == "blue"
        applied = await nodes[2].pool.fetch(
            "SELECT version FROM wa_schema_migrations WHERE component = 'widgets' ORDER BY version"
        )
        assert [r["version"] for r in applied] == [1, 2]
    finally:
        await asyncio.gather(*(db.close() for db in nodes))


async def test_a_later_release_applies_only_its_new_steps(postgres_url: str) -> None:
    db = PostgresDatabase(postgres_url, pool_size=1)
    await db.open()
    try:
        assert await db.migrate("widgets", STEPS[:1]) == 1
        await db.pool.execute("INSERT INTO widgets (name) VALUES ('kept')")
        assert await db.migrate("widgets", STEPS) == 2
        assert await db.pool.fetchval("SELECT name FROM widgets") == "kept"
    finally:
        await db.close()


async def test_a_failing_step_leaves_the_version_where_it_was(postgres_url: str) -> None:
    db = PostgresDatabase(postgres_url, pool_size=1)
    await db.open()
    try:
        with pytest.raises(Exception, match="nope"):
            await db.migrate("widgets", (*STEPS, "SELECT * FROM nope"))
        assert await db.pool.fetchval("SELECT to_regclass('public.widgets')") is None
        assert await db.migrate("widgets", STEPS) == 2
    finally:
        await db.close()


async def test_an_unreachable_server_is_one_clear_error(postgres_server: object) -> None:
    from tests.servers import free_port

    db = PostgresDatabase(f"postgresql://postgres@127.0.0.1:{free_port()}/x", pool_size=1)
    with pytest.raises(DatabaseUnavailable, match="cannot connect to DATABASE_URL"):
        await db.open()


async def test_the_gateway_opens_the_pool_when_database_url_is_set(
    postgres_url: str, aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    from wa_gateway import keys
    from wa_gateway.app import create_app

    settings = make_settings(DATABASE_URL=postgres_url, DATABASE_POOL_SIZE=3)
    app = create_app(settings)
    client = await aiohttp_client(app)
    database = app[keys.DATABASE_KEY]
    assert database is not None and database.pool_size == 3
    # Every durable store lives in the database now, none in DATA_DIR (docs/storage.md).
    rows = await database.pool.fetch("SELECT component FROM wa_schema_migrations")
    # The worker's sandbox store migrates on its own connection, maybe not yet.
    components = {r["component"] for r in rows} - {"sandbox"}
    stores = {"api_keys", "contacts", "idempotency", "webhook_targets"}
    assert components == stores | {"cluster", "cluster_frames", "cluster_sessions"}
    assert (await client.get("/health")).status == 200
    created = await asyncio.to_thread(lambda: sorted(p.name for p in settings.data_dir.iterdir()))
    # The worker's own files (its event journal, the sandbox's network) stay in DATA_DIR.
    assert not {"keys.db", "idempotency.db", "webhook_targets.db", "webhooks.db"} & set(created)
    assert "event-journal.log" in created


async def test_without_database_url_nothing_connects(
    aiohttp_client: Any, make_settings: SettingsFactory
) -> None:
    from wa_gateway import keys
    from wa_gateway.app import create_app

    app = create_app(make_settings())
    await aiohttp_client(app)
    assert app[keys.DATABASE_KEY] is None
