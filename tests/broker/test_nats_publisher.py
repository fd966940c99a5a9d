"""The broker outbox and its publisher against a real nats-server (JetStream), stopped and started."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker.nats_helpers import Published, stream_messages
from tests.servers import NatsServer
from wa_gateway.broker.nats_publisher import NatsPublisher
from wa_gateway.webhooks import WebhookOutbox

TOKENS = ("6281111111", "6282222222", "6283333333")


@pytest.fixture
def nats_own() -> Iterator[NatsServer]:
    """A server of this test's own: it is stopped and started, and its stream starts empty."""
    server = NatsServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


def events(start: int, count: int) -> list[tuple[str, str, dict[str, int]]]:
    return [("message.received", TOKENS[n % len(TOKENS)], {"n": n}) for n in range(start, start + count)]


def check_exactly_once_in_order(published: list[Published], ids: list[str]) -> None:
    assert sorted(p.msg_id for p in published) == sorted(ids)  # each id once, none missing
    for token in TOKENS:
        mine = [_n(p) for p in published if p.token == token]
        assert mine == sorted(mine)
    assert {p.subject for p in published} == {f"wa.{t}.message.received" for t in TOKENS}


def _n(published: Published) -> int:
    data = published.payload["data"]
    assert isinstance(data, dict)
    return int(data["n"])


async def test_every_committed_event_reaches_the_stream_once_in_device_order(
    tmp_path: Path, nats_own: NatsServer
) -> None:
    async with WebhookOutbox(tmp_path / "nats-outbox.db") as outbox:
        publisher = NatsPublisher(outbox, nats_own.url, retry_cap_s=0.5)
        await publisher.start()
        try:
            ids = await outbox.enqueue_many(events(0, 30))
            published = await stream_messages(nats_own.url, len(ids))
        finally:
            await publisher.stop()
        check_exactly_once_in_order(published, ids)
        assert (await outbox.stats()).pending == 0


async def test_events_wait_while_nats_is_down_and_follow_when_it_is_back(
    tmp_path: Path, nats_own: NatsServer
) -> None:
    async with WebhookOutbox(tmp_path / "nats-outbox.db") as outbox:
        publisher = NatsPublisher(outbox, nats_own.url, retry_cap_s=0.5)
        await publisher.start()
        try:
            first = await outbox.enqueue_many(events(0, 9))
            await stream_messages(nats_own.url, len(first))
            await asyncio.to_thread(nats_own.stop)
            during = await outbox.enqueue_many(events(9, 12))
            # Nothing can be acknowledged while the server is down: every new row is still pending.
            assert (await outbox.stats()).pending == len(during)
            await asyncio.to_thread(nats_own.start)
            published = await stream_messages(nats_own.url, len(first) + len(during))
        finally:
            await publisher.stop()
        check_exactly_once_in_order(published, first + during)


async def test_a_publisher_started_before_nats_publishes_once_it_is_up(
    tmp_path: Path, nats_own: NatsServer
) -> None:
    await asyncio.to_thread(nats_own.stop)
    async with WebhookOutbox(tmp_path / "nats-outbox.db") as outbox:
        publisher = NatsPublisher(outbox, nats_own.url, retry_cap_s=0.5)
        await publisher.start()
        try:
            ids = await outbox.enqueue_many(events(0, 6))
            await asyncio.to_thread(nats_own.start)
            published = await stream_messages(nats_own.url, len(ids))
        finally:
            await publisher.stop()
        check_exactly_once_in_order(published, ids)


async def test_a_row_published_again_after_a_crash_is_dropped_by_jetstream(
    tmp_path: Path, nats_own: NatsServer
) -> None:
    path = tmp_path / "nats-outbox.db"
    async with WebhookOutbox(path) as outbox:
        publisher = NatsPublisher(outbox, nats_own.url, retry_cap_s=0.5)
        await publisher.start()
        ids = await outbox.enqueue_many(events(0, 6))
        await stream_messages(nats_own.url, len(ids))
        await publisher.stop()
        # As if the process died between JetStream's acknowledgement and the delivered mark.
        for msg_id in ids:
            await outbox.redeliver(msg_id)
        assert (await outbox.stats()).pending == len(ids)
        again = NatsPublisher(outbox, nats_own.url, retry_cap_s=0.5)
        await again.start()
        try:
            for _ in range(400):  # polled, with a 20 s deadline
                if not (await outbox.stats()).pending:
                    break
                await asyncio.sleep(0.05)
        finally:
            await again.stop()
        assert (await outbox.stats()).pending == 0
    published = await stream_messages(nats_own.url, len(ids))
    check_exactly_once_in_order(published, ids)
