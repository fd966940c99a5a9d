"""Fixtures for the webhook tests: a manual clock, an outbox in tmp_path, a receiver, dispatchers."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpServer

from wa_gateway.clock import ManualClock
from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.webhooks import WebhookDispatcher, WebhookOutbox
from wa_gateway.webhooks.postgres_outbox import PostgresOutboxStore

from .webhook_harness import Receiver

DispatcherFactory = Callable[..., WebhookDispatcher]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "webhooks.db"


@pytest.fixture(params=["sqlite", "postgres"])
def outbox_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def outbox(
    db_path: Path, clock: ManualClock, outbox_backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[WebhookOutbox]:
    """The same behaviour over both stores: a sqlite file, or the PostgreSQL table of a fresh database."""
    if outbox_backend == "sqlite":
        box = WebhookOutbox(db_path, clock=clock)
        await box.open()
        yield box
        await box.close()
        return
    database = PostgresDatabase(request.getfixturevalue("postgres_url"), pool_size=2)
    await database.open()
    try:
        box = WebhookOutbox(PostgresOutboxStore(database, node="test-node"), clock=clock)
        await box.open()
        yield box
        await box.close()
    finally:
        await database.close()


@pytest.fixture
async def receiver(aiohttp_server: AiohttpServer) -> AsyncIterator[Receiver]:
    recv = Receiver()
    server = await aiohttp_server(recv.app())
    recv.url = str(server.make_url("/hook"))
    yield recv
    recv.release.set()


@pytest.fixture
async def make_dispatcher(
    outbox: WebhookOutbox, receiver: Receiver, clock: ManualClock
) -> AsyncIterator[Callable[..., Any]]:
    """Build and start a dispatcher (defaults: the receiver, the outbox, the manual clock)."""
    started: list[WebhookDispatcher] = []

    async def make(**overrides: Any) -> WebhookDispatcher:
        options: dict[str, Any] = {
            "outbox": outbox,
            "url": receiver.url,
            "secret": "",
            "timeout_s": 2.0,
            "max_attempts": 10,
            "max_age_s": 30 * 86400.0,
            "concurrency": 4,
            "clock": clock,
            "rng": random.Random(1234),
        }
        options.update(overrides)
        dispatcher = WebhookDispatcher(**options)
        await dispatcher.start()
        started.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in started:
        await dispatcher.stop()
