"""A stalled sandbox session (connected, but mute) and the watchdog that brings it back, on a ManualClock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.conftest import EventRecorder, advance, wait_until
from tests.engine.sandbox_helpers import ALICE, TOKEN, code_of, linked
from wa_gateway.backends.sandbox.engine import SandboxBackend
from wa_gateway.clock import ManualClock
from wa_gateway.engine import contract as c


async def test_a_stalled_device_stays_connected_fails_sends_and_is_reconnected_by_the_watchdog(
    make_sandbox: Callable[..., Any], clock: ManualClock, recorder: EventRecorder
) -> None:
    backend: SandboxBackend = await make_sandbox(watchdog_s=120, reconnect_ms=2_000)
    await linked(backend)
    await backend.control("stall", {"token": TOKEN})
    assert (await backend.status())[0]["status"] == "connected"
    assert await code_of(backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "hello?", 0)) == c.E_ENGINE_FAILURE
    await advance(clock, 119)
    assert recorder.of(c.EV_RECONNECTING) == []
    clock.advance(1)
    (data,) = await recorder.wait_for(c.EV_RECONNECTING)
    assert data == {"reason": "No answer from WhatsApp for 120 s (keepalives failing); reconnecting"}
    assert backend.network.watchdog_reconnects == 1
    await advance(clock, 2)
    await recorder.wait_for(c.EV_CONNECTED, count=2)
    sent = await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "back", 0)
    assert sent["id"]
    assert recorder.names(TOKEN)[-3:] == [c.EV_CONNECTED, c.EV_RECONNECTING, c.EV_CONNECTED]


async def test_without_a_watchdog_a_stalled_device_stays_mute(
    make_sandbox: Callable[..., Any], clock: ManualClock, recorder: EventRecorder
) -> None:
    backend: SandboxBackend = await make_sandbox(watchdog_s=0)
    await linked(backend)
    await backend.control("stall", {"token": TOKEN})
    assert clock.sleepers == 0
    clock.advance(10_000)
    assert await code_of(backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "hello?", 0)) == c.E_ENGINE_FAILURE
    assert recorder.of(c.EV_RECONNECTING) == []


async def test_a_network_drop_while_stalled_ends_the_stall(
    make_sandbox: Callable[..., Any], clock: ManualClock, recorder: EventRecorder
) -> None:
    backend: SandboxBackend = await make_sandbox(watchdog_s=120, reconnect_ms=1_000)
    await linked(backend)
    await backend.control("stall", {"token": TOKEN})
    await backend.control("disconnect", {"token": TOKEN})
    await advance(clock, 1, sleepers=2)  # the reconnect, and the watchdog that now has nothing to do
    await recorder.wait_for(c.EV_CONNECTED, count=2)
    clock.advance(200)
    await wait_until(lambda: clock.sleepers == 0, what="the watchdog to stand down")
    assert recorder.of(c.EV_RECONNECTING) == []
    assert (await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "fine", 0))["id"]


@pytest.mark.parametrize("op", ["stall", "disconnect"])
async def test_only_a_connected_device_can_lose_its_connection(sandbox: SandboxBackend, op: str) -> None:
    await sandbox.connect(TOKEN, "qr", "Chrome (Linux)")
    assert await code_of(sandbox.control(op, {"token": TOKEN})) == c.E_DEVICE_NOT_CONNECTED
