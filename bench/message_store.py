#!/usr/bin/env python3
"""The message store at 100,000 messages: ``python3 bench/message_store.py [--quick]``.

1. Insert rate straight into the store (``DATA_DIR/messages.db``): one message per transaction as live
   messages arrive, and 500 per transaction as a history sync brings them.
2. Receiving through the real gateway (sandbox engine, real worker process) with the store on and off
   (MESSAGE_RETENTION_DAYS=0): incoming messages/s at concurrency 16.
3. With 100,000 stored messages in 200 chats: latency of GET /messages (first page, a page deep in the
   history by cursor, one chat's page) and GET /chats, against GET /devices/{token} on the same gateway
   as the baseline of a route that reads nothing from disk.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import aiohttp  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402

from wa_gateway.app import create_app  # noqa: E402
from wa_gateway.config import load_settings  # noqa: E402
from wa_gateway.messages.model import NewMessage  # noqa: E402
from wa_gateway.messages.sqlite_store import MESSAGES_FILE, SqliteMessageStore  # noqa: E402

API_KEY = "bench-key"
TOKEN = "60123456789"
HEADERS = {"X-API-Key": API_KEY}
CONCURRENCY = 16
CHATS = 200
HISTORY_BATCH = 500


def _message(i: int, now: float) -> NewMessage:
    chat = f"6019{i % CHATS:07d}@s.whatsapp.net"
    return NewMessage(
        id=f"BENCH{i:08d}",
        chat=chat,
        sender=chat,
        from_me=i % 3 == 0,
        is_group=False,
        type="text",
        text=f"message number {i} with a few words in it",
        # Spread over the last ten days, one every few seconds.
        timestamp=now - 864_000 + i * (864_000 / 100_000),
        source="live",
        push_name="Bench",
    )


async def insert_rates(directory: Path, count: int) -> tuple[float, float]:
    """Fills ``directory``'s store with ``count`` messages; returns (single, batched) messages/s."""
    store = SqliteMessageStore(directory / MESSAGES_FILE)
    await store.open()
    now = time.time()
    try:
        single = count // 10
        started = time.perf_counter()
        for i in range(single):
            await store.add(TOKEN, [_message(i, now)], unread=True)
        single_rate = single / (time.perf_counter() - started)
        started = time.perf_counter()
        for start in range(single, count, HISTORY_BATCH):
            batch = [_message(i, now) for i in range(start, min(count, start + HISTORY_BATCH))]
            await store.add(TOKEN, batch, unread=False)
        batch_rate = (count - single) / (time.perf_counter() - started)
    finally:
        await store.close()
    return single_rate, batch_rate


async def _gateway(directory: Path, retention_days: int) -> TestServer:
    settings = load_settings(
        {
            "API_KEY": API_KEY,
            "WA_ENGINE": "sandbox",
            "DATA_DIR": str(directory),
            "TYPING_DELAY_MS": "0",
            "RATE_LIMIT_DEVICES": "0",
            "RATE_LIMIT_MESSAGES": "0",
            "LOG_LEVEL": "warn",
            "MESSAGE_RETENTION_DAYS": str(retention_days),
        }
    )
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    return server


async def _linked(session: aiohttp.ClientSession, server: TestServer) -> None:
    await session.post(server.make_url("/devices"), json={"token": TOKEN}, headers=HEADERS)
    await session.post(server.make_url(f"/sandbox/devices/{TOKEN}/link"), headers=HEADERS)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        async with session.get(server.make_url(f"/devices/{TOKEN}"), headers=HEADERS) as resp:
            if (await resp.json())["data"]["status"] == "connected":
                return
        await asyncio.sleep(0.05)
    raise RuntimeError("the device did not connect")


async def receive_rate(directory: Path, retention_days: int, count: int) -> float:
    server = await _gateway(directory, retention_days)
    try:
        async with aiohttp.ClientSession() as session:
            await _linked(session, server)
            url = str(server.make_url(f"/sandbox/devices/{TOKEN}/messages"))
            queue = [{"from": f"6019{i % CHATS:07d}", "text": f"m{i}"} for i in range(count)]

            async def worker() -> None:
                while queue:
                    async with session.post(url, json=queue.pop(), headers=HEADERS) as resp:
                        await resp.read()
                        if resp.status != 200:
                            raise RuntimeError(f"incoming message answered {resp.status}")

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            return count / (time.perf_counter() - started)
    finally:
        await server.close()


async def _latency(session: aiohttp.ClientSession, url: str, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        async with session.get(url, headers=HEADERS) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{url} answered {resp.status}")
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


async def page_latencies(directory: Path, rounds: int) -> dict[str, tuple[float, float]]:
    server = await _gateway(directory, 30)
    try:
        async with aiohttp.ClientSession() as session:
            await _linked(session, server)
            base = f"/messages/{TOKEN}"
            deep = None
            async with session.get(server.make_url(f"{base}?limit=500"), headers=HEADERS) as resp:
                cursor = (await resp.json())["data"]["nextCursor"]
            # Walk half-way back, 500 at a time, to a cursor deep in the history.
            for _ in range(100):
                async with session.get(
                    server.make_url(f"{base}?limit=500&before={cursor}"), headers=HEADERS
                ) as resp:
                    data = (await resp.json())["data"]
                if data["nextCursor"] is None:
                    break
                cursor = deep = data["nextCursor"]
            urls = {
                "baseline GET /devices/{token}": f"/devices/{TOKEN}",
                "GET /messages (first page of 50)": f"{base}",
                "GET /messages (deep page, by cursor)": f"{base}?before={deep}",
                "GET /messages?chat (one chat)": f"{base}?chat=60190000007",
                "GET /chats (100 of 200 chats)": f"/chats/{TOKEN}",
            }
            return {
                name: await _latency(session, str(server.make_url(url)), rounds) for name, url in urls.items()
            }
    finally:
        await server.close()


async def main(quick: bool) -> None:
    count, received, rounds = (5_000, 200, 30) if quick else (100_000, 2_000, 300)
    with tempfile.TemporaryDirectory() as scratch:
        filled = Path(scratch) / "filled"
        single, batched = await insert_rates(filled, count)
        print(
            f"store inserts/s: one per transaction {single:.0f}, "
            f"{HISTORY_BATCH} per transaction {batched:.0f}"
        )
        rates: dict[int, list[float]] = {}
        for index, days in enumerate((0, 30, 0, 30)):
            run = Path(scratch) / f"receive-{index}"
            rates.setdefault(days, []).append(await receive_rate(run, days, received))
        off, on = max(rates[0]), max(rates[30])
        print(f"incoming messages/s: store off {off:.0f}, on {on:.0f} ({on / off - 1:+.0%})")
        print(f"latency at {count} stored messages (ms, median / p99):")
        for name, (median, p99) in (await page_latencies(filled, rounds)).items():
            print(f"  {name:40s} {median:6.2f} / {p99:6.2f}")


if __name__ == "__main__":
    asyncio.run(main("--quick" in sys.argv))
