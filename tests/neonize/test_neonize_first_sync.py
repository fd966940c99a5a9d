"""A freshly linked device that has not finished its first history sync says so when a send fails, and
stops saying so once the sync reports 100 % (or never reports it); with the fake Go core."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.proto.waHistorySync.WAWebProtobufsHistorySync_pb2 import HistorySync

from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession, Recorder, make_paired_db, wait_until
from tests.neonize.test_neonize_pairing import scan
from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.session import FIRST_SYNC_LIMIT_S
from wa_gateway.clock import ManualClock
from wa_gateway.engine import contract as c

ALICE = "15557654321"
# What whatsmeow answers when it cannot build the message's encryption sessions (whatsmeow send.go).
SEND_ERROR = "failed to get device list: info query timed out"


async def paired_now(backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder) -> FakeSession:
    await backend.connect(TOKEN, "qr", "")
    session = await fake_go.next_session()
    await recorder.wait_for("qr")
    await asyncio.to_thread(scan, session)
    await recorder.wait_for("connected")
    fake_go.send_error = SEND_ERROR
    return session


async def send_fails_with(backend: NeonizeBackend) -> c.EngineError:
    with pytest.raises(c.EngineError) as info:
        await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "hello", 0)
    return info.value


async def history_chunk(session: FakeSession, sync_type: int, progress: int) -> None:
    data = HistorySync(syncType=sync_type, progress=progress)
    await asyncio.to_thread(session.event, nc.HISTORY_SYNC, P.HistorySync(Data=data))


async def test_a_send_failing_during_the_first_sync_says_so_until_it_completes(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder
) -> None:
    session = await paired_now(backend, fake_go, recorder)
    error = await send_fails_with(backend)
    assert error.code == c.E_HISTORY_SYNC_PENDING
    assert (
        error.message
        == f"Sending the message failed before the first history sync finished (0 %): {SEND_ERROR}"
    )

    await history_chunk(session, HistorySync.HistorySyncType.INITIAL_BOOTSTRAP, 40)
    await history_chunk(session, HistorySync.HistorySyncType.PUSH_NAME, 0)  # not part of it
    device = backend.session(TOKEN)
    assert device is not None
    await wait_until(lambda: device.first_sync_progress() == 40, what="40 % of the sync")
    assert "(40 %)" in (await send_fails_with(backend)).message
    assert backend.diagnostics()["firstSync"] == {TOKEN: 40}  # /health/detailed historySyncProgress

    await history_chunk(session, HistorySync.HistorySyncType.RECENT, 100)
    await wait_until(lambda: device.first_sync_progress() is None, what="the end of the sync")
    assert (await send_fails_with(backend)).code == c.E_ENGINE_FAILURE
    assert backend.diagnostics()["firstSync"] == {}


async def test_a_first_sync_that_never_finishes_stops_counting_after_the_limit(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, clock: ManualClock
) -> None:
    await paired_now(backend, fake_go, recorder)
    clock.advance(FIRST_SYNC_LIMIT_S - 1)
    assert (await send_fails_with(backend)).code == c.E_HISTORY_SYNC_PENDING
    clock.advance(1)
    assert (await send_fails_with(backend)).code == c.E_ENGINE_FAILURE


async def test_a_restored_device_is_not_waiting_for_a_first_sync(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> None:
    make_paired_db(session_db)
    fake_go.accounts[str(session_db)] = (TOKEN, "Shop")
    await backend.connect(TOKEN, "restore", "")
    await recorder.wait_for("connected")
    fake_go.send_error = SEND_ERROR
    assert (await send_fails_with(backend)).code == c.E_ENGINE_FAILURE
