"""Group 2, WebSocket fan-out: N authenticated clients, E events, every client must get every event.

The clients live in separate processes (``bench.ws_clients``, the count split between them so that no
single client process becomes the bottleneck); this process injects the events once they are all
connected and subscribed. The gateway's RSS is read before the clients connect and its peak tracked
until they have gone. The baseline is the bare app's broadcast of a frame of the same shape.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, Final

import aiohttp
import orjson

from bench.context import Bench
from bench.gateway_api import GatewayApi, tokens
from bench.procs import API_KEY, AUTH, ROOT, PeakRss, Server, cpu_seconds, helper_env, wait_healthy
from bench.report import GroupResult, Row, fmt, ratio, verdict
from bench.stats import percentile

GROUP: Final = "WebSocket"
P99_TARGET_MS: Final = 100.0
RSS_GROWTH_TARGET_MB: Final = 50.0
SENDER: Final = "60111111111"
READY_TIMEOUT_S: Final = 120.0
FINISH_TIMEOUT_S: Final = 120.0


async def run(bench: Bench) -> GroupResult:
    result = GroupResult(GROUP)
    sizes = bench.sizes
    (token,) = tokens(1)
    gateway = bench.launcher.start_gateway(bench.scratch("ws-gateway"))
    bare = bench.launcher.start_bare(bench.scratch("ws-bare"))
    try:
        await wait_healthy(gateway)
        await wait_healthy(bare)
        async with GatewayApi(gateway.url) as api:
            await api.link(token)
        bench.log(f"ws: {sizes.ws_clients} clients x {sizes.ws_events} events, gateway")
        gw = await _fan_out(bench, gateway, token, f"/sandbox/devices/{token}/messages")
        bench.log("ws: bare app")
        base = await _fan_out(bench, bare, token, "/broadcast")
    finally:
        await bench.launcher.stop_async(gateway.proc)
        await bench.launcher.stop_async(bare.proc)

    expected = sizes.ws_clients * sizes.ws_events
    complete = gw["missing"] == 0 and gw["closed_early"] == 0 and gw["inject_errors"] == 0
    result.rows += [
        Row(
            GROUP,
            f"{sizes.ws_clients} clients x {sizes.ws_events} events delivered",
            f"{gw['frames']:,} of {expected:,} ({gw['closed_early']} dropped)",
            f"{base['frames']:,} of {expected:,}",
            "-",
            "every client gets every event",
            verdict(complete),
        ),
        Row(
            GROUP,
            "event-to-client latency",
            f"p50 {fmt(gw['p50_ms'], 1)} ms, p99 {fmt(gw['p99_ms'], 1)} ms",
            f"p50 {fmt(base['p50_ms'], 1)} ms, p99 {fmt(base['p99_ms'], 1)} ms",
            ratio(gw["p99_ms"], base["p99_ms"]),
            f"p99 < {P99_TARGET_MS:g} ms",
            verdict(gw["p99_ms"] < P99_TARGET_MS),
        ),
        Row(
            GROUP,
            f"RSS growth with {sizes.ws_clients} clients",
            f"{fmt(gw['growth_mb'], 1)} MB",
            f"{fmt(base['growth_mb'], 1)} MB",
            "-",
            f"< {RSS_GROWTH_TARGET_MB:g} MB",
            verdict(gw["growth_mb"] < RSS_GROWTH_TARGET_MB),
        ),
    ]
    result.details += [
        f"{sizes.ws_clients} clients spread over {sizes.ws_processes} `bench/ws_clients.py` processes (64 "
        "handshakes at a time each) authenticate and subscribe to `message.received`; then this process "
        f"injects {sizes.ws_events} incoming messages through `POST /sandbox/devices/{{token}}/messages`, "
        f"one every {sizes.ws_interval_s * 1000:g} ms. Latency runs from just before the injecting request "
        "to the moment a client process read the frame (one monotonic clock for the machine), so it includes "
        "the sandbox engine's round trip and the client processes' own time to read their sockets. RSS "
        "growth: the server's peak RSS while the clients were connected minus its RSS before. Server CPU: "
        "what the server process used from the first connection to the last close. Baseline: the bare app "
        "(`/ws` + `POST /broadcast`) writing a frame of the same shape to each socket in turn.",
        "",
        "| server | connect s | frames | missing | p50 ms | p99 ms | max ms | peak RSS growth MB "
        "| server CPU s |",
        "|---|---|---|---|---|---|---|---|---|",
        _detail("gateway", gw),
        _detail("bare", base),
    ]
    return result


async def _fan_out(bench: Bench, server: Server, token: str, inject_path: str) -> dict[str, Any]:
    sizes = bench.sizes
    per_process = [sizes.ws_clients // sizes.ws_processes] * sizes.ws_processes
    per_process[0] += sizes.ws_clients - sum(per_process)
    watch = PeakRss(server.pid)
    cpu_before = cpu_seconds(server.pid)
    listeners = [await _listener(server, count, sizes.ws_events) for count in per_process]
    try:
        for proc in listeners:
            line = await asyncio.wait_for(_stdout(proc).readline(), READY_TIMEOUT_S)
            if line.strip() != b"READY":
                raise RuntimeError(f"a WebSocket client process failed: {line[:300]!r}")
        sent, inject_errors = await _inject(server, token, inject_path, sizes.ws_events, sizes.ws_interval_s)
        outputs = [await asyncio.wait_for(proc.communicate(), FINISH_TIMEOUT_S) for proc in listeners]
    finally:
        for proc in listeners:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        peak = watch.stop()
    cpu_s = cpu_seconds(server.pid) - cpu_before
    latencies_ms: list[float] = []
    missing = closed_early = 0
    connect_s = 0.0
    for proc, (out, _) in zip(listeners, outputs, strict=True):
        if proc.returncode != 0:
            raise RuntimeError(f"a WebSocket client process exited {proc.returncode}")
        part = orjson.loads(out.strip().splitlines()[-1])
        latencies_ms += [(t - sent[seq]) * 1000 for seq, t in zip(part["seqs"], part["times"], strict=True)]
        missing += int(part["missing"])
        closed_early += int(part["closed_early"])
        connect_s = max(connect_s, float(part["connect_s"]))
    return {
        "connect_s": connect_s,
        "frames": len(latencies_ms),
        "missing": missing,
        "closed_early": closed_early,
        "inject_errors": inject_errors,
        "p50_ms": percentile(latencies_ms, 0.50),
        "p99_ms": percentile(latencies_ms, 0.99),
        "max_ms": max(latencies_ms) if latencies_ms else float("nan"),
        "growth_mb": peak - watch.start_mb,
        "cpu_s": cpu_s,
    }


async def _listener(server: Server, clients: int, events: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.ws_clients",
        "--ws-url",
        server.url.replace("http://", "ws://") + "/ws",
        "--api-key",
        API_KEY,
        "--clients",
        str(clients),
        "--events",
        str(events),
        cwd=ROOT,
        env=helper_env(),
        stdout=asyncio.subprocess.PIPE,
    )


def _stdout(proc: asyncio.subprocess.Process) -> asyncio.StreamReader:
    if proc.stdout is None:
        raise RuntimeError("client process has no stdout")
    return proc.stdout


async def _inject(
    server: Server, token: str, path: str, events: int, interval: float
) -> tuple[dict[int, float], int]:
    sent: dict[int, float] = {}
    errors = 0
    async with aiohttp.ClientSession(headers=AUTH) as session:
        next_at = time.monotonic()
        for seq in range(events):
            body = orjson.dumps({"token": token, "from": SENDER, "text": f"bench-{seq}"})
            sent[seq] = time.monotonic()
            async with session.post(server.url + path, data=body) as resp:
                await resp.read()
                if resp.status != 200:
                    errors += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    return sent, errors


def _detail(name: str, outcome: dict[str, Any]) -> str:
    return (
        f"| {name} | {fmt(outcome['connect_s'], 2)} | {outcome['frames']:,} | {outcome['missing']} | "
        f"{fmt(outcome['p50_ms'], 1)} | {fmt(outcome['p99_ms'], 1)} | {fmt(outcome['max_ms'], 1)} | "
        f"{fmt(outcome['growth_mb'], 1)} | {fmt(outcome['cpu_s'], 2)} |"
    )
