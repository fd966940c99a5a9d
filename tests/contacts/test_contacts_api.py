"""GET /contacts/{token} on a real aiohttp server: checks, JSON pages, CSV pages and streams, failures."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.contacts.contacts_harness import TOKEN
from wa_gateway.clock import ManualClock
from wa_gateway.contacts import ContactBook, ContactBooks, ContactRow, ContactStoreError, ContactStores

Client = TestClient[web.Request, web.Application]
URL = f"/contacts/{TOKEN}"
CSV_HEADER = "phone,name,source,first_seen,last_seen\n"


async def fill(stores: ContactStores, clock: ManualClock, count: int) -> None:
    """``count`` contacts over three distinct seconds, many sharing a last_seen."""
    rows = [(f"60{i:09d}", f"Name {i}", "history") for i in range(count)]
    for part in range(3):
        await stores.get(TOKEN).upsert_many(rows[part::3])
        clock.advance(1)


async def envelope(response: aiohttp.ClientResponse) -> dict[str, Any]:
    assert response.content_type == "application/json"
    body: dict[str, Any] = await response.json()
    assert set(body["meta"]) == {"timestamp", "requestId"}
    return body


async def expect_error(response: aiohttp.ClientResponse, status: int, code: str) -> str:
    assert response.status == status
    body = await envelope(response)
    assert body["success"] is False
    assert body["error"]["code"] == code
    message: str = body["error"]["message"]
    return message


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "601234",  # 6 digits
        "6012345678901234",  # 16 digits
        "%D9%A6%D9%A0%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6",  # Arabic-Indic digits
        "60123456789%0A",  # trailing newline
        "+60123456789",
        "60123456789.db",
        "..%2F60123456789",
    ],
)
async def test_a_malformed_token_is_400_before_any_lookup(client: Client, token: str) -> None:
    message = await expect_error(await client.get(f"/contacts/{token}"), 400, "INVALID_TOKEN")
    assert message == "Token must be a phone number (7-15 digits)"


async def test_an_unknown_device_is_404(client: Client, tmp_path: Path) -> None:
    message = await expect_error(await client.get("/contacts/60999999999"), 404, "DEVICE_NOT_FOUND")
    assert message == "Device not found"
    assert not (tmp_path / "contacts").exists()  # nothing was opened for it


async def test_an_empty_book_is_an_empty_list(client: Client) -> None:
    response = await client.get(URL)
    assert response.status == 200
    body = await envelope(response)
    assert body["success"] is True
    assert body["message"] == "Contacts retrieved"
    assert body["data"] == {"contacts": [], "total": 0, "limit": 100, "offset": 0, "hasMore": False}


async def test_json_pages_walk_every_contact_once_in_order(
    client: Client, stores: ContactStores, clock: ManualClock
) -> None:
    await fill(stores, clock, 250)
    seen: list[dict[str, str]] = []
    offset = 0
    while True:
        body = await envelope(await client.get(URL, params={"limit": "100", "offset": str(offset)}))
        data = body["data"]
        assert (data["total"], data["limit"], data["offset"]) == (250, 100, offset)
        seen += data["contacts"]
        assert data["hasMore"] is (offset + 100 < 250)
        if not data["hasMore"]:
            break
        offset += 100
    assert len(seen) == 250
    assert len({c["phone"] for c in seen}) == 250
    assert list(seen[0]) == ["phone", "name", "source", "firstSeen", "lastSeen"]
    order = [(c["lastSeen"], c["phone"]) for c in seen]
    assert order == sorted(order, key=lambda key: (-int(key[0][-3:-1]), key[1]))
    assert seen[0]["firstSeen"] == "2023-11-14T22:13:22Z"


@pytest.mark.parametrize(
    ("query", "limit", "offset"),
    [
        ("", 100, 0),
        ("?limit=&offset=", 100, 0),
        ("?limit=%2B5", 5, 0),
        ("?limit=1000", 1000, 0),
        ("?limit=5000", 1000, 0),
        ("?limit=99999999999999999999999999", 1000, 0),
        ("?limit=2&limit=abc", 2, 0),
        ("?offset=3", 100, 3),
        ("?offset=9223372036854775807", 100, 9223372036854775807),
    ],
)
async def test_accepted_paging_values(
    client: Client, stores: ContactStores, clock: ManualClock, query: str, limit: int, offset: int
) -> None:
    await fill(stores, clock, 12)
    data = (await envelope(await client.get(URL + query)))["data"]
    assert (data["limit"], data["offset"]) == (limit, offset)
    assert len(data["contacts"]) == max(0, min(limit, 12 - offset))


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=-1",
        "limit=abc",
        "limit=1.5",
        "limit=%205",
        "limit=0x10",
        "limit=1e3",
        "limit=%D9%A5",  # an Arabic-Indic 5, which int() would take
    ],
)
async def test_a_bad_limit_is_400(client: Client, query: str) -> None:
    message = await expect_error(await client.get(f"{URL}?{query}"), 400, "INVALID_QUERY")
    assert "'limit'" in message


@pytest.mark.parametrize("query", ["offset=-1", "offset=x", "offset=1.0", "offset=9223372036854775808"])
async def test_a_bad_offset_is_400(client: Client, query: str) -> None:
    message = await expect_error(await client.get(f"{URL}?{query}"), 400, "INVALID_QUERY")
    assert "'offset'" in message


async def test_query_checks_come_after_the_device_checks(client: Client) -> None:
    await expect_error(await client.get("/contacts/abc?limit=0"), 400, "INVALID_TOKEN")
    await expect_error(await client.get("/contacts/60999999999?limit=0"), 404, "DEVICE_NOT_FOUND")


async def test_csv_with_paging_returns_that_page(
    client: Client, stores: ContactStores, clock: ManualClock
) -> None:
    await fill(stores, clock, 12)
    page = await envelope(await client.get(URL, params={"limit": "4", "offset": "2"}))
    expected = page["data"]["contacts"]
    response = await client.get(URL, params={"format": "csv", "limit": "4", "offset": "2"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="contacts-{TOKEN}.csv"'
    assert "Transfer-Encoding" not in response.headers
    text = await response.text()
    lines = text.split("\n")
    assert lines[0] + "\n" == CSV_HEADER
    assert lines[-1] == ""
    assert [line.split(",")[0] for line in lines[1:-1]] == [c["phone"] for c in expected]


async def test_csv_with_only_an_offset_uses_the_default_page(
    client: Client, stores: ContactStores, clock: ManualClock
) -> None:
    await fill(stores, clock, 150)
    text = await (await client.get(URL, params={"format": "csv", "offset": "10"})).text()
    assert text.count("\n") == 1 + 100


async def test_csv_without_paging_streams_every_contact(
    client: Client, stores: ContactStores, clock: ManualClock
) -> None:
    await fill(stores, clock, 2_500)
    response = await client.get(URL, params={"format": "csv"})
    assert response.status == 200
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="contacts-{TOKEN}.csv"'
    lines = (await response.text()).splitlines()
    assert lines[0] + "\n" == CSV_HEADER
    assert len(lines) == 2_501
    paged: list[str] = []
    for offset in range(0, 2_500, 1_000):
        body = await envelope(await client.get(URL, params={"limit": "1000", "offset": str(offset)}))
        paged += [c["phone"] for c in body["data"]["contacts"]]
    assert [line.split(",")[0] for line in lines[1:]] == paged


async def test_an_empty_csv_stream_is_just_the_header(client: Client) -> None:
    response = await client.get(URL, params={"format": "csv"})
    assert await response.text() == CSV_HEADER


async def test_csv_neutralises_formulas_end_to_end(client: Client, stores: ContactStores) -> None:
    await stores.get(TOKEN).upsert_many([("60123456789", '=HYPERLINK("http://evil","x")', "message")])
    text = await (await client.get(URL, params={"format": "csv"})).text()
    assert text.splitlines()[1].startswith('60123456789,"\'=HYPERLINK(""http://evil"",""x"")",message,')


async def test_only_the_exact_format_value_selects_csv(client: Client) -> None:
    response = await client.get(URL, params={"format": "CSV"})
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "INVALID_QUERY"


async def test_head_on_the_stream_sends_headers_only(client: Client, stores: ContactStores) -> None:
    await stores.get(TOKEN).upsert_many([("60123456789", "Ann", "message")])
    response = await client.head(URL, params={"format": "csv"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert await response.read() == b""


@pytest.mark.parametrize("query", [{}, {"format": "csv", "limit": "5"}, {"format": "csv"}])
async def test_a_broken_database_is_500_fetch_failed(
    client: Client, tmp_path: Path, query: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "contacts" / f"{TOKEN}.db"
    path.parent.mkdir()
    path.write_bytes(b"not a database" * 1000)
    with caplog.at_level(logging.ERROR, logger="wa_gateway.contacts"):
        message = await expect_error(await client.get(URL, params=query), 500, "FETCH_FAILED")
    assert message == "Failed to retrieve contacts"
    assert "reading contacts failed" in caplog.text


class FailsMidStream:
    """A book whose export breaks after the first chunk, as a disk error would."""

    async def upsert_many(self, rows: Sequence[tuple[str, str, str]], now: float | None = None) -> list[str]:
        return []

    async def page(self, limit: int, offset: int) -> tuple[list[ContactRow], int]:
        return [], 0

    async def iter_all(self, chunk_size: int = 1000) -> AsyncGenerator[list[ContactRow], None]:
        yield [ContactRow("60123456789", "Ann", "message", "t", "t")] * chunk_size
        raise ContactStoreError("disk I/O error")

    async def iter_csv(self, chunk_size: int = 1000) -> AsyncGenerator[bytes, None]:
        yield b"60123456789,Ann,message,t,t\n" * chunk_size
        raise ContactStoreError("disk I/O error")


class Books:
    def __init__(self, book: ContactBook) -> None:
        self.book = book

    def get(self, token: str) -> ContactBook:
        return self.book


async def test_a_failure_mid_stream_breaks_the_transfer(
    make_client: Callable[[ContactBooks], Awaitable[Client]], caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(Books(FailsMidStream()))
    with caplog.at_level(logging.ERROR, logger="wa_gateway.contacts"):
        response = await client.get(URL, params={"format": "csv"})
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    assert "contacts export failed mid-stream" in caplog.text
    # The server is fine afterwards.
    follow_up = await client.get(URL)
    assert (await envelope(follow_up))["data"]["total"] == 0
