"""The sandbox backend in-process on a ManualClock: pairing, sessions, sends, control operations."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wa_gateway.backends.sandbox.engine import SandboxBackend, create_backend
from wa_gateway.backends.sandbox.ids import PAIRING_CODE_ALPHABET
from wa_gateway.clock import ManualClock
from wa_gateway.engine import contract as c

from .conftest import EventRecorder, advance, wait_until

TOKEN = "6281234567890"
OTHER = "6289876543210"
QR_SHAPE = re.compile(r"2@[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+")
MESSAGE_ID = re.compile(r"3EB0[0-9A-F]{18}")


async def linked(backend: SandboxBackend, token: str = TOKEN, push_name: str = "Alice") -> None:
    assert await backend.connect(token, "qr", "Chrome (Linux)") == {"paired": False}
    await backend.control("link", {"token": token, "pushName": push_name})


async def advance_with_no_timer_left(clock: ManualClock, seconds: float = 600) -> None:
    """With nothing asleep on the clock, advancing it wakes nothing: what follows happened or never will."""
    await wait_until(lambda: clock.sleepers == 0, what="no timer left on the clock")
    clock.advance(seconds)


async def engine_error(awaitable: Any) -> str:
    with pytest.raises(c.EngineError) as info:
        await awaitable
    return info.value.code


async def test_qr_codes_refresh_then_time_out(
    sandbox: SandboxBackend, clock: ManualClock, recorder: EventRecorder
) -> None:
    assert await sandbox.connect(TOKEN, "qr", "Chrome (Linux)") == {"paired": False}
    assert recorder.names() == [c.EV_QR]  # at once, before any time passes
    await advance(clock, 19.9)
    # Still asleep: 19.9 s did not reach the refresh's deadline, so nothing was woken to emit.
    assert clock.sleepers == 1
    assert len(recorder.of(c.EV_QR)) == 1
    await advance(clock, 0.1)
    await recorder.wait_for(c.EV_QR, 2)
    for expected in range(3, 7):
        await advance(clock, 20.0)
        await recorder.wait_for(c.EV_QR, expected)
    codes = [d["code"] for d in recorder.of(c.EV_QR)]
    assert len(codes) == 6 and len(set(codes)) == 6
    assert all(QR_SHAPE.fullmatch(code) for code in codes)
    await advance(clock, 19.9)
    assert clock.sleepers == 1
    assert c.EV_QR_TIMEOUT not in recorder.names()
    await advance(clock, 0.1)
    await recorder.wait_for(c.EV_QR_TIMEOUT)
    assert recorder.names() == [c.EV_QR] * 6 + [c.EV_QR_TIMEOUT]
    assert await sandbox.status() == []
    await advance_with_no_timer_left(clock)
    assert len(recorder.events) == 7


async def test_qr_cadence_follows_configuration(
    make_sandbox: Callable[..., Any], clock: ManualClock, recorder: EventRecorder
) -> None:
    backend: SandboxBackend = await make_sandbox(qr_refresh_ms=500, qr_codes=2)
    await backend.connect(TOKEN, "qr", "Chrome (Linux)")
    await advance(clock, 0.5)
    await recorder.wait_for(c.EV_QR, 2)
    await advance(clock, 0.5)
    await recorder.wait_for(c.EV_QR_TIMEOUT)
    assert recorder.names() == [c.EV_QR, c.EV_QR, c.EV_QR_TIMEOUT]


async def test_pairing_code_shape(sandbox: SandboxBackend, recorder: EventRecorder) -> None:
    assert await sandbox.connect(TOKEN, "code", "Chrome (Linux)") == {"paired": False}
    [event] = recorder.of(c.EV_PAIRING_CODE)
    code = event["code"]
    assert re.fullmatch(r"[^-]{4}-[^-]{4}", code)
    assert set(code.replace("-", "")) <= set(PAIRING_CODE_ALPHABET)
    assert recorder.names() == [c.EV_PAIRING_CODE]


async def test_link_connects_and_persists(
    sandbox: SandboxBackend, recorder: EventRecorder, tmp_path: Path
) -> None:
    await linked(sandbox)
    assert recorder.of(c.EV_CONNECTED) == [{"jid": f"{TOKEN}@s.whatsapp.net", "pushName": "Alice"}]
    assert (tmp_path / "data" / "sessions" / f"{TOKEN}.db").is_file()
    assert await sandbox.list_sessions() == [{"token": TOKEN, "paired": True}]
    assert await sandbox.status() == [
        {"token": TOKEN, "status": "connected", "jid": f"{TOKEN}@s.whatsapp.net", "pushName": "Alice"}
    ]
    assert await engine_error(sandbox.connect(TOKEN, "qr", "Chrome (Linux)")) == c.E_ALREADY_CONNECTED
    assert await engine_error(sandbox.control("link", {"token": TOKEN})) == c.E_ALREADY_CONNECTED


async def test_link_stops_the_qr_flow(
    sandbox: SandboxBackend, clock: ManualClock, recorder: EventRecorder
) -> None:
    await linked(sandbox)
    await advance_with_no_timer_left(clock)
    assert recorder.names() == [c.EV_QR, c.EV_CONNECTED]


async def test_restore_after_restart(
    make_sandbox: Callable[..., Any], recorder: EventRecorder, clock: ManualClock
) -> None:
    first: SandboxBackend = await make_sandbox()
    await linked(first, push_name="Bob")
    await first.handler(c.CMD_SEND_TEXT)(TOKEN, "628111@s.whatsapp.net", "before restart", 0)
    await first.connect(OTHER, "qr", "Chrome (Linux)")  # never linked
    await first.close()
    recorder.events.clear()

    second: SandboxBackend = await make_sandbox()
    assert sorted(await second.list_sessions(), key=lambda s: s["token"]) == [
        {"token": TOKEN, "paired": True},
        {"token": OTHER, "paired": False},
    ]
    assert await second.connect(TOKEN, "restore", "Chrome (Linux)") == {"paired": True}
    assert recorder.events == [(TOKEN, c.EV_CONNECTED, {"jid": f"{TOKEN}@s.whatsapp.net", "pushName": "Bob"})]
    # Restoring an unpaired or unknown session starts no pairing flow.
    assert await second.connect(OTHER, "restore", "Chrome (Linux)") == {"paired": False}
    assert await second.connect("5550001112", "restore", "Chrome (Linux)") == {"paired": False}
    await advance_with_no_timer_left(clock)
    assert len(recorder.events) == 1
    log = await second.control("sent", {"token": TOKEN})
    assert [m["text"] for m in log["messages"]] == ["before restart"]


async def test_sends_are_fifo_with_typing_presence(sandbox: SandboxBackend, clock: ManualClock) -> None:
    await linked(sandbox)
    sends = [
        asyncio.create_task(sandbox.handler(c.CMD_SEND_TEXT)(TOKEN, "628111@s.whatsapp.net", f"m{i}", 1500))
        for i in range(3)
    ]
    await advance(clock, 1.0)
    assert not any(task.done() for task in sends)  # still typing the first one
    for sent in range(1, 4):
        await advance(clock, 0.5 if sent == 1 else 1.5)
        await wait_until(lambda n=sent: sum(t.done() for t in sends) == n, what=f"{sent} sends done")
    results = [task.result() for task in sends]
    assert all(MESSAGE_ID.fullmatch(r["id"]) for r in results)
    assert [r["timestamp"] for r in results] == sorted(r["timestamp"] for r in results)
    log = await sandbox.control("sent", {"token": TOKEN})
    assert [m["text"] for m in log["messages"]] == ["m0", "m1", "m2"]
    assert [m["id"] for m in log["messages"]] == [r["id"] for r in results]
    for message in log["messages"]:
        assert message["to"] == "628111@s.whatsapp.net"
        assert message["presence"] == ["composing", "paused"]
        composing_at, paused_at = message["presenceAt"]
        assert paused_at - composing_at == pytest.approx(1.5)
        assert message["timestamp"] >= paused_at


async def test_typing_on_one_device_never_delays_another(sandbox: SandboxBackend, clock: ManualClock) -> None:
    await linked(sandbox, TOKEN)
    await linked(sandbox, OTHER)
    slow = asyncio.create_task(
        sandbox.handler(c.CMD_SEND_TEXT)(TOKEN, "628111@s.whatsapp.net", "slow", 60_000)
    )
    await wait_until(lambda: clock.sleepers == 1, what="the slow send to start typing")
    fast = await sandbox.handler(c.CMD_SEND_TEXT)(OTHER, "628111@s.whatsapp.net", "fast", 0)
    assert MESSAGE_ID.fullmatch(fast["id"])
    assert not slow.done()
    clock.advance(60)
    await slow
    assert [m["text"] for m in (await sandbox.control("sent", {"token": OTHER}))["messages"]] == ["fast"]


async def test_commands_need_a_connected_device(sandbox: SandboxBackend) -> None:
    assert (
        await engine_error(sandbox.handler(c.CMD_SEND_TEXT)(TOKEN, "1@s.whatsapp.net", "x", 0))
        == c.E_DEVICE_NOT_CONNECTED
    )
    await sandbox.connect(TOKEN, "qr", "Chrome (Linux)")  # pairing is not connected
    assert (
        await engine_error(sandbox.handler(c.CMD_SEND_TEXT)(TOKEN, "1@s.whatsapp.net", "x", 0))
        == c.E_DEVICE_NOT_CONNECTED
    )
    assert await engine_error(sandbox.check_numbers(TOKEN, ["628111"])) == c.E_DEVICE_NOT_CONNECTED
    assert (
        await engine_error(sandbox.mark_read(TOKEN, "1@s.whatsapp.net", None, ["a"]))
        == c.E_DEVICE_NOT_CONNECTED
    )
    assert await engine_error(sandbox.connect("../../etc", "qr", "x")) == c.E_INVALID_ARGUMENT


async def test_disconnect_keeps_the_session_and_stops_the_qr_flow(
    sandbox: SandboxBackend, clock: ManualClock, recorder: EventRecorder
) -> None:
    await sandbox.connect(OTHER, "qr", "Chrome (Linux)")
    await sandbox.disconnect(OTHER)
    await advance_with_no_timer_left(clock)
    assert recorder.names() == [c.EV_QR]
    await linked(sandbox)
    await sandbox.disconnect(TOKEN)
    assert await sandbox.status() == []
    assert await sandbox.connect(TOKEN, "restore", "Chrome (Linux)") == {"paired": True}
    await sandbox.disconnect("5550001112")  # unknown: nothing to stop


async def test_reconnecting_replaces_a_running_qr_flow(
    sandbox: SandboxBackend, clock: ManualClock, recorder: EventRecorder
) -> None:
    await sandbox.connect(TOKEN, "qr", "Chrome (Linux)")
    await advance(clock, 100.0)  # five codes into the first flow
    await recorder.wait_for(c.EV_QR, 2)
    await sandbox.connect(TOKEN, "qr", "Chrome (Linux)")
    count = len(recorder.of(c.EV_QR))
    await advance(clock, 20.0)
    await recorder.wait_for(c.EV_QR, count + 1)
    assert c.EV_QR_TIMEOUT not in recorder.names()  # the old flow would have expired by now


async def test_logout_removes_the_session_files(sandbox: SandboxBackend, tmp_path: Path) -> None:
    await linked(sandbox)
    await sandbox.handler(c.CMD_SEND_TEXT)(TOKEN, "628111@s.whatsapp.net", "hi", 0)
    sessions = tmp_path / "data" / "sessions"
    assert list(sessions.glob(f"{TOKEN}.db*"))
    await sandbox.logout(TOKEN)
    assert list(sessions.glob(f"{TOKEN}.db*")) == []
    assert await sandbox.list_sessions() == []
    assert await engine_error(sandbox.control("sent", {"token": TOKEN})) == c.E_DEVICE_NOT_FOUND
    assert await sandbox.connect(TOKEN, "restore", "Chrome (Linux)") == {"paired": False}


async def test_phone_side_logout(sandbox: SandboxBackend, recorder: EventRecorder, tmp_path: Path) -> None:
    await linked(sandbox)
    await sandbox.control("logout", {"token": TOKEN})
    assert recorder.names()[-1] == c.EV_LOGGED_OUT
    assert list((tmp_path / "data" / "sessions").glob(f"{TOKEN}.db*")) == []
    assert await sandbox.status() == []
    assert await engine_error(sandbox.control("logout", {"token": TOKEN})) == c.E_DEVICE_NOT_FOUND


async def test_network_drop_reconnects_by_itself(
    make_sandbox: Callable[..., Any], clock: ManualClock, recorder: EventRecorder
) -> None:
    backend: SandboxBackend = await make_sandbox(reconnect_ms=2500)
    await linked(backend)
    await backend.control("disconnect", {"token": TOKEN})
    assert recorder.names()[-1] == c.EV_DISCONNECTED
    assert (await backend.status())[0]["status"] == "disconnected"
    assert (
        await engine_error(backend.handler(c.CMD_SEND_TEXT)(TOKEN, "1@s.whatsapp.net", "x", 0))
        == c.E_DEVICE_NOT_CONNECTED
    )
    await advance(clock, 2.4)
    assert recorder.names()[-1] == c.EV_DISCONNECTED
    await advance(clock, 0.1)
    await recorder.wait_for(c.EV_CONNECTED, 2)
    assert (await backend.status())[0]["status"] == "connected"


async def test_numbers_registration_survives_a_restart(
    make_sandbox: Callable[..., Any], recorder: EventRecorder
) -> None:
    first: SandboxBackend = await make_sandbox()
    await linked(first)
    assert await first.control("set_number", {"phone": "628222", "registered": False}) == {
        "phone": "628222",
        "registered": False,
    }
    await first.close()
    second: SandboxBackend = await make_sandbox()
    await second.connect(TOKEN, "restore", "Chrome (Linux)")
    assert await second.check_numbers(TOKEN, ["628111", "628222"]) == [
        {"phone": "628111", "isOnWhatsApp": True, "jid": "628111@s.whatsapp.net"},
        {"phone": "628222", "isOnWhatsApp": False, "jid": "628222@s.whatsapp.net"},
    ]
    await second.control("set_number", {"phone": "628222", "registered": True})
    assert (await second.check_numbers(TOKEN, ["628222"]))[0]["isOnWhatsApp"] is True


async def test_incoming_message_receipt_and_history_sync(
    sandbox: SandboxBackend, recorder: EventRecorder
) -> None:
    await linked(sandbox)
    result = await sandbox.control(
        "message", {"token": TOKEN, "from": "628333", "text": "hello", "pushName": "Eve"}
    )
    [message] = recorder.of(c.EV_MESSAGE)
    assert MESSAGE_ID.fullmatch(result["id"]) and message["id"] == result["id"]
    assert message["from"] == message["chat"] == "628333@s.whatsapp.net"
    assert (message["text"], message["pushName"], message["type"]) == ("hello", "Eve", "text")
    assert (message["isGroup"], message["fromMe"], message["senderPhone"]) == (False, False, "628333")
    assert isinstance(message["timestamp"], float)

    await sandbox.control(
        "message", {"token": TOKEN, "from": "628333", "text": "hi all", "id": "ABC", "chat": "1203630@g.us"}
    )
    group = recorder.of(c.EV_MESSAGE)[1]
    assert (group["id"], group["chat"], group["isGroup"]) == ("ABC", "1203630@g.us", True)

    await sandbox.control(
        "receipt", {"token": TOKEN, "type": "read", "messageIds": ["X1", "X2"], "from": "628333"}
    )
    [receipt] = recorder.of(c.EV_RECEIPT)
    assert receipt["type"] == "read" and receipt["messageIds"] == ["X1", "X2"]
    assert receipt["from"] == "628333@s.whatsapp.net"

    contacts = [{"phone": "628444", "name": "Ann"}, {"phone": "628555", "name": ""}]
    await sandbox.control("history_sync", {"token": TOKEN, "contacts": contacts})
    assert recorder.of(c.EV_HISTORY_SYNC) == [{"contacts": contacts}]

    bad = {"token": TOKEN, "type": "seen", "messageIds": ["X1"], "from": "628333"}
    assert await engine_error(sandbox.control("receipt", bad)) == c.E_INVALID_ARGUMENT
    assert await engine_error(sandbox.control("message", {"token": TOKEN, "from": "abc", "text": "x"})) == (
        c.E_INVALID_ARGUMENT
    )


async def test_control_ops_on_unknown_or_idle_devices(sandbox: SandboxBackend) -> None:
    for op in ("link", "message", "receipt", "history_sync", "disconnect", "logout", "sent"):
        assert await engine_error(sandbox.control(op, {"token": TOKEN, "from": "628333", "text": "x"})) == (
            c.E_DEVICE_NOT_FOUND
        ), op
    await linked(sandbox)
    await sandbox.disconnect(TOKEN)  # known, but no client
    message = {"token": TOKEN, "from": "628333", "text": "x"}
    assert await engine_error(sandbox.control("message", message)) == c.E_DEVICE_NOT_CONNECTED
    assert await engine_error(sandbox.control("link", {"token": TOKEN})) == c.E_INVALID_ARGUMENT
    assert await engine_error(sandbox.control("explode", {})) == c.E_UNKNOWN_COMMAND


async def test_mark_read_is_recorded(sandbox: SandboxBackend) -> None:
    await linked(sandbox)
    await sandbox.mark_read(TOKEN, "628333@s.whatsapp.net", None, ["A1", "A2"])
    await sandbox.mark_read(TOKEN, "628333@s.whatsapp.net", None, ["A3"])
    log = await sandbox.control("sent", {"token": TOKEN})
    assert log == {"messages": [], "read": ["A1", "A2", "A3"], "presence": [], "rejectedCalls": []}


async def test_create_backend_validates_its_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sandbox_qr_codes"):
        await create_backend({"data_dir": str(tmp_path), "sandbox_qr_codes": 0})
    with pytest.raises(ValueError, match="data_dir"):
        await create_backend({})
    backend = await create_backend({"data_dir": str(tmp_path), "sandbox_qr_refresh_ms": 250})
    assert backend.name == "sandbox"
