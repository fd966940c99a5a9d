"""The liveness watchdog: a session whatsmeow still calls connected, but that no longer answers, is
reconnected (docs/engine.md, "Watchdog"); with the fake Go core and a manual clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from neonize.proto import Neonize_pb2 as P

from tests.neonize.neonize_fakes import (
    TOKEN,
    FakeGo,
    FakeSession,
    Recorder,
    make_paired_db,
    text_message,
    wait_until,
)
from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.clock import ManualClock
from wa_gateway.engine import contract as c
from wa_gateway.engine.contract import EngineError

ALICE = "15557654321"
LIMIT = 120.0  # the default WATCHDOG_SECONDS


async def keepalive_fails(session: FakeSession) -> None:
    # whatsmeow's keepAliveLoop dispatches KeepAliveTimeout after each failed ping (whatsmeow keepalive.go).
    await asyncio.to_thread(
        session.event, nc.KEEPALIVE_TIMEOUT, P.KeepAliveTimeout(ErrorCount=1, LastSuccess=0)
    )


async def armed(clock: ManualClock) -> None:
    await wait_until(lambda: clock.sleepers == 1, what="the watchdog timer")


async def test_a_silent_session_with_failing_keepalives_is_reconnected(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder, clock: ManualClock
) -> None:
    await keepalive_fails(connected)
    await armed(clock)
    clock.advance(LIMIT - 1)
    # Still asleep: a second short of its deadline, the timer was not woken, so nothing can follow.
    assert clock.sleepers == 1
    assert recorder.of("reconnecting") == []
    clock.advance(1)
    data = await recorder.wait_for("reconnecting")
    assert data == {"reason": "No answer from WhatsApp for 120 s (keepalives failing); reconnecting"}
    fresh = await fake_go.next_session()
    assert connected.stopped.is_set()  # the dead client was stopped before a new one was made
    assert fresh.uuid != connected.uuid
    await recorder.wait_for("connected", count=2)
    assert backend.context.watchdog_reconnects == 1
    assert [event for _, event, _ in recorder.events] == ["connected", "reconnecting", "connected"]
    # The new connection starts healthy: no timer is left running.
    assert clock.sleepers == 0


async def test_traffic_defers_the_verdict_and_a_restored_keepalive_cancels_it(
    backend: NeonizeBackend, connected: FakeSession, recorder: Recorder, clock: ManualClock
) -> None:
    await keepalive_fails(connected)
    await armed(clock)
    clock.advance(100)
    message = text_message("still here", P.JID(User=ALICE, Server="s.whatsapp.net"))
    await asyncio.to_thread(connected.event, nc.MESSAGE, message)
    await recorder.wait_for("message")
    clock.advance(20)  # the first deadline: traffic came 20 s ago, so it looks again later
    await armed(clock)
    await asyncio.to_thread(connected.event, nc.KEEPALIVE_RESTORED, P.KeepAliveRestored())
    clock.advance(LIMIT)
    await wait_until(lambda: clock.sleepers == 0, what="the watchdog to stand down")
    assert recorder.of("reconnecting") == []
    assert not connected.stopped.is_set()
    assert backend.context.watchdog_reconnects == 0


async def test_sends_failing_for_the_whole_limit_reconnect(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder, clock: ManualClock
) -> None:
    # whatsmeow's SendMessage on a dead socket ends with its own error, no server answer (whatsmeow send.go).
    fake_go.send_error = "failed to send message node: websocket: close sent"
    with pytest.raises(EngineError):
        await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "one", 0)
    await armed(clock)
    clock.advance(60)
    with pytest.raises(EngineError):
        await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "two", 0)
    clock.advance(60)
    data = await recorder.wait_for("reconnecting")
    assert data == {"reason": "Every send failed for 120 s; reconnecting"}
    await recorder.wait_for("connected", count=2)


async def test_a_send_the_server_refused_proves_the_session_alive(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder, clock: ManualClock
) -> None:
    fake_go.send_error = "server returned error 463"
    with pytest.raises(EngineError) as info:
        await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "hello", 0)
    assert info.value.code == "REACHOUT_LIMITED"
    device = backend.session(TOKEN)
    assert device is not None
    # A failed send arms the watchdog before the handler raises; this one did not.
    assert not device.watchdog_armed
    assert clock.sleepers == 0


async def test_a_zero_limit_turns_the_watchdog_off(
    tmp_path: Path, fake_go: FakeGo, clock: ManualClock
) -> None:
    settings = NeonizeSettings.from_config({"data_dir": str(tmp_path), "watchdog_s": 0})
    make_paired_db(settings.sessions_dir / f"{TOKEN}.db")
    fake_go.accounts[str(settings.sessions_dir / f"{TOKEN}.db")] = (TOKEN, "Shop")
    recorder = Recorder()
    engine = NeonizeBackend(settings, gocode=fake_go, clock=clock)
    fake_go.lock = engine.context.lock
    await engine.start(recorder)
    try:
        await engine.connect(TOKEN, "restore", "")
        session = await fake_go.next_session()
        await recorder.wait_for("connected")
        await keepalive_fails(session)
        device = engine.session(TOKEN)
        assert device is not None
        await wait_until(lambda: not device.keepalive_ok, what="keepalive failing")
        assert clock.sleepers == 0
    finally:
        await engine.close()
        fake_go.release()
