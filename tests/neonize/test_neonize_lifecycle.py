"""Connection events, bounded reconnects, logout and session files, with a fake Go core."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from neonize.proto import Neonize_pb2 as P

from tests.neonize.neonize_fakes import (
    TOKEN,
    FakeGo,
    FakeSession,
    Recorder,
    make_paired_db,
    make_unpaired_db,
    text_message,
    wait_until,
)
from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize import client_stop
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.clock import ManualClock

DIAL_ERROR = "failed to dial whatsapp web websocket: dial tcp: lookup web.whatsapp.com: no such host"


@pytest.fixture
async def online(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> AsyncIterator[FakeSession]:
    make_paired_db(session_db)
    fake_go.accounts[str(session_db)] = (TOKEN, "Shop")
    await backend.connect(TOKEN, "restore", "")
    session = await fake_go.next_session()
    await recorder.wait_for("connected")
    yield session


async def status_of(backend: NeonizeBackend) -> str:
    (device,) = await backend.status()
    return str(device["status"])


async def exists(path: Path) -> bool:
    return await asyncio.to_thread(path.exists)


async def test_a_dropped_connection_reports_and_reconnects_by_itself(
    backend: NeonizeBackend, online: FakeSession, recorder: Recorder
) -> None:
    await asyncio.to_thread(online.event, nc.DISCONNECTED, P.Disconnected(status=True))
    assert await recorder.wait_for("disconnected") == {"reason": "Connection to WhatsApp lost; reconnecting"}
    assert await status_of(backend) == "connecting"
    await asyncio.to_thread(online.event, nc.CONNECTED, P.Connected(status=True))
    await recorder.wait_for("connected", count=2)
    assert await status_of(backend) == "connected"
    assert not online.stopped.is_set()


async def test_logged_out_by_the_phone_removes_the_session_files(
    backend: NeonizeBackend, online: FakeSession, recorder: Recorder, session_db: Path
) -> None:
    event = P.LoggedOut(OnConnect=False, Reason=P.ConnectFailureReason.LOGGED_OUT)
    await asyncio.to_thread(online.event, nc.LOGGED_OUT, event)
    data = await recorder.wait_for("logged_out")
    assert data == {"reason": "Logged out by the phone or the server (401: logged out)"}
    # The files were gone before the event went out.
    assert not await exists(session_db)
    assert online.stopped.is_set()
    assert await status_of(backend) == "logged_out"
    assert await backend.list_sessions() == []


async def test_stream_replaced_stops_without_reconnecting(
    backend: NeonizeBackend, online: FakeSession, recorder: Recorder, session_db: Path
) -> None:
    await asyncio.to_thread(online.event, nc.STREAM_REPLACED, P.StreamReplaced())
    failure = await recorder.wait_for("connect_failure")
    assert failure["retrying"] is False and failure["reason"].startswith("Stream replaced")
    assert online.stopped.is_set() and await exists(session_db)
    assert await status_of(backend) == "disconnected"


async def test_a_temporary_ban(
    backend: NeonizeBackend, online: FakeSession, recorder: Recorder, clock: ManualClock
) -> None:
    ban = P.TemporaryBan(Code=P.TemporaryBan.TempBanReason.SEND_TO_TOO_MANY_PEOPLE, Expire=3600)
    await asyncio.to_thread(online.event, nc.TEMPORARY_BAN, ban)
    assert await recorder.wait_for("banned") == {"code": 101, "expires": clock.time() + 3600}
    assert await status_of(backend) == "banned"
    assert online.stopped.is_set()


async def test_a_transient_connect_failure_leaves_whatsmeow_reconnecting(
    backend: NeonizeBackend, online: FakeSession, recorder: Recorder
) -> None:
    failure = P.ConnectFailure(Reason=P.ConnectFailureReason.SERVICE_UNAVAILABLE, Message="")
    await asyncio.to_thread(online.event, nc.CONNECT_FAILURE, failure)
    assert await recorder.wait_for("connect_failure") == {
        "reason": "Connection failed: 503: service unavailable; reconnecting",
        "code": 503,
        "retrying": True,
    }
    assert not online.stopped.is_set()
    assert await status_of(backend) == "connecting"


async def test_a_final_connect_failure_stops_the_client(
    backend: NeonizeBackend, online: FakeSession, recorder: Recorder
) -> None:
    failure = P.ConnectFailure(Reason=P.ConnectFailureReason.BAD_USER_AGENT, Message="")
    await asyncio.to_thread(online.event, nc.CONNECT_FAILURE, failure)
    assert await recorder.wait_for("connect_failure") == {
        "reason": "Connection failed: 409: client user agent was rejected",
        "code": 409,
        "retrying": False,
    }
    assert online.stopped.is_set()
    assert await status_of(backend) == "disconnected"


async def test_client_outdated(backend: NeonizeBackend, online: FakeSession, recorder: Recorder) -> None:
    await asyncio.to_thread(online.event, nc.CLIENT_OUTDATED, P.ClientOutdated())
    failure = await recorder.wait_for("connect_failure")
    assert (failure["code"], failure["retrying"]) == (405, False)
    assert online.stopped.is_set()


async def test_keepalive_and_stream_errors_only_change_health(
    backend: NeonizeBackend, online: FakeSession, recorder: Recorder
) -> None:
    session = backend.session(TOKEN)
    assert session is not None
    await asyncio.to_thread(
        online.event, nc.KEEPALIVE_TIMEOUT, P.KeepAliveTimeout(ErrorCount=2, LastSuccess=0)
    )
    await wait_until(lambda: not session.keepalive_ok, what="keepalive marked failing")
    await asyncio.to_thread(online.event, nc.STREAM_ERROR, P.StreamError(Code="500"))
    await asyncio.to_thread(online.event, nc.KEEPALIVE_RESTORED, P.KeepAliveRestored())
    await wait_until(lambda: session.keepalive_ok, what="keepalive restored")
    await asyncio.to_thread(
        online.event, nc.MESSAGE, text_message("after", P.JID(User="1", Server="s.whatsapp.net"))
    )
    await recorder.wait_for("message")
    assert [event for _, event, _ in recorder.events] == ["connected", "message"]
    assert await status_of(backend) == "connected"


async def test_a_failing_paired_device_retries_with_backoff_then_gives_up(
    tmp_path: Path, fake_go: FakeGo, clock: ManualClock
) -> None:
    settings = NeonizeSettings.from_config(
        {
            "data_dir": str(tmp_path),
            "reconnect_max_attempts": 2,
            "reconnect_backoff_s": 2,
            "reconnect_jitter": 0,
        }
    )
    make_paired_db(settings.sessions_dir / f"{TOKEN}.db")
    fake_go.session_error = DIAL_ERROR
    recorder = Recorder()
    engine = NeonizeBackend(settings, gocode=fake_go, clock=clock)
    fake_go.lock = engine.context.lock
    await engine.start(recorder)
    try:
        assert await engine.connect(TOKEN, "restore", "") == {"paired": True}
        first = await recorder.wait_for("connect_failure")
        assert first["retrying"] is True
        assert first["reason"] == f"Cannot reach WhatsApp: {DIAL_ERROR}; reconnect attempt 1 of 2 in 2 s"
        assert await status_of(engine) == "connecting"
        await wait_until(lambda: clock.sleepers == 1, what="backoff timer")
        clock.advance(1.9)
        assert len(fake_go.called("Neonize")) == 1
        clock.advance(0.1)
        second = await recorder.wait_for("connect_failure", count=2)
        assert second["reason"].endswith("reconnect attempt 2 of 2 in 4 s")
        await wait_until(lambda: clock.sleepers == 1, what="second backoff timer")
        clock.advance(4)
        last = await recorder.wait_for("connect_failure", count=3)
        assert last["retrying"] is False and last["reason"].endswith("gave up after 2 reconnect attempts")
        assert len(fake_go.called("Neonize")) == 3
        assert await status_of(engine) == "disconnected"
        # Each failed client was stopped under the lock, so Go forgets its uuid.
        assert len(fake_go.called("Stop")) == 3 and all(call.writer for call in fake_go.called("Stop"))
    finally:
        await engine.close()


async def test_a_retry_that_connects_resets_the_count(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, clock: ManualClock, session_db: Path
) -> None:
    make_paired_db(session_db)
    fake_go.accounts[str(session_db)] = (TOKEN, "Shop")
    fake_go.session_error = DIAL_ERROR
    await backend.connect(TOKEN, "restore", "")
    await recorder.wait_for("connect_failure")
    fake_go.session_error = ""
    await wait_until(lambda: clock.sleepers == 1, what="backoff timer")
    clock.advance(2)
    await recorder.wait_for("connected")
    assert await status_of(backend) == "connected"


async def test_disconnect_cancels_a_pending_reconnect(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, clock: ManualClock, session_db: Path
) -> None:
    make_paired_db(session_db)
    fake_go.session_error = DIAL_ERROR
    await backend.connect(TOKEN, "restore", "")
    await recorder.wait_for("connect_failure")
    await wait_until(lambda: clock.sleepers == 1, what="backoff timer")
    await backend.disconnect(TOKEN)
    # With the backoff timer gone from the clock, advancing it wakes nothing: no reconnect can follow.
    await wait_until(lambda: clock.sleepers == 0, what="the backoff timer cancelled")
    clock.advance(60)
    assert len(fake_go.called("Neonize")) == 1
    assert await backend.status() == []
    assert await exists(session_db)


async def test_a_failed_first_connect_reports_and_leaves_no_session(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> None:
    make_unpaired_db(session_db)
    fake_go.session_error = DIAL_ERROR
    assert await backend.connect(TOKEN, "qr", "") == {"paired": False}
    assert await recorder.wait_for("connect_failure") == {
        "reason": f"Cannot reach WhatsApp: {DIAL_ERROR}",
        "code": None,
        "retrying": False,
    }
    assert not await exists(session_db)
    assert await status_of(backend) == "disconnected"


async def test_logout_unlinks_and_removes_the_session(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> None:
    await backend.logout(TOKEN)
    (logout,) = fake_go.called("Logout")
    assert logout.readers == 1 and not logout.writer
    assert online.stopped.is_set()
    assert not await exists(session_db)
    assert await backend.status() == []
    assert [event for _, event, _ in recorder.events] == ["connected"]


async def test_logout_that_whatsapp_did_not_confirm_still_removes_the_session(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo, session_db: Path
) -> None:
    fake_go.logout_error = "error sending logout request: websocket not connected"
    await backend.logout(TOKEN)
    assert not await exists(session_db)


async def test_logout_of_a_device_the_engine_does_not_run_removes_its_files(
    backend: NeonizeBackend, fake_go: FakeGo, session_db: Path
) -> None:
    make_paired_db(session_db)
    await asyncio.to_thread(Path(f"{session_db}-wal").write_bytes, b"")
    await backend.logout(TOKEN)
    assert not await exists(session_db) and not await exists(Path(f"{session_db}-wal"))
    assert fake_go.called("Logout") == []


async def test_list_sessions_reads_the_session_databases(
    backend: NeonizeBackend, settings: NeonizeSettings
) -> None:
    make_paired_db(settings.sessions_dir / "15550000001.db")
    make_unpaired_db(settings.sessions_dir / "15550000002.db")
    await asyncio.to_thread((settings.sessions_dir / "15550000003.db").write_bytes, b"not a database")
    await asyncio.to_thread((settings.sessions_dir / "notatoken.db").write_bytes, b"")
    await asyncio.to_thread((settings.sessions_dir / "15550000001.db-wal").write_bytes, b"")
    assert await backend.list_sessions() == [
        {"token": "15550000001", "paired": True},
        {"token": "15550000002", "paired": False},
        {"token": "15550000003", "paired": False},
    ]


async def test_close_abandons_a_thread_stuck_in_go(
    tmp_path: Path, fake_go: FakeGo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_stop, "STOP_GRACE_S", 0.05)
    engine = NeonizeBackend(NeonizeSettings.from_config({"data_dir": str(tmp_path)}), gocode=fake_go)
    recorder = Recorder()
    await engine.start(recorder)
    await engine.connect(TOKEN, "qr", "")
    session = await fake_go.next_session()
    session.ignore_stop = True
    await recorder.wait_for("qr")
    await asyncio.wait_for(engine.close(), 5)
    assert session.stopped.is_set()
    assert [thread.daemon for thread in engine.context.ffi.session_threads()] == [True]
    assert not engine.context.live_clients or all(
        client.connect_task.done() for client in engine.context.live_clients
    )


async def test_restore_leaves_a_device_that_is_already_on_its_way(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, clock: ManualClock, session_db: Path
) -> None:
    make_paired_db(session_db)
    fake_go.session_error = DIAL_ERROR
    await backend.connect(TOKEN, "restore", "")
    await recorder.wait_for("connect_failure")
    assert await backend.connect(TOKEN, "restore", "") == {"paired": True}
    await wait_until(lambda: clock.sleepers == 1, what="backoff timer still pending")
    assert len(fake_go.called("Neonize")) == 1
    assert await status_of(backend) == "connecting"


async def test_the_log_callback_outlives_its_session(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo
) -> None:
    await backend.disconnect(TOKEN)
    assert backend.session(TOKEN) is None and not backend.context.live_clients
    # whatsmeow goroutines may still log into it; freeing it would crash the process.
    assert any(kept[3] is online.log_cb for kept in backend.context.ffi.kept_callbacks())


async def test_an_event_go_cannot_marshal_ends_the_session_and_it_comes_back_at_once(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo, recorder: Recorder, caplog: Any
) -> None:
    # A receipt type whatsmeow added later (e.g. server-error) has no value in neonize's proto.
    source = P.MessageSource(Chat=P.JID(User="15557654321", Server="s.whatsapp.net"))
    receipt = P.Receipt(MessageSource=source, MessageIDs=["3EB0AAA"], Timestamp=1_700_000_100)
    delivered = await asyncio.to_thread(online.event, nc.RECEIPT, receipt, ("Type",))
    assert delivered is False
    # No backoff timer: the session was fine, only one event was lost, so it reconnects right away.
    await recorder.wait_for("connected", count=2)
    assert len(fake_go.called("Neonize")) == 2
    assert backend.context.lost_event_sessions == 1
    assert backend.diagnostics()["lostEventSessions"] == 1  # wa_gateway_engine_lost_event_sessions_total
    failure = await recorder.wait_for("connect_failure")
    assert failure["retrying"] is True and "required field Type" in failure["reason"]
    assert any("events may have been lost" in r.getMessage() for r in caplog.records)


class FixedRandom(random.Random):
    def random(self) -> float:
        return 0.5


async def test_by_default_a_paired_device_retries_for_as_long_as_its_session_is_valid(
    tmp_path: Path, fake_go: FakeGo, clock: ManualClock
) -> None:
    settings = NeonizeSettings.from_config(
        {"data_dir": str(tmp_path), "reconnect_backoff_s": 2, "reconnect_max_backoff_seconds": 10}
    )
    make_paired_db(settings.sessions_dir / f"{TOKEN}.db")
    fake_go.session_error = DIAL_ERROR
    recorder = Recorder()
    engine = NeonizeBackend(settings, gocode=fake_go, clock=clock)
    engine.context.random = FixedRandom()
    fake_go.lock = engine.context.lock
    await engine.start(recorder)
    try:
        await engine.connect(TOKEN, "restore", "")
        # 2, 4, 8, then capped at 10; jitter takes up to 20 % off each wait (half of it here).
        for attempt, wait in enumerate([1.8, 3.6, 7.2, 9.0, 9.0, 9.0], start=1):
            failure = await recorder.wait_for("connect_failure", count=attempt)
            assert failure["retrying"] is True
            assert failure["reason"].endswith(f"reconnect attempt {attempt} in {wait:g} s"), failure
            await wait_until(lambda: clock.sleepers == 1, what="backoff timer")
            session = engine.session(TOKEN)
            assert session is not None and session.reconnect_attempts == attempt
            # What /health/detailed and /metrics show for the device (docs/health.md).
            assert engine.diagnostics()["devices"] == {
                TOKEN: {
                    "attempts": attempt,
                    "nextAttemptAt": clock.time() + wait,
                    "lastError": f"Cannot reach WhatsApp: {DIAL_ERROR}",
                }
            }
            clock.advance(wait)
        await recorder.wait_for("connect_failure", count=7)
        assert len(fake_go.called("Neonize")) == 7
    finally:
        await engine.close()


async def test_every_connect_refreshes_the_own_push_name(
    backend: NeonizeBackend, online: FakeSession, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> None:
    await asyncio.to_thread(online.event, nc.DISCONNECTED, P.Disconnected(status=True))
    await recorder.wait_for("disconnected")
    fake_go.accounts[str(session_db)] = (TOKEN, "Shop renamed")  # changed on the phone meanwhile
    await asyncio.to_thread(online.event, nc.CONNECTED, P.Connected(status=True))
    assert (await recorder.wait_for("connected", count=2))["pushName"] == "Shop renamed"
