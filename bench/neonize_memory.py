"""The neonize engine worker's memory, run inside a network namespace that has only loopback.

``unshare -n python -m bench.neonize_memory --clients 0,10,100 --workdir DIR``: brings ``lo`` up, starts
the gateway with ``WA_ENGINE=neonize`` on 127.0.0.1, and reads its engine worker's RSS with the shared
library loaded and idle, then while and after N devices start a QR pairing. With no route anywhere,
each client's websocket dial fails at once (docs/neonize.md §3), so these are offline clients: created,
failed, stopped. No packet can leave the namespace. Prints one JSON result.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any, Final

import orjson

from bench.gateway_api import GatewayApi, tokens, wait_for
from bench.procs import Launcher, PeakRss, proc_status_kb, rss_mb, wait_healthy

SIOCGIFFLAGS: Final = 0x8913
SIOCSIFFLAGS: Final = 0x8914
IFF_UP: Final = 0x1
SETTLE_S: Final = 1.0
FAILED_STATES: Final = frozenset({"disconnected", "logged_out"})


def bring_loopback_up() -> None:
    """``ip link set lo up`` without needing iproute2: a new namespace starts with lo down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request)[:18])[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def isolated() -> bool:
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def threads(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


async def measure(counts: list[int], workdir: Path) -> dict[str, Any]:
    launcher = Launcher()
    out: dict[str, Any] = {"counts": {}}
    try:
        gateway = launcher.start_gateway(workdir, extra_env={"WA_ENGINE": "neonize", "LOG_LEVEL": "warn"})
        out["startup_s"] = await wait_healthy(gateway, deadline_s=60.0)
        async with GatewayApi(gateway.url) as api:
            worker = await api.worker_pid()
            await asyncio.sleep(SETTLE_S)
            out["gateway_mb"] = rss_mb(gateway.pid)
            base = 1
            for count in counts:
                batch = tokens(count, prefix=f"155{base:02d}") if count else []
                base += 1
                watch = PeakRss(worker)
                started = time.monotonic()
                await asyncio.gather(
                    *(api.ok("POST", "/devices", {"token": t, "method": "qr"}) for t in batch)
                )

                async def all_failed(batch: list[str] = batch) -> bool:
                    states = await asyncio.gather(*(api.device_status(t) for t in batch))
                    return all(state is None or state in FAILED_STATES for state in states)

                await wait_for(all_failed, 60.0, f"{count} offline connects to end")
                failed_s = time.monotonic() - started
                await asyncio.sleep(SETTLE_S)
                peak = watch.stop()
                out["counts"][str(count)] = {
                    "settled_mb": rss_mb(worker),
                    "peak_mb": peak,
                    "threads": threads(worker),
                    "seconds": failed_s,
                    "vm_hwm_kb": proc_status_kb(worker).get("VmHWM", 0),
                }
        await launcher.stop_async(gateway.proc)
    finally:
        launcher.stop_all()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", default="0,10,100")
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    bring_loopback_up()
    if not isolated():
        result: dict[str, Any] = {"skipped": "not in a network namespace with only loopback"}
    else:
        result = asyncio.run(measure([int(n) for n in args.clients.split(",")], args.workdir))
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
