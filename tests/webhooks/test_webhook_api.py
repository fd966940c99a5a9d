"""Operator endpoints through a real aiohttp app with the envelope middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from wa_gateway.clock import ManualClock
from wa_gateway.middlewares import error_envelope_middleware
from wa_gateway.webhooks import WebhookAdminApi, WebhookOutbox

Client = TestClient[web.Request, web.Application]


class CountingNotifier:
    def __init__(self) -> None:
        self.calls = 0

    def notify(self) -> None:
        self.calls += 1


@pytest.fixture
def notifier() -> CountingNotifier:
    return CountingNotifier()


@pytest.fixture
async def client(
    outbox: WebhookOutbox, notifier: CountingNotifier, aiohttp_client: AiohttpClient
) -> AsyncIterator[Client]:
    app = web.Application(middlewares=[error_envelope_middleware])
    app.router.add_routes(WebhookAdminApi(outbox, notifier).routes())
    yield await aiohttp_client(app)


async def dead_rows(outbox: WebhookOutbox, count: int) -> list[str]:
    ids = await outbox.enqueue_many([("message.receipt", f"62811100{n:02d}", {"n": n}) for n in range(count)])
    for msg_id in ids:
        await outbox.mark_dead(msg_id, "HTTP 410", 410)
    return ids


async def get_json(client: Client, path: str, status: int = 200) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status == status, await response.text()
    body = await response.json()
    assert set(body["meta"]) == {"timestamp", "requestId"}
    assert isinstance(body, dict)
    return body


async def test_stats(client: Client, outbox: WebhookOutbox, clock: ManualClock) -> None:
    body = await get_json(client, "/webhooks/stats")
    assert body["success"] is True
    assert body["data"] == {"pending": 0, "delivered": 0, "dead": 0, "oldestPendingAgeSeconds": 0}

    await outbox.enqueue("device.connected", "6281234567", None)
    await dead_rows(outbox, 2)
    clock.advance(75.6)
    body = await get_json(client, "/webhooks/stats")
    assert body["data"] == {"pending": 1, "delivered": 0, "dead": 2, "oldestPendingAgeSeconds": 75}


async def test_dead_list_pages(client: Client, outbox: WebhookOutbox) -> None:
    ids = await dead_rows(outbox, 5)

    body = await get_json(client, "/webhooks/dead?limit=2&offset=1")
    data = body["data"]
    assert (data["total"], data["limit"], data["offset"], data["hasMore"]) == (5, 2, 1, True)
    assert [item["id"] for item in data["items"]] == ids[1:3]
    item = data["items"][0]
    assert item == {
        "id": ids[1],
        "event": "message.receipt",
        "token": "6281110001",
        "attempts": 1,
        "lastError": "HTTP 410",
        "lastStatus": 410,
        "createdAt": "2023-11-14T22:13:20Z",
        "payload": {
            "id": ids[1],
            "event": "message.receipt",
            "token": "6281110001",
            "data": {"n": 1},
            "timestamp": "2023-11-14T22:13:20Z",
        },
    }

    last = (await get_json(client, "/webhooks/dead?limit=2&offset=4"))["data"]
    assert ([i["id"] for i in last["items"]], last["hasMore"]) == ([ids[4]], False)

    defaults = (await get_json(client, "/webhooks/dead"))["data"]
    assert (defaults["limit"], defaults["offset"], len(defaults["items"]), defaults["hasMore"]) == (
        100,
        0,
        5,
        False,
    )
    assert (await get_json(client, "/webhooks/dead?limit=5000"))["data"]["limit"] == 1000
    assert (await get_json(client, "/webhooks/dead?limit=&offset="))["data"]["limit"] == 100
    assert (await get_json(client, "/webhooks/dead?limit=0"))["data"]["items"] == []


async def test_empty_dead_list(client: Client) -> None:
    data = (await get_json(client, "/webhooks/dead"))["data"]
    assert data == {"items": [], "total": 0, "limit": 100, "offset": 0, "hasMore": False}


@pytest.mark.parametrize(
    "query",
    [
        "limit=abc",
        "limit=-1",
        "limit=1.5",
        "limit=+5",
        "limit=%201",
        "limit=\u0661",  # an Arabic-Indic digit
        "offset=-3",
        "offset=x",
        "offset=99999999999999999999999",
    ],
)
async def test_bad_query_values(client: Client, query: str) -> None:
    body = await get_json(client, f"/webhooks/dead?{query}", status=400)
    assert body["success"] is False
    assert body["error"] == {"code": "INVALID_QUERY", "message": "Invalid query parameter"}


async def test_retry_one(client: Client, outbox: WebhookOutbox, notifier: CountingNotifier) -> None:
    first, second = await dead_rows(outbox, 2)

    response = await client.post(f"/webhooks/dead/{first}/retry")
    assert response.status == 200
    body = await response.json()
    assert body["success"] is True and body["data"] == {"id": first}
    assert notifier.calls == 1
    record = await outbox.get(first)
    assert record is not None and (record.status, record.attempts) == ("pending", 0)
    other = await outbox.get(second)
    assert other is not None and other.status == "dead"


@pytest.mark.parametrize("which", ["unknown", "pending"])
async def test_retry_one_that_is_not_dead(
    client: Client, outbox: WebhookOutbox, notifier: CountingNotifier, which: str
) -> None:
    msg_id = "evt_nope" if which == "unknown" else await outbox.enqueue("e", "6281234567", None)
    response = await client.post(f"/webhooks/dead/{msg_id}/retry")
    assert response.status == 404
    body = await response.json()
    assert body["error"] == {"code": "WEBHOOK_NOT_FOUND", "message": "Dead-letter webhook not found"}
    assert notifier.calls == 0


async def test_retry_all(client: Client, outbox: WebhookOutbox, notifier: CountingNotifier) -> None:
    await dead_rows(outbox, 3)
    response = await client.post("/webhooks/dead/retry")
    assert response.status == 200
    assert (await response.json())["data"] == {"retried": 3}
    assert notifier.calls == 1
    assert (await outbox.stats()).pending == 3

    response = await client.post("/webhooks/dead/retry")
    assert (await response.json())["data"] == {"retried": 0}


async def test_wrong_method_is_an_enveloped_405(client: Client) -> None:
    response = await client.post("/webhooks/stats")
    assert response.status == 405
    assert (await response.json())["error"]["code"] == "METHOD_NOT_ALLOWED"
