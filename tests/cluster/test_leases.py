"""Device leases against a real PostgreSQL server, with one injected clock for every node (milliseconds)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from tests.servers import PostgresServer
from wa_gateway.clock import ManualClock
from wa_gateway.cluster.leases import LeaseKeeper
from wa_gateway.cluster.store import LeaseStore
from wa_gateway.db.postgres import PostgresDatabase

TTL = 15.0


@dataclass
class Node:
    keeper: LeaseKeeper
    database: PostgresDatabase
    store: LeaseStore
    started: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    # Seconds left on the lease in the database when the device was stopped.
    left_at_stop: list[float] = field(default_factory=list)


NodeFactory = Callable[[str], Awaitable[Node]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def make_node(postgres_url: str, clock: ManualClock) -> AsyncIterator[NodeFactory]:
    nodes: list[Node] = []

    async def factory(name: str) -> Node:
        database = PostgresDatabase(postgres_url, pool_size=2)
        await database.open()
        store = LeaseStore(database)
        await store.open()
        node: Node

        async def started(token: str) -> None:
            node.started.append(token)

        async def stopped(token: str) -> None:
            node.stopped.append(token)
            lease = await observer.lease(token)
            assert lease is not None
            node.left_at_stop.append(lease[0].expires_at - clock.time())

        keeper = LeaseKeeper(
            store,
            node_id=name,
            node_url=f"http://{name}.test",
            ttl=TTL,
            clock=clock,
            on_acquired=started,
            on_lost=stopped,
        )
        node = Node(keeper, database, store)
        nodes.append(node)
        return node

    observer_db = PostgresDatabase(postgres_url, pool_size=2)
    await observer_db.open()
    observer = LeaseStore(observer_db)
    await observer.open()
    try:
        yield factory
    finally:
        for node in nodes:
            await node.keeper.stop()
            await node.database.close()
        await observer_db.close()


async def settle(*nodes: Node) -> None:
    """Let the hook tasks a round spawned run to their end."""
    for node in nodes:
        await asyncio.gather(*node.keeper._hooks)


async def test_one_owner_at_a_time_and_the_generation_grows_on_every_takeover(make_node: NodeFactory) -> None:
    a, b = await make_node("a"), await make_node("b")
    assert await a.keeper.claim("111111111") is True
    assert await b.keeper.claim("111111111") is False
    assert a.keeper.generation("111111111") == 1 and not b.keeper.holds("111111111")
    await a.keeper.stop()
    await b.keeper.tick()
    assert b.keeper.generation("111111111") == 2
    await b.keeper.stop()
    await a.keeper.tick()
    assert a.keeper.generation("111111111") == 3


async def test_a_dead_nodes_lease_moves_only_after_the_ttl(
    make_node: NodeFactory, clock: ManualClock
) -> None:
    a, b = await make_node("a"), await make_node("b")
    await a.keeper.claim("222222222")
    await b.keeper.tick()
    # "a" never runs another round from now on: it died.
    clock.advance(TTL - 0.5)
    await b.keeper.tick()
    assert not b.keeper.holds("222222222")
    clock.advance(0.5)
    await b.keeper.tick()
    await settle(b)
    assert b.keeper.generation("222222222") == 2 and b.started == ["222222222"]


async def test_renewal_keeps_the_device(make_node: NodeFactory, clock: ManualClock) -> None:
    a, b = await make_node("a"), await make_node("b")
    await a.keeper.claim("333333333")
    for _ in range(9):
        clock.advance(TTL / 3)
        await a.keeper.tick()
        await b.keeper.tick()
    assert a.keeper.holds("333333333") and a.stopped == []
    assert a.keeper.generation("333333333") == 1  # a renewal is not a takeover
    assert not b.keeper.holds("333333333")


async def test_an_owner_cut_off_from_the_database_stops_the_device_before_the_lease_expires(
    clock: ManualClock,
) -> None:
    server = PostgresServer()  # its own server, to cut this node off without touching the other tests
    try:
        server.start()
        url = server.create_database("cut")
        database = PostgresDatabase(url, pool_size=2)
        await database.open()
        stopped: list[tuple[str, float]] = []

        async def on_lost(token: str) -> None:
            stopped.append((token, clock.monotonic()))

        async def ignore(token: str) -> None:
            return None

        keeper = LeaseKeeper(
            LeaseStore(database),
            node_id="a",
            node_url="http://a.test",
            ttl=TTL,
            clock=clock,
            on_acquired=ignore,
            on_lost=on_lost,
        )
        await keeper._store.open()
        taken_at = clock.monotonic()
        await keeper.claim("444444444")
        server.stop()
        clock.advance(TTL / 3)
        await keeper.tick()
        assert keeper.holds("444444444") and not keeper.reachable
        clock.advance(TTL / 3)
        assert keeper.fence_expired() == ["444444444"]
        assert not keeper.holds("444444444") and keeper.generation("444444444") is None
        await asyncio.gather(*keeper._hooks)
        # Stopped with a third of the TTL still on the lease: no other node could have taken it yet.
        assert stopped == [("444444444", taken_at + TTL * 2 / 3)]
        await keeper.stop()
        await database.close()
    finally:
        server.close()


async def test_the_fence_runs_on_its_own_when_a_round_hangs(
    make_node: NodeFactory, clock: ManualClock
) -> None:
    a = await make_node("a")
    await a.keeper._store.open()
    await a.keeper.claim("454545454")
    fence = asyncio.create_task(a.keeper._fence_loop())
    try:
        for _ in range(7):  # no renewal round runs: the fence point (2/3 of the TTL) is 8 checks away
            clock.advance(TTL / 12)
            await asyncio.sleep(0)
        assert a.keeper.holds("454545454")
        clock.advance(TTL / 12)
        await asyncio.sleep(0)
        assert not a.keeper.holds("454545454")
    finally:
        fence.cancel()
    await settle(a)
    assert a.stopped == ["454545454"]


async def test_a_lease_someone_else_took_is_stopped_at_the_next_round(
    make_node: NodeFactory, clock: ManualClock
) -> None:
    a, b = await make_node("a"), await make_node("b")
    await a.keeper.claim("555555555")
    clock.advance(TTL)  # "a" was paused (GC, a stopped VM) past its lease
    await b.keeper.tick()
    assert b.keeper.generation("555555555") == 2
    await a.keeper.tick()
    await settle(a)
    assert a.stopped == ["555555555"] and not a.keeper.holds("555555555")


async def test_free_devices_are_spread_over_the_live_nodes(make_node: NodeFactory) -> None:
    a, b = await make_node("a"), await make_node("b")
    await a.keeper.tick()
    await b.keeper.tick()
    for token in ("600000001", "600000002", "600000003", "600000004"):
        await a.store.register(token, "a")
    await a.keeper.tick()
    await b.keeper.tick()
    assert len(a.keeper.owned()) == 2 and len(b.keeper.owned()) == 2
    assert set(a.keeper.owned()).isdisjoint(b.keeper.owned())


async def test_sigterm_releases_so_another_node_takes_over_at_once(make_node: NodeFactory) -> None:
    a, b = await make_node("a"), await make_node("b")
    await a.keeper.tick()
    await a.keeper.claim("700000001")
    stopped: list[str] = []

    async def stop_device(token: str) -> None:
        stopped.append(token)

    await a.keeper.stop(stop_device)
    assert stopped == ["700000001"]
    await b.keeper.tick()  # same instant: no TTL to wait for
    assert b.keeper.holds("700000001")
    nodes = {n.id: n.stopped for n in await b.store.nodes()}
    assert nodes == {"a": True, "b": False}


async def test_a_stream_replaced_node_never_takes_the_device_back_by_itself(make_node: NodeFactory) -> None:
    a, b = await make_node("a"), await make_node("b")
    await a.keeper.claim("800000001")
    await a.keeper.stream_replaced("800000001")
    assert not a.keeper.holds("800000001")
    await a.keeper.tick()
    assert not a.keeper.holds("800000001")
    await b.keeper.tick()
    assert b.keeper.generation("800000001") == 2
    await b.keeper.stop()
    await a.keeper.tick()
    assert not a.keeper.holds("800000001")
    # A connect asked for on "a" (POST /devices) lifts the mark.
    assert await a.keeper.claim("800000001") is True


async def test_a_node_restarted_after_a_crash_takes_its_own_leases_back_at_once(
    make_node: NodeFactory, clock: ManualClock
) -> None:
    crashed = await make_node("a")
    await crashed.keeper.claim("900000001")
    # The same NODE_ID starts again (kill -9, then a restart): no TTL to wait for.
    restarted = await make_node("a")
    await restarted.keeper.tick()
    await settle(restarted)
    assert restarted.keeper.generation("900000001") == 2 and restarted.started == ["900000001"]


async def test_a_device_paired_here_is_never_taken_by_another_nodes_round_in_between(
    make_node: NodeFactory,
) -> None:
    a, b = await make_node("a"), await make_node("b")
    await a.keeper.tick()
    await b.keeper.tick()
    tokens = [f"91000000{i:02d}" for i in range(20)]

    async def rounds() -> None:
        for _ in range(20):
            await b.keeper.tick()

    claims, _ = await asyncio.gather(asyncio.gather(*(a.keeper.claim(t) for t in tokens)), rounds())
    assert claims == [True] * len(tokens)
    assert b.keeper.owned() == []


async def until_waiting(clock: ManualClock, sleepers: int, within: float = 10.0) -> None:
    """Until every task of the test waits on the clock again (its database calls are done)."""
    deadline = asyncio.get_running_loop().time() + within
    while clock.sleepers < sleepers:
        assert asyncio.get_running_loop().time() < deadline, "the rounds never went back to waiting"
        await asyncio.sleep(0.001)


async def test_rounds_that_answer_late_still_renew_before_the_fence_point(
    make_node: NodeFactory, clock: ManualClock
) -> None:
    a = await make_node("a")
    await a.keeper.claim("565656565")
    interval = a.keeper.interval
    heartbeat = a.store.heartbeat

    async def late_heartbeat(node: str, url: str, now: float) -> None:
        # The database answers each round 0.7 of an interval late: slow, but well inside the TTL.
        await clock.sleep(0.7 * interval)
        await heartbeat(node, url, now)

    a.store.heartbeat = late_heartbeat  # type: ignore[method-assign]
    tasks = [asyncio.create_task(a.keeper._renew_loop()), asyncio.create_task(a.keeper._fence_loop())]
    try:
        await until_waiting(clock, 2)
        for _ in range(6 * 20):  # six intervals, in steps of a twentieth
            clock.advance(interval / 20)
            await until_waiting(clock, 2)
        assert a.keeper.holds("565656565") and a.stopped == []
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
