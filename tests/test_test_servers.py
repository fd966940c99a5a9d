"""The PostgreSQL and NATS servers the cluster tests run against start, answer, and stop."""

from __future__ import annotations

import asyncio

import asyncpg
import nats

from tests.servers import NatsServer, PostgresServer


async def test_postgres_databases_are_separate_and_writable(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("CREATE TABLE t (v int)")
        await conn.execute("INSERT INTO t VALUES (41), (1)")
        assert await conn.fetchval("SELECT sum(v) FROM t") == 42
    finally:
        await conn.close()
    other = await asyncpg.connect(postgres_server.url())
    try:
        assert await other.fetchval("SELECT to_regclass('public.t')") is None
    finally:
        await other.close()


async def test_nats_server_has_jetstream(nats_server: NatsServer) -> None:
    client = await nats.connect(nats_server.url)
    try:
        js = client.jetstream()
        await js.add_stream(name="SMOKE", subjects=["smoke.>"])
        ack = await js.publish("smoke.a", b"x", headers={"Nats-Msg-Id": "one"})
        again = await js.publish("smoke.a", b"x", headers={"Nats-Msg-Id": "one"})
        assert again.duplicate and again.seq == ack.seq
    finally:
        await client.close()


async def test_a_stopped_postgres_refuses_then_restarts_on_its_port() -> None:
    server = await asyncio.to_thread(PostgresServer)
    try:
        await asyncio.to_thread(server.start)
        port = server.port
        await asyncio.to_thread(server.stop)
        try:
            stale = await asyncpg.connect(server.url(), timeout=2)
            await stale.close()
        except OSError:
            pass
        else:
            raise AssertionError("a stopped server accepted a connection")
        await asyncio.to_thread(server.start)
        assert server.port == port
        conn = await asyncpg.connect(server.url())
        await conn.close()
    finally:
        await asyncio.to_thread(server.close)
