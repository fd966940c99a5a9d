#!/usr/bin/env python3
"""One node against three on one machine: ``python3 bench/cluster.py [--quick]``.

Starts real gateway processes (sandbox engine) on one PostgreSQL server (from Debian's ``postgresql``,
the same server the tests start), links devices spread over the nodes, and measures:
- ``POST /messages`` requests/s at concurrency 16, the requests spread round-robin over the nodes, so with
  three nodes two in three are forwarded to the device's owner;
- PostgreSQL connections each node holds (``pg_stat_activity`` of the run's database, divided by nodes);
- failover: seconds from a ``kill -9`` of a device's owner until another node owns it (three nodes).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402

from bench.gateway_api import GatewayApi, wait_for  # noqa: E402
from bench.procs import AUTH, Launcher, Server, free_port, gateway_env, wait_healthy  # noqa: E402
from tests.servers import PostgresServer  # noqa: E402

CONCURRENCY: Final = 16
LEASE_TTL_S: Final = 3
SECRET: Final = "bench-cluster-secret-0123456789abcdef"
PEER: Final = "60198765432"


async def _start_nodes(launcher: Launcher, root: Path, url: str, count: int) -> list[Server]:
    nodes = []
    for index in range(count):
        name, port, workdir = f"n{index}", free_port(), root / f"n{index}"
        extra = {
            "DATABASE_URL": url,
            "DATABASE_POOL_SIZE": "10",
            "NODE_ID": name,
            "NODE_URL": f"http://127.0.0.1:{port}",
            "CLUSTER_SECRET": SECRET,
            "LEASE_TTL_SECONDS": str(LEASE_TTL_S),
            "LOG_LEVEL": "warn",
        }
        started = time.monotonic()
        argv = [sys.executable, str(_ROOT / "gateway.py")]
        proc = launcher.spawn(
            argv, cwd=workdir, env=gateway_env(port, workdir / "data", extra), log_name="gw.log"
        )
        nodes.append(Server(name, proc, port, workdir, started))
    for server in nodes:
        await wait_healthy(server, 60.0)
    return nodes


async def _rate(urls: list[str], bodies: list[dict[str, Any]]) -> float:
    queue = list(reversed(bodies))
    targets = itertools.cycle(urls)
    async with aiohttp.ClientSession(headers=AUTH) as session:

        async def worker() -> None:
            while queue:
                body = queue.pop()
                async with session.post(next(targets) + "/messages", json=body) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"POST /messages answered {resp.status}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return len(bodies) / (time.perf_counter() - started)


async def _owner(api: GatewayApi, token: str) -> str | None:
    data = await api.ok("GET", "/cluster")
    for device in data["devices"]:
        if device["token"] == token:
            owner: str | None = device["owner"]
            return owner
    return None


async def measure(
    server: PostgresServer, count: int, devices: int, requests: int, root: Path
) -> dict[str, Any]:
    url = server.create_database(f"bench_{count}_{os.getpid()}")
    launcher = Launcher()
    try:
        nodes = await _start_nodes(launcher, root / f"nodes{count}", url, count)
        tokens = [f"6012{index:07d}" for index in range(devices)]
        apis = [GatewayApi(node.url) for node in nodes]
        try:
            # Each device is paired on the node that is asked, so they spread round-robin.
            await asyncio.gather(*(apis[i % count].link(t) for i, t in enumerate(tokens)))
            bodies = [{"token": tokens[i % devices], "to": PEER, "text": f"m{i}"} for i in range(requests)]
            rate = await _rate([n.url for n in nodes], bodies)
            conn = await asyncpg.connect(server.url("postgres"))
            try:
                held = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", url.rsplit("/", 1)[1]
                )
            finally:
                await conn.close()
            failover = None
            if count > 1:
                victim = await _owner(apis[1], tokens[0])
                index = next(i for i, n in enumerate(nodes) if n.name == victim)
                os.killpg(nodes[index].proc.pid, signal.SIGKILL)
                killed = time.monotonic()
                other = apis[(index + 1) % count]

                async def moved() -> bool:
                    return await _owner(other, tokens[0]) not in (None, victim)

                await wait_for(moved, LEASE_TTL_S + 10, "another owner")
                failover = time.monotonic() - killed
        finally:
            for api in apis:
                await api.close()
        return {"nodes": count, "rate": rate, "connections": int(held) / count, "failover": failover}
    finally:
        launcher.stop_all()


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few devices and requests")
    args = parser.parse_args(argv)
    devices, requests = (3, 300) if args.quick else (12, 3000)
    server = PostgresServer()
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="wa-bench-cluster-") as tmp:
            results = [await measure(server, n, devices, requests, Path(tmp)) for n in (1, 3)]
    finally:
        server.close()
    print(f"devices={devices} requests={requests} concurrency={CONCURRENCY} lease_ttl={LEASE_TTL_S}s")
    print("nodes  POST /messages req/s  PostgreSQL connections per node  failover s")
    for r in results:
        failover = f"{r['failover']:.2f}" if r["failover"] is not None else "-"
        print(f"{r['nodes']:>5}  {r['rate']:>20.0f}  {r['connections']:>31.1f}  {failover:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
