"""Contacts fixtures: real sqlite files under tmp_path, a manual clock, a real aiohttp server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.contacts.contacts_harness import TOKEN, KnownTokens, contact_threads
from wa_gateway.clock import ManualClock
from wa_gateway.contacts import ContactBooks, ContactsApi, ContactStores
from wa_gateway.middlewares import error_envelope_middleware

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def stores(tmp_path: Path, clock: ManualClock) -> AsyncIterator[ContactStores]:
    registry = ContactStores(tmp_path, clock)
    yield registry
    await registry.close_all()
    assert contact_threads() == []


@pytest.fixture
def devices() -> KnownTokens:
    return KnownTokens(TOKEN)


@pytest.fixture
def make_client(
    aiohttp_client: ClientFactory, devices: KnownTokens
) -> Callable[[ContactBooks], Awaitable[TestClient[web.Request, web.Application]]]:
    async def build(books: ContactBooks) -> TestClient[web.Request, web.Application]:
        app = web.Application(middlewares=[error_envelope_middleware])
        app.router.add_routes(ContactsApi(books, devices).routes())
        return await aiohttp_client(app)

    return build


@pytest.fixture
async def client(
    make_client: Callable[[ContactBooks], Awaitable[TestClient[web.Request, web.Application]]],
    stores: ContactStores,
) -> TestClient[web.Request, web.Application]:
    return await make_client(stores)
