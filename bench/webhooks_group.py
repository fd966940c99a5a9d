"""Group 3, webhooks: a backlog queued while the receiver is down, then drained signed and in order.

The receiver (``bench.receiver``, its own process) answers 503 ``Retry-After: 1`` while down. N incoming
messages are injected across D devices (each device's in order), the outbox is left to fill, the
receiver comes up, and we time until it has every event. Delivery rate is taken over the drain, from
the first to the last delivery; the drain time runs from the moment the receiver came up. Baseline:
``bench.webhook_sender`` posting the same number of signed bodies to the same receiver.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, Final

import aiohttp

from bench.context import Bench
from bench.gateway_api import GatewayApi, SetupError, tokens, wait_for
from bench.procs import HOST, free_port, helper_env, wait_healthy
from bench.receiver import ID_PREFIX
from bench.report import GroupResult, Row, fmt, ratio, verdict

GROUP: Final = "Webhooks"
SECRET: Final = "bench-webhook-secret-0123456789"
RATE_TARGET: Final = 1000.0
DRAIN_TARGET_S: Final = 15.0
SENDER: Final = "60111111111"
DRAIN_DEADLINE_S: Final = 180.0
_SETTLE_S: Final = 0.5


class Receiver:
    def __init__(self, bench: Bench) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        argv = [sys.executable, "-m", "bench.receiver", "--port", str(self.port), "--secret", SECRET]
        self.proc = bench.launcher.spawn(
            argv, cwd=bench.scratch("receiver"), env=helper_env(), log_name="r.log"
        )
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def call(self, method: str, path: str) -> dict[str, Any]:
        async with self._session.request(method, self.url + path) as resp:
            result: dict[str, Any] = await resp.json()
            return result

    async def ready(self) -> None:
        async def answers() -> bool:
            try:
                await self.call("GET", "/_stats")
            except aiohttp.ClientError:
                return False
            return True

        await wait_for(answers, 15.0, "the webhook receiver")

    async def close(self) -> None:
        await self._session.close()


async def run(bench: Bench) -> GroupResult:
    result = GroupResult(GROUP)
    sizes = bench.sizes
    devices = tokens(sizes.webhook_devices)
    events = sizes.webhook_events - sizes.webhook_events % len(devices)
    receiver = Receiver(bench)
    try:
        await receiver.ready()
        bench.log(f"webhooks: baseline sender, {events} signed posts")
        baseline = await bench.helper(
            "webhook_sender",
            ["--url", receiver.url + "/hook", "--secret", SECRET, "--events", str(events), "--devices", "8"],
        )
        await receiver.call("POST", "/_down")
        await receiver.call("POST", "/_reset")
        gateway = bench.launcher.start_gateway(
            bench.scratch("webhooks-gateway"),
            extra_env={"WEBHOOK_URL": receiver.url + "/hook", "WEBHOOK_SECRET": SECRET},
        )
        await wait_healthy(gateway)
        async with GatewayApi(gateway.url) as api:
            await api.link_many(devices)
            bench.log(f"webhooks: injecting {events} events on {len(devices)} devices (receiver down)")
            inject_s = await _inject(api, devices, events // len(devices))
            pending = await _settled_pending(api, events)
            bench.log(f"webhooks: {pending} pending; receiver up")
            up = await receiver.call("POST", "/_up")
            stats = await _drained(receiver, events)
        await bench.launcher.stop_async(gateway.proc)
    finally:
        await receiver.close()
        await bench.launcher.stop_async(receiver.proc)

    first, last, up_at = float(stats["first_at"]), float(stats["last_at"]), float(up["up_at"])
    drain_s = last - up_at
    rate = stats["delivered"] / (last - first) if last > first else float("nan")
    lost = events - int(stats["distinct_bench_ids"])
    clean = lost == 0 and stats["out_of_order"] == 0 and stats["bad_signature"] == 0
    result.rows += [
        Row(
            GROUP,
            f"signed deliveries/s ({len(devices)} devices)",
            f"{fmt(rate, 0)}/s",
            f"{fmt(float(baseline['rate']), 0)}/s",
            ratio(rate, float(baseline["rate"])),
            f"≥ {RATE_TARGET:,.0f}/s",
            verdict(rate >= RATE_TARGET),
        ),
        Row(
            GROUP,
            f"backlog of {events:,} drained",
            f"{fmt(drain_s, 1)} s, {lost} lost, {stats['out_of_order']} out of order",
            f"{fmt(events / float(baseline['rate']), 1)} s",
            ratio(drain_s, events / float(baseline["rate"])),
            f"< {DRAIN_TARGET_S:g} s, zero lost, in order",
            verdict(drain_s < DRAIN_TARGET_S and clean),
        ),
    ]
    result.details += [
        f"{events:,} incoming messages were injected through `POST /sandbox/devices/{{token}}/messages` on "
        f"{len(devices)} devices (each device's in order, devices in parallel: {fmt(inject_s, 1)} s) while "
        "the receiver answered 503 `Retry-After: 1`; the outbox then held "
        f"{pending:,} pending events (with each device's `device.connected` and `contacts.new`). The "
        "receiver checked `X-Webhook-Signature` on every delivery and the order of each device's message "
        "ids. Baseline: `bench/webhook_sender.py`, an aiohttp client posting the same number of signed "
        f"bodies, one in flight per device, 8 devices at once ({fmt(float(baseline['seconds']), 2)} s).",
        "",
        f"Receiver tally: {stats['delivered']:,} delivered "
        f"({', '.join(f'{name} {count:,}' for name, count in stats['events'].items())}), "
        f"{stats['refused']:,} refused while down, {stats['duplicates']} duplicates, "
        f"{stats['bad_signature']} bad signatures, {stats['out_of_order']} out of order.",
    ]
    return result


async def _inject(api: GatewayApi, devices: list[str], per_device: int) -> float:
    async def device(index: int, token: str) -> None:
        for seq in range(per_device):
            body = {
                "from": SENDER,
                "text": f"webhook benchmark {seq}",
                "id": f"{ID_PREFIX}{index:02d}{seq:07d}",
            }
            await api.ok("POST", f"/sandbox/devices/{token}/messages", body)

    started = time.monotonic()
    await asyncio.gather(*(device(index, token) for index, token in enumerate(devices)))
    return time.monotonic() - started


async def _settled_pending(api: GatewayApi, events: int) -> int:
    """Wait until the outbox holds at least ``events`` pending rows and stops growing."""
    last = -1
    deadline = time.monotonic() + DRAIN_DEADLINE_S
    while time.monotonic() < deadline:
        pending = int((await api.ok("GET", "/webhooks/stats"))["pending"])
        if pending >= events and pending == last:
            return pending
        last = pending
        await asyncio.sleep(_SETTLE_S)
    raise SetupError(f"the outbox never settled at {events} pending events (last {last})")


async def _drained(receiver: Receiver, events: int) -> dict[str, Any]:
    async def done() -> dict[str, Any]:
        stats = await receiver.call("GET", "/_stats")
        return stats if stats["distinct_bench_ids"] >= events else {}

    try:
        return await wait_for(done, DRAIN_DEADLINE_S, f"{events} deliveries")
    except SetupError:
        return await receiver.call("GET", "/_stats")
