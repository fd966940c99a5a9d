"""Drives the neonize backend on the real Go library in its own process (a Go abort must not kill pytest).

Usage: python neonize_probe.py offline|stress DATA_DIR RESULT_JSON. There is no network here, so every
connect fails at the websocket dial. The result goes to a file: Go may print to stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from wa_gateway.backends.neonize.backend import create_backend

TOKEN = "15550000001"
STRESS_CLIENTS = 50
STRESS_ROUNDS = 3


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, token: str, event: str, data: dict[str, Any]) -> None:
        self.items.append((token, event, data))

    def count(self, event: str) -> int:
        return sum(1 for _, name, _ in self.items if name == event)

    async def wait(self, event: str, count: int, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while self.count(event) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.count(event)} of {count} {event} events")
            await asyncio.sleep(0.01)


def thread_names() -> list[str]:
    return sorted(thread.name for thread in threading.enumerate() if thread is not threading.main_thread())


async def offline(data_dir: str) -> dict[str, Any]:
    events = Events()
    backend = await create_backend({"engine": "neonize", "data_dir": data_dir, "log_level": "warning"})
    await backend.start(events)
    started = time.monotonic()
    connect = await backend.connect(TOKEN, "qr", "")
    await events.wait("connect_failure", 1)
    result = {
        "connect": connect,
        "seconds": time.monotonic() - started,
        "events": events.items,
        "status": await backend.status(),
        "sessions": await backend.list_sessions(),
    }
    await backend.close()
    result["threads_after_close"] = thread_names()
    return result


async def stress(data_dir: str) -> dict[str, Any]:
    events = Events()
    backend = await create_backend({"engine": "neonize", "data_dir": data_dir, "log_level": "error"})
    await backend.start(events)
    ffi = backend.context.ffi  # type: ignore[attr-defined]
    tokens = [f"1555{index:07d}" for index in range(STRESS_CLIENTS)]
    hammering = True
    reads = 0

    async def hammer() -> None:
        # The study's crash: map reads racing connect/stop (docs/neonize.md §0.1).
        nonlocal reads
        while hammering:
            await asyncio.gather(*(ffi.IsConnected(token.encode()) for token in tokens[:8]))
            reads += 8

    reader = asyncio.create_task(hammer())
    for round_number in range(1, STRESS_ROUNDS + 1):
        failures_before = events.count("connect_failure")
        await asyncio.gather(*(backend.connect(token, "qr", "") for token in tokens))
        if round_number != 2:  # round 2 stops everything while the failures are still being handled
            await events.wait("connect_failure", failures_before + STRESS_CLIENTS)
        await asyncio.gather(*(backend.disconnect(token) for token in tokens))
    hammering = False
    await reader
    await backend.close()
    return {
        "failures": events.count("connect_failure"),
        "reads": reads,
        "threads_after_close": thread_names(),
        "sessions_left": await asyncio.to_thread(
            lambda: sorted(p.name for p in Path(data_dir, "sessions").iterdir())
        ),
    }


def main() -> int:
    mode, data_dir, result_path = sys.argv[1:4]
    probe = {"offline": offline, "stress": stress}[mode]
    result = asyncio.run(probe(data_dir))
    result["threads_at_exit"] = thread_names()
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
