"""The full CSV export of a large book goes out in chunks: the server never holds all of it."""

from __future__ import annotations

import time
import tracemalloc

from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.contacts.contacts_harness import TOKEN
from wa_gateway.clock import ManualClock
from wa_gateway.contacts import ContactStores

ROWS = 100_000


async def test_a_hundred_thousand_contacts_stream_in_bounded_memory(
    client: TestClient[web.Request, web.Application], stores: ContactStores, clock: ManualClock
) -> None:
    store = stores.get(TOKEN)
    for part in range(4):
        rows = [(f"60{i:09d}", f"Contact number {i}", "history") for i in range(part, ROWS, 4)]
        assert len(await store.upsert_many(rows)) == ROWS // 4
        clock.advance(1)

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        response = await client.get(f"/contacts/{TOKEN}", params={"format": "csv"})
        assert response.status == 200
        assert response.headers["Transfer-Encoding"] == "chunked"
        size = lines = 0
        first = b""
        async for piece in response.content.iter_chunked(1 << 16):
            if not first:
                first = piece[:128]
            size += len(piece)
            lines += piece.count(b"\n")
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()

    assert first.startswith(b"phone,name,source,first_seen,last_seen\n60000000003,Contact number 3,history,")
    assert lines == ROWS + 1
    assert size > 7_000_000
    # Holding every row (as tuples, objects or one body) would cost several times the CSV's size.
    assert peak < size / 4, f"peak {peak:,} bytes while streaming {size:,} bytes ({elapsed:.1f} s)"
