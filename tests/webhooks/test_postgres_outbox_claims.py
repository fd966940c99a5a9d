"""Two nodes on one PostgreSQL outbox: one dispatcher at a time per device, claims that lapse."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from wa_gateway.clock import ManualClock
from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.webhooks import WebhookOutbox
from wa_gateway.webhooks.postgres_outbox import PostgresOutboxStore

TOKEN_A = "6281111111"
TOKEN_B = "6282222222"
CLAIM_TTL_S = 30.0


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[PostgresDatabase]:
    db = PostgresDatabase(postgres_url, pool_size=4)
    await db.open()
    yield db
    await db.close()


def node(db: PostgresDatabase, name: str, clock: ManualClock, target: str = "") -> WebhookOutbox:
    return WebhookOutbox(
        PostgresOutboxStore(db, node=name, target=target, claim_ttl_s=CLAIM_TTL_S), clock=clock
    )


async def test_a_claimed_head_is_not_handed_to_another_node(database: PostgresDatabase) -> None:
    clock = ManualClock()
    a, b = node(database, "a", clock), node(database, "b", clock)
    await a.open()
    await b.open()
    a1, a2 = await a.enqueue_many([("e", TOKEN_A, 1), ("e", TOKEN_A, 2)])
    b1 = await a.enqueue("e", TOKEN_B, 1)

    assert [m.id for m in await a.due(1)] == [a1]
    # Node b sees TOKEN_B's head only: TOKEN_A's is being sent by node a.
    assert [m.id for m in await b.due(10)] == [b1]
    # A node's own claim does not hide a head from it (its dispatcher skips what it has in flight).
    assert [m.id for m in await a.due(10)] == [a1]
    await a.mark_delivered(a1, 200)
    # The attempt ended the claim: the next head of TOKEN_A is free for whichever node asks first.
    assert [m.id for m in await b.due(10)] == [a2, b1]
    await b.close()
    await a.close()


async def test_a_claim_of_a_dead_node_lapses(database: PostgresDatabase) -> None:
    clock = ManualClock()
    a, b = node(database, "a", clock), node(database, "b", clock)
    await a.open()
    await b.open()
    first = await a.enqueue("e", TOKEN_A, 1)
    assert [m.id for m in await a.due(10)] == [first]
    clock.advance(CLAIM_TTL_S - 1)
    assert await b.due(10) == []
    clock.advance(2)
    assert [m.id for m in await b.due(10)] == [first]
    await a.close()
    await b.close()


async def test_targets_are_separate_queues(database: PostgresDatabase) -> None:
    clock = ManualClock()
    everyone, own = node(database, "a", clock), node(database, "a", clock, target=TOKEN_A)
    await everyone.open()
    await own.open()
    same_id = await everyone.enqueue("e", TOKEN_A, 1)
    # The same event id goes to both targets (WebhookFanOut), each keeping its own row.
    assert await own.enqueue("e", TOKEN_A, 1, event_id=same_id) == same_id
    assert [m.id for m in await own.due(10)] == [same_id]
    await own.mark_delivered(same_id, 200)
    assert (await everyone.stats()).pending == 1
    assert (await own.stats()).delivered == 1
    await own.close()
    await everyone.close()
