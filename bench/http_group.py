"""Group 1, HTTP: ``POST /messages`` at concurrency 1/16/64 and ``GET /health``, gateway against bare app.

Gateway and bare app run side by side; rounds alternate which one goes first, so slow drift of a noisy
machine hits both. Each round is a fresh load-generator process (``bench.loadgen``). Besides requests/s,
each round records the CPU time the server processes used per request (from /proc): unlike throughput it
hardly moves when other work shares the machine, so it shows where a ratio comes from.

``POST /validate/phone`` answered from the cache has the same middlewares and body parsing as
``POST /messages`` but no engine round trip; the difference between the two is the engine's share.
``POST /messages`` is also measured against the bare app with one IPC round trip to a bare worker
(``bare_app.py --ipc``): the cost of the isolated worker itself, so the gateway's own share shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from bench.context import Bench
from bench.gateway_api import GatewayApi, tokens
from bench.procs import AUTH, Server, child_pids, cpu_seconds, wait_healthy
from bench.report import REPORT, GroupResult, Row, fmt, ratio, verdict
from bench.stats import median

GROUP: Final = "HTTP"
MESSAGE_TO: Final = "60123456789"
# Issue 12: the isolated worker costs a round trip, so the targets are set against both baselines.
MESSAGES_RATIO_TARGET: Final = 0.35
MESSAGES_IPC_RATIO_TARGET: Final = 0.7
MESSAGES_P99_TARGET_MS: Final = 25.0
HEALTH_RATIO_TARGET: Final = 0.8
FIXED_CONCURRENCY: Final = 16
CONCURRENCIES: Final = (1, 16, 64)


@dataclass(frozen=True)
class Figure:
    label: str
    method: str
    path: str
    concurrency: int
    body: bytes = b""


@dataclass
class Rounds:
    runs: list[dict[str, Any]]

    def median(self, key: str) -> float:
        return median([float(run[key]) for run in self.runs if key in run])

    @property
    def errors(self) -> int:
        return sum(int(run["errors"]) for run in self.runs)


async def run(bench: Bench) -> GroupResult:
    result = GroupResult(GROUP)
    sizes = bench.sizes
    gateway = bench.launcher.start_gateway(bench.scratch("http-gateway"))
    bare = bench.launcher.start_bare(bench.scratch("http-bare"))
    bare_ipc = bench.launcher.start_bare(bench.scratch("http-bare-ipc"), "bare+IPC", ipc=True)
    try:
        await wait_healthy(gateway)
        await wait_healthy(bare)
        await wait_healthy(bare_ipc)
        (bare_worker,) = child_pids(bare_ipc.pid)
        (token,) = tokens(1)
        async with GatewayApi(gateway.url) as api:
            await api.link(token)
            worker = await api.worker_pid()
        body = orjson.dumps({"token": token, "to": MESSAGE_TO, "text": "benchmark message"})
        figures = [Figure(f"POST /messages c={c}", "POST", "/messages", c, body) for c in CONCURRENCIES]
        figures += [
            Figure(f"GET /health c={FIXED_CONCURRENCY}", "GET", "/health", FIXED_CONCURRENCY),
            Figure(
                f"POST /validate/phone (cached) c={FIXED_CONCURRENCY}",
                "POST",
                "/validate/phone",
                FIXED_CONCURRENCY,
                orjson.dumps({"token": token, "phone": MESSAGE_TO}),
            ),
        ]
        for figure in figures:
            bench.log(f"http: {figure.label}")
            servers = [(gateway, worker), (bare, None)]
            if figure.path == "/messages":
                servers.append((bare_ipc, bare_worker))
            measured = {server.name: Rounds([]) for server, _ in servers}
            for index in range(sizes.rounds):
                # Rotated, so that slow drift of a shared machine hits every server alike.
                shift = index % len(servers)
                for server, child in servers[shift:] + servers[:shift]:
                    measured[server.name].runs.append(await _round(bench, server, figure, child))
            ipc_rounds = measured.get(bare_ipc.name)
            result.rows.append(_row(figure, measured["gateway"], measured["bare"], ipc_rounds))
            result.details.append(_detail(figure, measured))
    finally:
        await bench.launcher.stop_async(gateway.proc)
        await bench.launcher.stop_async(bare.proc)
        await bench.launcher.stop_async(bare_ipc.proc)
    result.details[:0] = [
        "Load generator: `bench/loadgen.py`, a separate process with raw HTTP/1.1 keep-alive connections "
        "(it needs far less CPU per request than aiohttp's client, which tops out near 3,000 req/s here and "
        f"would hide the server's own cost). {sizes.rounds} round(s) of {sizes.duration_s:g} s after "
        f"{sizes.warmup_s:g} s warm-up per figure and server, alternating which server goes first. "
        "Sandbox engine, `TYPING_DELAY_MS=0`, rate limits off, JSON access log on (the default), one linked "
        "device. Baseline: `bench/bare_app.py`, an aiohttp app without middlewares that parses the same body "
        "with orjson and answers the same envelope. *bare+IPC* (`POST /messages` only): the same app making "
        "one framed round trip per request to `bench/bare_worker.py`, a process that only answers, over a "
        "socketpair. *CPU µs/req*: user+system CPU time of the server process (and of its worker, after "
        "the `+`) per request answered.",
        "",
        "| figure | server | req/s per round | p50 ms | p99 ms | CPU µs/req | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    return result


async def _round(bench: Bench, server: Server, figure: Figure, worker: int | None) -> dict[str, Any]:
    sizes = bench.sizes
    args = [
        "--url",
        server.url + figure.path,
        "--method",
        figure.method,
        "--concurrency",
        str(figure.concurrency),
        "--duration",
        str(sizes.duration_s),
        "--warmup",
        str(sizes.warmup_s),
        "--header",
        f"Authorization: {AUTH['Authorization']}",
    ]
    if figure.body:
        args += ["--body", figure.body.decode()]
    pids = [server.pid] if worker is None else [server.pid, worker]
    before = [cpu_seconds(pid) for pid in pids]
    outcome = await bench.helper("loadgen", args)
    used = [cpu_seconds(pid) - start for pid, start in zip(pids, before, strict=True)]
    answered = max(1, int(outcome["total"]))
    outcome["cpu_us"] = used[0] / answered * 1e6
    if worker is not None:
        outcome["worker_cpu_us"] = used[1] / answered * 1e6
    return outcome


def _row(figure: Figure, gateway: Rounds, bare: Rounds, bare_ipc: Rounds | None) -> Row:
    rps, base_rps = gateway.median("rps"), bare.median("rps")
    p50, p99 = gateway.median("p50_ms"), gateway.median("p99_ms")
    value = f"{fmt(rps, 0)} req/s, p50 {fmt(p50, 2)} ms, p99 {fmt(p99, 2)} ms"
    baseline = f"{fmt(base_rps, 0)} req/s, p99 {fmt(bare.median('p99_ms'), 2)} ms"
    shown_ratio = ratio(rps, base_rps)
    share = rps / base_rps if base_rps else 0.0
    if figure.path == "/validate/phone":
        target, ok = "report (no engine call)", None
    elif figure.path == "/health":
        target = f"≥ {HEALTH_RATIO_TARGET}x bare"
        ok = share >= HEALTH_RATIO_TARGET
    else:
        ipc_rps = bare_ipc.median("rps") if bare_ipc is not None else float("nan")
        ipc_share = rps / ipc_rps if ipc_rps else 0.0
        baseline += f"; bare+IPC {fmt(ipc_rps, 0)} req/s"
        shown_ratio += f"; {ratio(rps, ipc_rps)} of bare+IPC"
        target = f"≥ {MESSAGES_RATIO_TARGET}x bare, ≥ {MESSAGES_IPC_RATIO_TARGET}x bare+IPC"
        ok = share >= MESSAGES_RATIO_TARGET and ipc_share >= MESSAGES_IPC_RATIO_TARGET
        if figure.concurrency == FIXED_CONCURRENCY:
            target += f", p99 < {MESSAGES_P99_TARGET_MS:g} ms"
            ok = ok and p99 < MESSAGES_P99_TARGET_MS
    if gateway.errors:
        value += f", {gateway.errors} errors"
    clean = gateway.errors == 0 and bare.errors == 0 and (bare_ipc is None or bare_ipc.errors == 0)
    result = REPORT if ok is None else verdict(ok and clean)
    return Row(GROUP, figure.label, value, baseline, shown_ratio, target, result)


def _detail(figure: Figure, measured: dict[str, Rounds]) -> str:
    lines = []
    for name, rounds in measured.items():
        per_round = ", ".join(fmt(float(run["rps"]), 0) for run in rounds.runs)
        sample = next((s for run in rounds.runs for s in run.get("error_samples", [])), "")
        errors = f"{rounds.errors} ({sample})" if rounds.errors else "0"
        cpu = fmt(rounds.median("cpu_us"), 0)
        if any("worker_cpu_us" in run for run in rounds.runs):
            cpu += f" + {fmt(rounds.median('worker_cpu_us'), 0)}"
        lines.append(
            f"| {figure.label} | {name} | {per_round} | {fmt(rounds.median('p50_ms'), 2)} | "
            f"{fmt(rounds.median('p99_ms'), 2)} | {cpu} | {errors} |"
        )
    return "\n".join(lines)
