"""Group 4, contacts: a large history sync while ``/health`` is probed, and a very large CSV export.

Sync: the contacts arrive through the sandbox's history-sync route in batches (as WhatsApp sends them)
and count as stored when ``GET /contacts/{token}`` reports them all; a paced ``bench.loadgen`` process
probes ``/health`` every 10 ms meanwhile, and for as long before the sync (the idle baseline).

Export: the contacts file is filled with the project's own ``ContactStore`` while the gateway is
stopped, the gateway is started afresh, and ``GET /contacts/{token}?format=csv`` is read to the end
by this process while the gateway's RSS is watched. Baseline: the bare app streaming the same file.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Final

import aiohttp

from bench.context import Bench, Sizes, parse_result
from bench.gateway_api import GatewayApi, tokens, wait_for
from bench.procs import AUTH, ROOT, PeakRss, Server, helper_env, wait_healthy
from bench.report import GroupResult, Row, fmt, ratio, verdict
from wa_gateway.clock import SystemClock
from wa_gateway.contacts.store import ContactStore, contacts_path

GROUP: Final = "Contacts"
SYNC_TARGET_S: Final = 3.0
HEALTH_P99_TARGET_MS: Final = 50.0
CSV_RATE_TARGET: Final = 200_000.0
CSV_RSS_TARGET_MB: Final = 50.0
PROBE_INTERVAL_S: Final = 0.01
IDLE_PROBE_S: Final = 2.0
FILL_BATCH: Final = 50_000
READ_CHUNK: Final = 256 * 1024
PROBE_LEAD_S: Final = 0.2
PROBE_STOP_S: Final = 30.0


def sync_contacts(count: int) -> list[dict[str, str]]:
    return [{"phone": f"6017{index:07d}", "name": f"Contact {index}"} for index in range(count)]


async def run(bench: Bench) -> GroupResult:
    result = GroupResult(GROUP)
    sizes = bench.sizes
    sync_token, csv_token = tokens(2)
    workdir = bench.scratch("contacts-gateway")
    gateway = bench.launcher.start_gateway(workdir)
    await wait_healthy(gateway)
    async with GatewayApi(gateway.url) as api:
        await api.link_many([sync_token, csv_token])
        bench.log("contacts: /health idle probe")
        idle = await _probe_health(bench, gateway, _sleep(IDLE_PROBE_S if not bench.quick else 0.3))
        bench.log(f"contacts: history sync of {sizes.sync_contacts:,}")
        sync_s: list[float] = []
        busy = await _probe_health(bench, gateway, _sync(api, sync_token, sizes.sync_contacts, sizes, sync_s))
    await bench.launcher.stop_async(gateway.proc)
    bare_insert_s = await asyncio.to_thread(
        _bare_insert, bench.scratch("bare-insert") / "c.db", sizes.sync_contacts
    )

    bench.log(f"contacts: filling {sizes.csv_contacts:,} contacts for the export")
    db_path = contacts_path(workdir / "data", csv_token)
    fill_s = await _fill(db_path, sizes.csv_contacts)
    gateway = bench.launcher.start_gateway(workdir, name="gateway-csv")
    bare = bench.launcher.start_bare(bench.scratch("contacts-bare"))
    try:
        await wait_healthy(gateway)
        await wait_healthy(bare)
        async with GatewayApi(gateway.url) as api:
            await wait_for(lambda: api.device_status(csv_token), 15.0, "the restored device")
        bench.log("contacts: CSV export")
        export = await _export(gateway, f"/contacts/{csv_token}?format=csv")
        base = await _export(bare, f"/contacts.csv?db={db_path}")
    finally:
        await bench.launcher.stop_async(gateway.proc)
        await bench.launcher.stop_async(bare.proc)

    stored_s = sync_s[0] if sync_s else float("nan")
    rows_ok = export["rows"] == sizes.csv_contacts
    result.rows += [
        Row(
            GROUP,
            f"history sync of {sizes.sync_contacts:,} stored",
            f"{fmt(stored_s, 2)} s",
            f"{fmt(bare_insert_s, 2)} s (sqlite alone)",
            ratio(stored_s, bare_insert_s),
            f"< {SYNC_TARGET_S:g} s",
            verdict(stored_s < SYNC_TARGET_S),
        ),
        Row(
            GROUP,
            "/health p99 during the sync",
            f"{fmt(busy['p99_ms'], 1)} ms (max {fmt(busy['max_ms'], 1)})",
            f"{fmt(idle['p99_ms'], 1)} ms idle",
            ratio(busy["p99_ms"], idle["p99_ms"]),
            f"< {HEALTH_P99_TARGET_MS:g} ms",
            verdict(busy["p99_ms"] < HEALTH_P99_TARGET_MS and busy["errors"] == 0),
        ),
        Row(
            GROUP,
            f"CSV export of {sizes.csv_contacts:,}",
            f"{fmt(export['rate'], 0)} rows/s",
            f"{fmt(base['rate'], 0)} rows/s",
            ratio(export["rate"], base["rate"]),
            f"≥ {CSV_RATE_TARGET:,.0f} rows/s",
            verdict(export["rate"] >= CSV_RATE_TARGET and rows_ok),
        ),
        Row(
            GROUP,
            "peak RSS growth during the export",
            f"{fmt(export['growth_mb'], 1)} MB",
            f"{fmt(base['growth_mb'], 1)} MB",
            "-",
            f"< {CSV_RSS_TARGET_MB:g} MB",
            verdict(export["growth_mb"] < CSV_RSS_TARGET_MB),
        ),
    ]
    result.details += [
        f"Sync: {sizes.sync_contacts:,} contacts in batches of {sizes.sync_batch:,} through "
        "`POST /sandbox/devices/{token}/history-sync`, posted one after another; stored = from the first "
        "post until `GET /contacts/{token}?limit=1` reports the full total (polled every 20 ms). `/health` "
        f"probe: one connection, a request every {PROBE_INTERVAL_S * 1000:g} ms; idle "
        f"{idle['requests']} requests, during the sync {busy['requests']} ({busy['errors']} errors). "
        "Baseline for the store: the same rows upserted by plain sqlite (`executemany`, one transaction, "
        "same table and index) in this process.",
        "",
        f"Export: {sizes.csv_contacts:,} contacts written with `ContactStore.upsert_many` in batches of "
        f"{FILL_BATCH:,} ({fmt(fill_s, 1)} s), gateway restarted, the CSV read to the end by this process: "
        f"gateway {export['rows']:,} rows, {export['bytes'] / 1e6:,.1f} MB in {fmt(export['seconds'], 2)} s, "
        f"RSS {fmt(export['start_mb'], 1)} MB before; bare app {base['rows']:,} rows in "
        f"{fmt(base['seconds'], 2)} s (`sqlite3` cursor on a thread, `csv.writer`, 1,000 rows a chunk).",
    ]
    return result


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def _sync(api: GatewayApi, token: str, count: int, sizes: Sizes, out: list[float]) -> None:
    contacts = sync_contacts(count)
    started = time.monotonic()
    for start in range(0, count, sizes.sync_batch):
        await api.ok(
            "POST",
            f"/sandbox/devices/{token}/history-sync",
            {"contacts": contacts[start : start + sizes.sync_batch]},
        )

    async def all_stored() -> bool:
        return await api.contacts_total(token) >= count

    await wait_for(all_stored, 120.0, f"{count} contacts stored")
    out.append(time.monotonic() - started)


async def _probe_health(bench: Bench, gateway: Server, during: Coroutine[Any, Any, None]) -> dict[str, Any]:
    """Probe ``/health`` from a paced load-generator process while ``during`` runs."""
    args = ["--url", gateway.url + "/health", "--interval", str(PROBE_INTERVAL_S), "--duration", "600"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        *args,
        "--warmup",
        "0",
        cwd=ROOT,
        env=helper_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.sleep(PROBE_LEAD_S)  # connected and probing before the work starts
        await during
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), PROBE_STOP_S)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    completed = subprocess.CompletedProcess(args, proc.returncode or 0, out, err)
    return parse_result("bench.loadgen", completed)


def _bare_insert(path: Path, count: int) -> float:
    rows = [
        (c["phone"], c["name"], "history", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
        for c in sync_contacts(count)
    ]
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            "CREATE TABLE contacts "
            "(phone TEXT PRIMARY KEY, name TEXT, source TEXT, first_seen TEXT, last_seen TEXT)"
        )
        conn.execute("CREATE INDEX contacts_by_last_seen ON contacts (last_seen DESC, phone)")
        started = time.monotonic()
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO contacts VALUES (?, ?, ?, ?, ?) ON CONFLICT (phone) DO UPDATE SET "
            "name = excluded.name, last_seen = excluded.last_seen",
            rows,
        )
        conn.execute("COMMIT")
        return time.monotonic() - started
    finally:
        conn.close()


async def _fill(path: Path, count: int) -> float:
    path.parent.mkdir(parents=True, exist_ok=True)
    store = ContactStore(path, SystemClock())
    started = time.monotonic()
    try:
        for start in range(0, count, FILL_BATCH):
            rows = [
                (f"6018{index:07d}", f"Contact {index}", "history")
                for index in range(start, min(count, start + FILL_BATCH))
            ]
            await store.upsert_many(rows)
    finally:
        await store.close()
    return time.monotonic() - started


async def _export(server: Server, path: str) -> dict[str, Any]:
    watch = PeakRss(server.pid)
    lines = 0
    size = 0
    timeout = aiohttp.ClientTimeout(total=600)
    try:
        async with aiohttp.ClientSession(headers=AUTH, timeout=timeout) as session:
            started = time.monotonic()
            async with session.get(server.url + path) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"GET {path} answered {resp.status}: {(await resp.read())[:300]!r}")
                async for chunk in resp.content.iter_chunked(READ_CHUNK):
                    lines += chunk.count(b"\n")
                    size += len(chunk)
            seconds = time.monotonic() - started
    finally:
        peak = watch.stop()
    rows = lines - 1  # the header line
    return {
        "rows": rows,
        "bytes": size,
        "seconds": seconds,
        "rate": rows / seconds if seconds > 0 else float("nan"),
        "start_mb": watch.start_mb,
        "growth_mb": peak - watch.start_mb,
    }
