#!/usr/bin/env python3
"""What the worker's event journal costs: ``python3 bench/journal_cost.py [--quick] [--runs N]``.

Runs the gateway in-process on 127.0.0.1 (sandbox engine, real worker process, webhooks to a local
receiver), alternating runs with and without the journal, and prints incoming messages/s (sandbox control
route, each answered after its journal commit) and POST /messages requests/s at concurrency 16: the
median of the runs, each run's figure, and the engine worker's CPU time per request (which, unlike the
rates, hardly moves when other work shares the machine). The gateway process also runs the client here,
so its CPU time is not reported. The load average before and after is printed with the figures: on a
shared machine it says how far to trust them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402

from bench.procs import cpu_seconds  # noqa: E402
from wa_gateway.app import create_app  # noqa: E402
from wa_gateway.config import load_settings  # noqa: E402
from wa_gateway.worker.main import NO_JOURNAL_KEY  # noqa: E402

API_KEY = "bench-key"
TOKEN = "60123456789"
CONCURRENCY = 16
RUNS_EACH = 3


async def _receiver() -> TestServer:
    async def hook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def _rate(session: aiohttp.ClientSession, url: str, bodies: list[dict[str, Any]]) -> float:
    queue = list(reversed(bodies))
    headers = {"X-API-Key": API_KEY}

    async def worker() -> None:
        while queue:
            body = queue.pop()
            async with session.post(url, json=body, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"{url} answered {resp.status}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return len(bodies) / (time.perf_counter() - started)


async def _worker_pid(session: aiohttp.ClientSession, server: TestServer) -> int:
    async with session.get(server.make_url("/health/detailed"), headers={"X-API-Key": API_KEY}) as resp:
        pid: int = (await resp.json())["data"]["worker"]["pid"]
        return pid


async def _timed(
    session: aiohttp.ClientSession, url: str, bodies: list[dict[str, Any]], worker: int
) -> tuple[float, float]:
    """Requests/s, and the worker's CPU µs per request."""
    before = cpu_seconds(worker)
    rate = await _rate(session, url, bodies)
    return rate, (cpu_seconds(worker) - before) / len(bodies) * 1e6


async def measure(journal: bool, count: int, directory: Path) -> dict[str, tuple[float, float]]:
    receiver = await _receiver()
    settings = load_settings(
        {
            "API_KEY": API_KEY,
            "WA_ENGINE": "sandbox",
            "DATA_DIR": str(directory),
            "WEBHOOK_URL": str(receiver.make_url("/hook")),
            "TYPING_DELAY_MS": "0",
            "RATE_LIMIT_DEVICES": "0",
            "RATE_LIMIT_MESSAGES": "0",
            "LOG_LEVEL": "warn",
        }
    )
    overrides = {"test_hooks": True, NO_JOURNAL_KEY: not journal}
    server = TestServer(create_app(settings, worker_overrides=overrides), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            headers = {"X-API-Key": API_KEY}
            await session.post(server.make_url("/devices"), json={"token": TOKEN}, headers=headers)
            await session.post(server.make_url(f"/sandbox/devices/{TOKEN}/link"), headers=headers)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                async with session.get(server.make_url(f"/devices/{TOKEN}"), headers=headers) as resp:
                    if (await resp.json())["data"]["status"] == "connected":
                        break
                await asyncio.sleep(0.05)
            worker = await _worker_pid(session, server)
            incoming = [{"from": "60198765432", "text": f"m{i}"} for i in range(count)]
            sends = [{"token": TOKEN, "to": "60198765432", "text": f"s{i}"} for i in range(count)]
            incoming_url = str(server.make_url(f"/sandbox/devices/{TOKEN}/messages"))
            figures = {
                "incoming": await _timed(session, incoming_url, incoming, worker),
                "send": await _timed(session, str(server.make_url("/messages")), sends, worker),
            }
    finally:
        await server.close()
        await receiver.close()
    return figures


def _load() -> str:
    return " ".join(f"{figure:.1f}" for figure in os.getloadavg())


async def main(quick: bool, runs_each: int) -> None:
    count = 300 if quick else 3000
    runs: dict[bool, list[dict[str, tuple[float, float]]]] = {False: [], True: []}
    load_before = _load()
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(runs_each * 2):
            journal = index % 2 == 1
            run = Path(scratch) / f"run-{index}-{'journal' if journal else 'none'}"
            runs[journal].append(await measure(journal, count, run))
    for figure, label in (("incoming", "incoming messages/s"), ("send", "POST /messages /s  ")):
        rates = {j: [r[figure][0] for r in runs[j]] for j in runs}
        cpu = {j: statistics.median(r[figure][1] for r in runs[j]) for j in runs}
        off, on = statistics.median(rates[False]), statistics.median(rates[True])
        print(
            f"{label}: without journal {off:.0f} ({', '.join(f'{r:.0f}' for r in rates[False])}), "
            f"with {on:.0f} ({', '.join(f'{r:.0f}' for r in rates[True])}): {on / off - 1:+.0%}; "
            f"worker CPU {cpu[False]:.0f} -> {cpu[True]:.0f} µs per request"
        )
    print(f"load average (1, 5, 15 min): {load_before} before, {_load()} after")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 requests per figure instead of 3000")
    parser.add_argument("--runs", type=int, default=RUNS_EACH, help="runs with and runs without the journal")
    options = parser.parse_args()
    asyncio.run(main(options.quick, options.runs))
