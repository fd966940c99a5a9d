"""Authenticated WebSocket clients in one process, recording when each event reached each client.

``python -m bench.ws_clients --ws-url ... --api-key K --clients N --events E``: connects N clients
(auth, then ``subscribe`` to ``message.received``), prints ``READY`` on a line of its own, then reads
until every client has E events or ``--wait`` seconds pass. Events carry their sequence number in their
text (``bench-<seq>``); each arrival is recorded on ``time.monotonic()`` (CLOCK_MONOTONIC, the same clock
in every process of the machine), so the process that injected the events can compute latencies.
Prints one JSON result: arrivals as two parallel lists, missing and dropped counts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any, Final

import aiohttp
import orjson

CONNECT_CONCURRENCY: Final = 64
TEXT_PREFIX: Final = "bench-"
READY: Final = b"READY\n"


class Client:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, expected: int) -> None:
        self.ws = ws
        self.frames: list[tuple[float, bytes | str]] = []
        self.expected = expected
        self.done = asyncio.Event()
        self.closed_code: int | None = None

    async def read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.frames.append((time.monotonic(), msg.data))
                if len(self.frames) >= self.expected:
                    self.done.set()
        self.closed_code = self.ws.close_code
        self.done.set()


async def connect(session: aiohttp.ClientSession, args: argparse.Namespace) -> Client:
    ws = await session.ws_connect(args.ws_url, autoping=True, max_msg_size=0)
    await ws.send_str(orjson.dumps({"type": "auth", "apiKey": args.api_key}).decode())
    reply = await ws.receive_json(timeout=10)
    if reply.get("success") is not True:
        raise RuntimeError(f"auth failed: {reply}")
    await ws.send_str(orjson.dumps({"type": "subscribe", "events": ["message.received"]}).decode())
    reply = await ws.receive_json(timeout=10)
    if reply.get("success") is not True:
        raise RuntimeError(f"subscribe failed: {reply}")
    return Client(ws, args.events)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one() -> Client:
            async with gate:
                return await connect(session, args)

        started = time.monotonic()
        clients = await asyncio.gather(*(one() for _ in range(args.clients)))
        connect_s = time.monotonic() - started
        readers = [asyncio.create_task(client.read()) for client in clients]
        sys.stdout.buffer.write(READY)
        sys.stdout.flush()
        try:
            async with asyncio.timeout(args.wait):
                await asyncio.gather(*(client.done.wait() for client in clients))
        except TimeoutError:
            pass
        await asyncio.gather(*(client.ws.close() for client in clients), return_exceptions=True)
        await asyncio.gather(*readers, return_exceptions=True)
    seqs: list[int] = []
    times: list[float] = []
    missing = 0
    closed_early = 0
    for client in clients:
        seen = set()
        for received_at, raw in client.frames:
            frame = orjson.loads(raw)
            text = (frame.get("data") or {}).get("text", "")
            if frame.get("event") != "message.received" or not text.startswith(TEXT_PREFIX):
                continue
            seq = int(text[len(TEXT_PREFIX) :])
            if seq not in seen:
                seen.add(seq)
                seqs.append(seq)
                times.append(received_at)
        missing += args.events - len(seen)
        if client.closed_code not in (None, 1000):
            closed_early += 1
    return {
        "connect_s": connect_s,
        "seqs": seqs,
        "times": times,
        "missing": missing,
        "closed_early": closed_early,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ws-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for every event")
    args = parser.parse_args()
    if not args.ws_url.startswith("ws://127.0.0.1"):
        parser.error("only 127.0.0.1 is a target")
    result = asyncio.run(main_async(args))
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
