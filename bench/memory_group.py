"""Group 5, memory: idle RSS, RSS per sandbox device, and the neonize worker with offline clients.

RSS is VmRSS from /proc, read after a one-second settle. The baseline is the bare aiohttp app idle.
The neonize part runs in ``unshare -n`` (a network namespace with only loopback) so that its
connection attempts cannot leave the machine; without ``unshare`` those rows say "not measured".
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from typing import Any, Final

from bench.context import Bench, parse_result
from bench.gateway_api import GatewayApi, tokens
from bench.procs import ROOT, helper_env, rss_mb, wait_healthy
from bench.report import NOT_MEASURED, GroupResult, Row, fmt, ratio, verdict

GROUP: Final = "Memory"
IDLE_TARGET_MB: Final = 60.0
PER_DEVICE_TARGET_MB: Final = 1.0
SETTLE_S: Final = 1.0
NEONIZE_TIMEOUT_S: Final = 300.0


async def run(bench: Bench) -> GroupResult:
    result = GroupResult(GROUP)
    sizes = bench.sizes
    bare = bench.launcher.start_bare(bench.scratch("memory-bare"))
    gateway = bench.launcher.start_gateway(bench.scratch("memory-gateway"))
    try:
        await wait_healthy(bare)
        await wait_healthy(gateway)
        async with GatewayApi(gateway.url) as api:
            worker = await api.worker_pid()
            await asyncio.sleep(SETTLE_S)
            bare_mb, gateway_mb, worker_mb = rss_mb(bare.pid), rss_mb(gateway.pid), rss_mb(worker)
            bench.log(f"memory: linking {sizes.memory_devices} sandbox devices")
            await api.link_many(tokens(sizes.memory_devices, prefix="6013"))
            await asyncio.sleep(SETTLE_S)
            gateway_after, worker_after = rss_mb(gateway.pid), rss_mb(worker)
    finally:
        await bench.launcher.stop_async(gateway.proc)
        await bench.launcher.stop_async(bare.proc)
    per_device = (gateway_after - gateway_mb + worker_after - worker_mb) / sizes.memory_devices
    result.rows += [
        Row(
            GROUP,
            "idle RSS, gateway process",
            f"{fmt(gateway_mb, 1)} MB (engine worker {fmt(worker_mb, 1)} MB)",
            f"{fmt(bare_mb, 1)} MB",
            ratio(gateway_mb, bare_mb),
            f"< {IDLE_TARGET_MB:g} MB",
            verdict(gateway_mb < IDLE_TARGET_MB),
        ),
        Row(
            GROUP,
            f"RSS per sandbox device ({sizes.memory_devices} linked)",
            f"{fmt(per_device * 1024, 0)} kB",
            "-",
            "-",
            f"< {PER_DEVICE_TARGET_MB:g} MB",
            verdict(per_device < PER_DEVICE_TARGET_MB),
        ),
    ]
    result.details += [
        f"Idle: one second after the first `/health` 200. Per device: {sizes.memory_devices} sandbox devices "
        "paired (`POST /devices` + `/sandbox/.../link`, 8 at a time), one second to settle, then the growth "
        f"of gateway + engine worker divided by the count: gateway {fmt(gateway_mb, 1)} → "
        f"{fmt(gateway_after, 1)} MB, worker {fmt(worker_mb, 1)} → {fmt(worker_after, 1)} MB.",
    ]
    await _neonize(bench, result)
    return result


async def _neonize(bench: Bench, result: GroupResult) -> None:
    counts = bench.sizes.neonize_clients
    unshare = shutil.which("unshare")
    outcome: dict[str, Any] = {}
    reason = ""
    if unshare is None:
        reason = "unshare not found"
    else:
        bench.log(f"memory: neonize worker with {', '.join(map(str, counts))} offline clients (unshare -n)")
        argv = [
            unshare,
            "-n",
            sys.executable,
            "-m",
            "bench.neonize_memory",
            "--clients",
            ",".join(map(str, counts)),
            "--workdir",
            str(bench.scratch("neonize")),
        ]
        completed = await asyncio.to_thread(
            subprocess.run, argv, cwd=ROOT, env=helper_env(), capture_output=True, timeout=NEONIZE_TIMEOUT_S
        )
        if completed.returncode != 0 and b"unshare" in completed.stderr[:200]:
            reason = (
                f"cannot make a network namespace: {completed.stderr.decode(errors='replace').strip()[:120]}"
            )
        else:
            outcome = parse_result("bench.neonize_memory", completed)
            reason = str(outcome.get("skipped", ""))
    if reason:
        for count in counts:
            result.rows.append(
                Row(GROUP, f"neonize worker, {count} offline clients", reason, verdict=NOT_MEASURED)
            )
        return
    for count in counts:
        figures = outcome["counts"][str(count)]
        value = f"{fmt(figures['settled_mb'], 1)} MB"
        if count:
            value += f" (peak {fmt(figures['peak_mb'], 1)} MB)"
        result.rows.append(Row(GROUP, f"neonize worker, {count} offline clients", value, target="report"))
    result.details += [
        "",
        "neonize worker: the gateway with `WA_ENGINE=neonize` in `unshare -n` (loopback only), "
        f"first `/health` 200 after {fmt(float(outcome['startup_s']), 2)} s (the worker loads the shared "
        f"library before the gateway listens); gateway process {fmt(float(outcome['gateway_mb']), 1)} MB. "
        "For N clients, N devices start a QR pairing at once; each client's websocket dial fails at once "
        "offline and the client is stopped. *peak* is the worker's peak RSS while they ran, the value "
        "without it is one second after the last one ended. Offline clients hold no connection, so these "
        "figures are a floor: a connected device adds its websocket, its keys and its caches.",
        "",
        "| clients | settled MB | peak MB | threads | all ended after s |",
        "|---|---|---|---|---|",
        *(
            f"| {count} | {fmt(f['settled_mb'], 1)} | {fmt(f['peak_mb'], 1)} | {f['threads']} | "
            f"{fmt(f['seconds'], 2)} |"
            for count, f in ((c, outcome["counts"][str(c)]) for c in counts)
        ),
    ]
    result.rows.append(
        Row("Start-up", "from source (neonize engine)", f"{fmt(float(outcome['startup_s']), 2)} s")
    )
