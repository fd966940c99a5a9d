"""The Go map lock and the FFI proxy's threads."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from tests.neonize.neonize_fakes import wait_until
from wa_gateway.backends.neonize.ffi import GoFfi, GoMapLock


async def test_readers_share_and_a_writer_is_alone() -> None:
    lock = GoMapLock()
    await lock.acquire(False)
    await lock.acquire(False)
    assert lock.readers == 2
    writer = asyncio.create_task(lock.acquire(True))
    await asyncio.sleep(0)
    assert not writer.done()
    lock.release(False)
    lock.release(False)
    await writer
    assert lock.writer and lock.readers == 0
    reader = asyncio.create_task(lock.acquire(False))
    await asyncio.sleep(0)
    assert not reader.done()
    lock.release(True)
    await reader
    assert lock.readers == 1


async def test_a_waiting_writer_holds_back_later_readers() -> None:
    lock = GoMapLock()
    order: list[str] = []
    await lock.acquire(False)

    async def take(name: str, exclusive: bool) -> None:
        await lock.acquire(exclusive)
        order.append(name)
        lock.release(exclusive)

    writer = asyncio.create_task(take("writer", True))
    await asyncio.sleep(0)
    late_reader = asyncio.create_task(take("late reader", False))
    await asyncio.sleep(0)
    assert order == [] and lock.readers == 1
    lock.release(False)
    await asyncio.gather(writer, late_reader)
    assert order == ["writer", "late reader"]


async def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    lock = GoMapLock()
    await lock.acquire(False)
    writer = asyncio.create_task(lock.acquire(True))
    await asyncio.sleep(0)
    reader = asyncio.create_task(lock.acquire(False))
    await asyncio.sleep(0)
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer
    await reader
    assert lock.readers == 2 and not lock.writer


class BlockingGo:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.threads: dict[str, str] = {}

    def IsConnected(self, uuid: bytes) -> bool:
        self.threads["IsConnected"] = threading.current_thread().name
        self.release.wait(5)
        return True

    def Stop(self, uuid: bytes) -> bytes:
        self.threads["Stop"] = threading.current_thread().name
        return b""

    def Neonize(self, *args: Any) -> bytes:
        self.threads["Neonize"] = threading.current_thread().name
        self.release.wait(5)
        return b"failed"


async def test_a_shared_call_keeps_the_lock_until_go_returns_even_if_cancelled() -> None:
    lock = GoMapLock()
    go = BlockingGo()
    ffi = GoFfi(go, lock)
    call = asyncio.create_task(ffi.IsConnected(b"u1"))
    await wait_until(lambda: "IsConnected" in go.threads, what="call in Go")
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert lock.readers == 1, "Go is still inside the call: a stop must not run yet"
    go.release.set()
    await wait_until(lambda: lock.readers == 0, what="lock released")
    assert go.threads["IsConnected"].startswith("neonize-ffi")
    await ffi.close()


async def test_stop_runs_under_the_callers_exclusive_lock_and_neonize_on_its_own_daemon_thread() -> None:
    lock = GoMapLock()
    go = BlockingGo()
    ffi = GoFfi(go, lock)
    async with lock.exclusive():
        assert await asyncio.wait_for(ffi.Stop(b"u1"), 2) == b""  # no deadlock: Stop does not lock
        session = ffi.Neonize(b"db", b"u1")
        await wait_until(lambda: "Neonize" in go.threads, what="session started")
    (thread,) = ffi.session_threads()
    assert thread.daemon and thread.name == "neonize-session-u1" == go.threads["Neonize"]
    go.release.set()
    assert await session == b"failed"
    await wait_until(lambda: not ffi.session_threads(), what="session thread ends")
    await ffi.close()


async def test_private_names_are_not_go_functions() -> None:
    ffi = GoFfi(object(), GoMapLock())
    with pytest.raises(AttributeError):
        ffi._secret  # noqa: B018
    await ffi.close()
