"""Pairing through the real neonize client and ctypes callbacks, with a fake Go core."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.utils import build_jid
from neonize.utils.enum import ClientType

from tests.neonize.neonize_fakes import (
    CONNECTED,
    DEVICE,
    PAIR_STATUS,
    TOKEN,
    FakeGo,
    FakeSession,
    Recorder,
    device_event,
    make_paired_db,
    make_unpaired_db,
    wait_until,
)
from wa_gateway.backends.neonize import client_stop
from wa_gateway.backends.neonize import session as neonize_session
from wa_gateway.backends.neonize.client import SUBSCRIBED
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.clock import ManualClock
from wa_gateway.engine.contract import EngineError


def scan(session: FakeSession, user: str = TOKEN) -> None:
    """What Go reports when a phone of account ``user`` scans the QR."""
    session.login("success")
    pair = P.PairStatus(
        ID=build_jid(user), BusinessName="", Platform="android", Status=P.PairStatus.PStatus.SUCCESS
    )
    session.event(PAIR_STATUS, pair)
    session.event(DEVICE, device_event(user, "Alice"))
    session.event(CONNECTED, P.Connected(status=True))


async def test_qr_codes_become_events_and_a_scan_connects(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder
) -> None:
    assert await backend.connect(TOKEN, "qr", "") == {"paired": False}
    session = await fake_go.next_session()
    assert await recorder.wait_for("qr") == {"code": "2@first,AAAA,BBBB,CCCC"}
    assert (await backend.status())[0]["status"] == "pairing"

    await asyncio.to_thread(session.qr, "2@second,DDDD,EEEE,FFFF")
    assert await recorder.wait_for("qr", count=2) == {"code": "2@second,DDDD,EEEE,FFFF"}
    await asyncio.to_thread(scan, session)
    assert await recorder.wait_for("connected", TOKEN) == {
        "jid": "15550000001:7@s.whatsapp.net",
        "pushName": "Alice",
    }

    assert await backend.status() == [
        {"token": TOKEN, "status": "connected", "jid": "15550000001:7@s.whatsapp.net", "pushName": "Alice"}
    ]
    # What neonize handed to Go: the subscription, the linked-device look, one uuid per client.
    assert session.subscribed == set(SUBSCRIBED)
    assert session.device_props.os == "Linux"
    assert session.device_props.platformType == session.device_props.PlatformType.CHROME
    assert session.uuid.startswith("0001-") and TOKEN not in session.uuid
    assert session.log_level == b"WARN"
    (start,) = fake_go.called("Neonize")
    assert start.writer, "Neonize() must start under the exclusive Go lock"
    assert [e for _, e, _ in recorder.events] == ["qr", "qr", "connected"]


async def test_pairing_code_is_requested_after_the_first_qr_with_the_device_name(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder
) -> None:
    assert await backend.connect(TOKEN, "code", "Firefox (Windows)") == {"paired": False}
    session = await fake_go.next_session()
    assert await recorder.wait_for("pairing_code") == {"code": "ABCD-EFGH"}
    await asyncio.to_thread(session.qr, "2@second")
    await asyncio.to_thread(scan, session)
    await recorder.wait_for("connected")

    (call,) = fake_go.called("PairPhone")
    assert call.readers == 1 and not call.writer
    uuid, payload, size = call.args
    assert uuid == session.uuid.encode() and size == len(payload)
    params = P.PairPhoneParams.FromString(payload)
    assert params.phone == TOKEN
    assert params.clientDisplayName == "Firefox (Windows)"
    assert params.clientType == ClientType.FIREFOX.value
    assert params.showPushNotification
    assert session.device_props.os == "Windows"
    assert recorder.of("qr") == []


async def test_qr_timeout_from_the_login_status_stops_the_client_and_drops_the_empty_session(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> None:
    make_unpaired_db(session_db)
    await backend.connect(TOKEN, "qr", "")
    session = await fake_go.next_session()
    await recorder.wait_for("qr")
    await asyncio.to_thread(session.login, "timeout")
    assert await recorder.wait_for("qr_timeout") == {}
    await wait_until(lambda: session.stopped.is_set(), what="Stop")
    (stop,) = fake_go.called("Stop")
    assert stop.writer and stop.args == (session.uuid.encode(),)
    assert not await asyncio.to_thread(session_db.exists)
    assert (await backend.status())[0]["status"] == "disconnected"
    # Go's QR loop ignores Stop: the thread stays, is counted, and the device did not wait for it.
    assert len(backend.context.ffi.session_threads()) == 1
    assert backend.context.stuck_sessions == 1
    # Reported with the heartbeat, so the gateway can see it and recycle the worker (docs/engine.md).
    assert backend.diagnostics()["stuckThreads"] == 1
    fake_go.release()  # the QR channel closes at last
    await wait_until(lambda: backend.diagnostics()["stuckThreads"] == 0, what="the thread to end")


async def test_watchdog_sends_qr_timeout_when_go_stays_silent_and_abandons_a_stuck_thread(
    backend: NeonizeBackend,
    fake_go: FakeGo,
    recorder: Recorder,
    clock: ManualClock,
    settings: NeonizeSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client_stop, "STOP_GRACE_S", 0.05)
    await backend.connect(TOKEN, "qr", "")
    session = await fake_go.next_session()
    session.ignore_stop = True  # Go spinning in FetchMe() after the QR channel ended
    await recorder.wait_for("qr")
    await wait_until(lambda: clock.sleepers == 1, what="watchdog armed")
    clock.advance(settings.qr_watchdog_s - 1)
    assert recorder.of("qr_timeout") == []
    clock.advance(1)
    assert await recorder.wait_for("qr_timeout") == {}
    await wait_until(lambda: len(fake_go.called("Stop")) == 1, what="Stop")
    assert [thread.name for thread in backend.context.ffi.session_threads()] == [
        f"neonize-session-{session.uuid}"
    ]
    assert all(thread.daemon for thread in backend.context.ffi.session_threads())
    # A late status from the abandoned client changes nothing.
    await asyncio.to_thread(session.login, "timeout")
    await backend.connect(TOKEN, "qr", "")
    await recorder.wait_for("qr", count=2)
    assert len(recorder.of("qr_timeout")) == 1


async def test_codes_of_a_replaced_client_are_dropped(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder
) -> None:
    await backend.connect(TOKEN, "qr", "")
    old = await fake_go.next_session()
    await recorder.wait_for("qr")
    await backend.connect(TOKEN, "qr", "")  # a new pairing attempt replaces the first
    new = await fake_go.next_session()
    await recorder.wait_for("qr", count=2)
    await asyncio.to_thread(old.qr, "2@stale")
    await asyncio.to_thread(new.qr, "2@fresh")
    assert await recorder.wait_for("qr", count=3) == {"code": "2@fresh"}
    assert {"code": "2@stale"} not in recorder.of("qr")
    assert old.stopped.is_set() and new.uuid != old.uuid


async def test_another_account_scanning_the_qr_is_unlinked(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> None:
    await backend.connect(TOKEN, "qr", "")
    session = await fake_go.next_session()
    await recorder.wait_for("qr")
    make_paired_db(session_db, "15559999999:3@s.whatsapp.net")
    await asyncio.to_thread(scan, session, "15559999999")
    failure = await recorder.wait_for("connect_failure")
    assert failure["retrying"] is False and failure["code"] is None
    assert "+15559999999, not +15550000001" in failure["reason"]
    assert "unlinked" in failure["reason"]
    assert recorder.of("connected") == []
    assert len(fake_go.called("Logout")) == 1
    assert session.stopped.is_set()
    assert not await asyncio.to_thread(session_db.exists)
    assert (await backend.status())[0] == {
        "token": TOKEN,
        "status": "disconnected",
        "jid": "",
        "pushName": "",
    }


async def test_another_account_that_never_connects_is_dropped_after_a_grace_period(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, clock: ManualClock
) -> None:
    fake_go.logout_error = "error sending logout request: websocket not connected"
    await backend.connect(TOKEN, "qr", "")
    session = await fake_go.next_session()
    await recorder.wait_for("qr")
    pair = P.PairStatus(
        ID=build_jid("15559999999"), BusinessName="", Platform="", Status=P.PairStatus.PStatus.SUCCESS
    )
    await asyncio.to_thread(session.event, PAIR_STATUS, pair)
    await wait_until(lambda: clock.sleepers == 2, what="reject timer armed")  # and the QR watchdog
    clock.advance(neonize_session.REJECT_GRACE_S)
    failure = await recorder.wait_for("connect_failure")
    assert "unlink it in WhatsApp > Linked devices" in failure["reason"]
    assert session.stopped.is_set()


async def test_pairing_rejected_by_the_phone(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder
) -> None:
    await backend.connect(TOKEN, "qr", "")
    session = await fake_go.next_session()
    await recorder.wait_for("qr")
    failed = P.PairStatus(Status=P.PairStatus.PStatus.ERROR, Error="pairing rejected")
    await asyncio.to_thread(session.event, PAIR_STATUS, failed)
    assert await recorder.wait_for("connect_failure") == {
        "reason": "Pairing failed: pairing rejected",
        "code": None,
        "retrying": False,
    }
    assert session.stopped.is_set()


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("err-client-outdated", "Pairing failed: WhatsApp says this client version is outdated"),
        (
            "err-scanned-without-multidevice",
            "Pairing failed: the QR was scanned by a phone without multi-device",
        ),
        ("error", "Pairing failed: error"),
    ],
)
async def test_qr_channel_errors_end_the_pairing(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, status: str, reason: str
) -> None:
    await backend.connect(TOKEN, "qr", "")
    session = await fake_go.next_session()
    await recorder.wait_for("qr")
    await asyncio.to_thread(session.login, status)
    assert (await recorder.wait_for("connect_failure"))["reason"] == reason
    assert (await backend.status())[0]["status"] == "disconnected"


async def test_a_paired_session_connects_without_qr_and_reads_its_account_when_go_sends_no_device(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> None:
    make_paired_db(session_db)
    fake_go.accounts[str(session_db)] = (TOKEN, "Shop")
    fake_go.script = lambda session: session.event(CONNECTED, P.Connected(status=True))
    assert await backend.connect(TOKEN, "qr", "") == {"paired": True}
    assert await recorder.wait_for("connected") == {"jid": "15550000001:7@s.whatsapp.net", "pushName": "Shop"}
    (get_me,) = fake_go.called("GetMe")
    assert get_me.readers == 1 and not get_me.writer
    assert recorder.of("qr") == [] and fake_go.called("SendPresence") == []


async def test_presence_after_connect_only_when_configured(tmp_path: Path, fake_go: FakeGo) -> None:
    settings = NeonizeSettings.from_config({"data_dir": str(tmp_path), "send_presence_on_connect": True})
    db = settings.sessions_dir / f"{TOKEN}.db"
    make_paired_db(db)
    fake_go.accounts[str(db)] = (TOKEN, "Shop")
    recorder = Recorder()
    engine = NeonizeBackend(settings, gocode=fake_go, clock=ManualClock())
    await engine.start(recorder)
    try:
        await engine.connect(TOKEN, "restore", "")
        await recorder.wait_for("connected")
        await wait_until(lambda: len(fake_go.called("SendPresence")) == 1, what="presence")
        assert fake_go.called("SendPresence")[0].args[1] == b"available"
    finally:
        await engine.close()


async def test_restore_of_an_unpaired_session_starts_nothing(
    backend: NeonizeBackend, fake_go: FakeGo, session_db: Path
) -> None:
    make_unpaired_db(session_db)
    assert await backend.connect(TOKEN, "restore", "") == {"paired": False}
    assert fake_go.called("Neonize") == []
    assert await backend.status() == []


async def test_connect_checks_its_arguments_and_refuses_a_connected_device(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> None:
    with pytest.raises(EngineError) as bad_name:
        await backend.connect(TOKEN, "qr", "my gateway")
    assert bad_name.value.code == "INVALID_ARGUMENT"
    with pytest.raises(EngineError) as bad_token:
        await backend.connect("12ab", "qr", "")
    assert bad_token.value.code == "INVALID_ARGUMENT"
    make_paired_db(session_db)
    fake_go.accounts[str(session_db)] = (TOKEN, "Shop")
    await backend.connect(TOKEN, "restore", "")
    await recorder.wait_for("connected")
    with pytest.raises(EngineError) as again:
        await backend.connect(TOKEN, "qr", "")
    assert again.value.code == "DEVICE_ALREADY_CONNECTED"
