"""What every benchmark group gets: sizes (full or quick), a process launcher and a scratch directory."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson

from bench.procs import ROOT, Launcher, helper_env

HELPER_TIMEOUT_S: Final = 300.0


@dataclass(frozen=True)
class Sizes:
    rounds: int  # rounds per HTTP figure; medians are taken over them
    duration_s: float  # measured seconds per HTTP round
    warmup_s: float
    ws_clients: int
    ws_events: int
    ws_interval_s: float
    ws_processes: int  # client processes the clients are spread over
    webhook_events: int
    webhook_devices: int
    sync_contacts: int
    sync_batch: int
    csv_contacts: int
    memory_devices: int
    neonize_clients: tuple[int, ...]
    startup_rounds: int
    pyz_first_rounds: int


FULL: Final = Sizes(
    rounds=3,
    duration_s=5.0,
    warmup_s=1.0,
    ws_clients=1000,
    ws_events=100,
    ws_interval_s=0.1,
    ws_processes=2,
    webhook_events=10_000,
    webhook_devices=8,
    sync_contacts=100_000,
    sync_batch=10_000,
    csv_contacts=1_000_000,
    memory_devices=200,
    neonize_clients=(0, 10, 100),
    startup_rounds=5,
    pyz_first_rounds=3,
)
QUICK: Final = Sizes(
    rounds=1,
    duration_s=0.4,
    warmup_s=0.1,
    ws_clients=20,
    ws_events=5,
    ws_interval_s=0.01,
    ws_processes=1,
    webhook_events=200,
    webhook_devices=2,
    sync_contacts=2_000,
    sync_batch=1_000,
    csv_contacts=5_000,
    memory_devices=4,
    neonize_clients=(0, 2),
    startup_rounds=1,
    pyz_first_rounds=1,
)


@dataclass
class Bench:
    sizes: Sizes
    quick: bool
    launcher: Launcher
    workdir: Path
    pyz: Path | None

    def scratch(self, name: str) -> Path:
        """A fresh directory for one process or store."""
        path = self.workdir / f"{name}-{time.monotonic_ns()}"
        path.mkdir(parents=True)
        return path

    def log(self, text: str) -> None:
        print(f"[bench] {text}", file=sys.stderr, flush=True)

    async def helper(
        self, module: str, args: list[str], timeout_s: float = HELPER_TIMEOUT_S
    ) -> dict[str, Any]:
        """Run ``python -m bench.<module>`` to completion; its last stdout line is a JSON result."""
        completed = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", f"bench.{module}", *args],
            cwd=ROOT,
            env=helper_env(),
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
        return parse_result(f"bench.{module}", completed)


def parse_result(name: str, completed: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    if completed.returncode != 0:
        tail = completed.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{name} exited {completed.returncode}: {tail}")
    lines = completed.stdout.decode().strip().splitlines()
    if not lines:
        raise RuntimeError(f"{name} printed no result")
    result: dict[str, Any] = orjson.loads(lines[-1])
    return result
