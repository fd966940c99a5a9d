"""The real worker process under EngineSupervisor: requests, events, crashes, hangs, shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from wa_gateway.clock import SystemClock
from wa_gateway.engine import contract as c
from wa_gateway.engine.failures import E_ENGINE_LOST, EngineTimeout, EngineUnavailable
from wa_gateway.engine.ipc import open_stream, read_frame
from wa_gateway.engine.launcher import worker_command, worker_env
from wa_gateway.engine.supervisor import EngineSupervisor
from wa_gateway.worker.config import CONFIG_ENV

from .conftest import wait_until

pytestmark = pytest.mark.slow

TOKEN = "6281234567890"


class Calls:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.ups: list[bool] = []
        self.downs: list[str] = []

    def on_event(self, token: str, event: str, data: dict[str, Any], stamp: Any = None) -> None:
        self.events.append((token, event, data))

    async def on_worker_up(self, first_start: bool) -> None:
        self.ups.append(first_start)

    def on_worker_down(self, reason: str) -> None:
        self.downs.append(reason)

    def of(self, event: str) -> list[dict[str, Any]]:
        return [d for _, e, d in self.events if e == event]


Make = Callable[..., tuple[EngineSupervisor, Calls]]


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[Make]:
    supervisors: list[EngineSupervisor] = []

    def factory(config: dict[str, Any] | None = None, **params: Any) -> tuple[EngineSupervisor, Calls]:
        calls = Calls()
        worker_config = {
            "data_dir": str(tmp_path / "data"),
            "log_level": "debug",
            "test_hooks": True,
            "sandbox_qr_refresh_ms": 60_000,
            "sandbox_reconnect_ms": 100,
            **(config or {}),
        }
        options: dict[str, Any] = {
            "request_timeout": 10.0,
            "heartbeat_interval": 0.25,
            "heartbeat_timeout": 2.0,
            "restart_backoff_base": 0.05,
            "restart_backoff_cap": 1.0,
            "startup_timeout": 30.0,
            "stop_timeout": 5.0,
            **params,
        }
        supervisor = EngineSupervisor(
            "sandbox",
            worker_config,
            clock=SystemClock(),
            on_event=calls.on_event,
            on_worker_up=calls.on_worker_up,
            on_worker_down=calls.on_worker_down,
            **options,
        )
        supervisors.append(supervisor)
        return supervisor, calls

    yield factory
    for supervisor in supervisors:
        await supervisor.stop()


def reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not os.path.exists(f"/proc/{pid}")
    return False


async def link(supervisor: EngineSupervisor, calls: Calls) -> None:
    await supervisor.request(c.CMD_CONNECT, {"token": TOKEN, "method": "qr"})
    await supervisor.request(c.CMD_SANDBOX, {"op": "link", "token": TOKEN})
    await wait_until(lambda: bool(calls.of(c.EV_CONNECTED)), what="connected event")


async def test_hello_requests_and_events(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wa_gateway.engine")
    supervisor, calls = make()
    with pytest.raises(EngineUnavailable):
        await supervisor.request(c.CMD_STATUS)  # not started: fails at once
    await supervisor.start()
    assert supervisor.is_up
    info = supervisor.info()
    assert (info["engine"], info["state"], info["restarts"], info["lastError"]) == ("sandbox", "up", 0, None)
    assert isinstance(info["pid"], int) and info["pid"] != os.getpid()
    assert not reaped(info["pid"])
    await wait_until(lambda: calls.ups == [True], what="on_worker_up(True)")

    assert await supervisor.request(c.CMD_LIST_SESSIONS) == {"sessions": []}
    assert await supervisor.request(c.CMD_CONNECT, {"token": TOKEN, "method": "qr"}) == {"paired": False}
    await wait_until(lambda: bool(calls.of(c.EV_QR)), what="qr event")
    assert calls.of(c.EV_QR)[0]["code"].startswith("2@")
    result = await supervisor.request(c.CMD_SANDBOX, {"op": "link", "token": TOKEN, "pushName": "Alice"})
    assert result == {"jid": f"{TOKEN}@s.whatsapp.net", "pushName": "Alice"}
    await wait_until(lambda: bool(calls.of(c.EV_CONNECTED)), what="connected event")
    assert [e for _, e, _ in calls.events] == [c.EV_QR, c.EV_CONNECTED]

    with pytest.raises(c.EngineError) as unknown:
        await supervisor.request("teleport", {})
    assert unknown.value.code == c.E_UNKNOWN_COMMAND
    with pytest.raises(c.EngineError) as missing:
        await supervisor.request(c.CMD_SANDBOX, {"op": "sent", "token": "5550001112"})
    assert missing.value.code == c.E_DEVICE_NOT_FOUND
    # The worker's own log lines come back under the gateway's engine logger, with their level.
    await wait_until(
        lambda: any("simulated WhatsApp network" in r.getMessage() for r in caplog.records),
        what="the worker's sandbox warning in the gateway log",
    )
    [notice] = [r for r in caplog.records if "simulated WhatsApp network" in r.getMessage()]
    assert notice.name == "wa_gateway.engine" and notice.levelno == logging.WARNING


async def test_request_timeout(make: Make) -> None:
    supervisor, calls = make()
    await supervisor.start()
    await link(supervisor, calls)
    started = time.monotonic()
    with pytest.raises(EngineTimeout) as info:
        await supervisor.request(
            c.CMD_SEND_TEXT,
            {"token": TOKEN, "to": "1@s.whatsapp.net", "text": "x", "typing_ms": 5000},
            timeout=0.3,
        )
    assert info.value.code == "ENGINE_TIMEOUT"
    assert time.monotonic() - started < 3
    assert supervisor.info()["pendingRequests"] == 0
    assert await supervisor.request(c.CMD_STATUS) == {
        "devices": [
            {
                "token": TOKEN,
                "status": "connected",
                "jid": f"{TOKEN}@s.whatsapp.net",
                "pushName": "Sandbox User",
            }
        ]
    }


async def test_killed_worker_fails_pending_requests_and_is_restarted(make: Make) -> None:
    supervisor, calls = make()
    await supervisor.start()
    await link(supervisor, calls)
    old_pid = supervisor.info()["pid"]
    pending = asyncio.create_task(
        supervisor.request(
            c.CMD_SEND_TEXT,
            {"token": TOKEN, "to": "1@s.whatsapp.net", "text": "x", "typing_ms": 30_000},
            timeout=30,
        )
    )
    await wait_until(lambda: supervisor.info()["pendingRequests"] == 1, what="the request in flight")
    killed_at = time.monotonic()
    os.kill(old_pid, signal.SIGKILL)
    with pytest.raises(EngineUnavailable) as raised:
        await pending
    # The worker had the send: it may have gone out, which callers must be able to tell apart.
    assert raised.value.code == E_ENGINE_LOST
    assert time.monotonic() - killed_at < 2
    await wait_until(lambda: calls.ups == [True, False], what="on_worker_up(first_start=False)")
    assert calls.downs == ["engine worker killed by SIGKILL"]
    info = supervisor.info()
    assert info["restarts"] == 1 and info["pid"] != old_pid and info["state"] == "up"
    assert reaped(old_pid)
    # The session survived the crash: the new worker restores the linked device.
    assert await supervisor.request(c.CMD_CONNECT, {"token": TOKEN, "method": "restore"}) == {"paired": True}


async def test_hung_worker_is_killed_by_the_heartbeat(make: Make) -> None:
    supervisor, calls = make()
    await supervisor.start()
    old_pid = supervisor.info()["pid"]
    blocked = asyncio.create_task(supervisor.request("_test_block_loop", {"seconds": 45}, timeout=40))
    with pytest.raises(EngineUnavailable):
        await blocked
    await wait_until(lambda: len(calls.downs) == 1, what="on_worker_down")
    assert "hung" in calls.downs[0]
    await wait_until(lambda: calls.ups == [True, False], what="restart after the hang")
    assert reaped(old_pid)
    assert supervisor.info()["lastError"] == calls.downs[0]


async def test_sigterm_stops_the_worker_gracefully_and_it_comes_back(make: Make) -> None:
    supervisor, calls = make()
    await supervisor.start()
    old_pid = supervisor.info()["pid"]
    os.kill(old_pid, signal.SIGTERM)
    await wait_until(lambda: calls.ups == [True, False], what="restart after SIGTERM")
    assert calls.downs == ["engine worker exited with code 0"]
    assert reaped(old_pid)


async def test_worker_without_config_says_why_and_exits_2() -> None:
    gateway_end, worker_end = socket.socketpair()
    env = {k: v for k, v in worker_env(os.environ).items() if k != CONFIG_ENV}
    proc = await asyncio.create_subprocess_exec(
        *worker_command(),
        "--fd",
        str(worker_end.fileno()),
        pass_fds=(worker_end.fileno(),),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    worker_end.close()
    reader, writer = await open_stream(gateway_end)
    try:
        fatal = await asyncio.wait_for(read_frame(reader), 20)
        assert fatal is not None and fatal["type"] == "fatal" and CONFIG_ENV in fatal["message"]
        assert await asyncio.wait_for(proc.wait(), 20) == 2
    finally:
        await writer.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_stop_reaps_the_worker_and_leaks_no_fds(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wa_gateway.engine")
    supervisor, calls = make()
    fds_before = len(os.listdir("/proc/self/fd"))
    await supervisor.start()
    pid = supervisor.info()["pid"]
    await supervisor.stop()
    assert calls.downs == ["shutdown"]
    assert reaped(pid)
    assert f"engine worker {pid} stopped: engine worker exited with code 0" in caplog.messages
    assert supervisor.info()["state"] == "stopped" and not supervisor.is_up
    assert len(os.listdir("/proc/self/fd")) == fds_before
    with pytest.raises(EngineUnavailable):
        await supervisor.request(c.CMD_STATUS)
    await supervisor.stop()  # idempotent


async def test_missing_backend_module_is_reported(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wa_gateway.engine")
    supervisor, calls = make(
        config={"test_backend_module": "wa_gateway.engine.no_such_backend"}, restart_backoff_base=30.0
    )
    await supervisor.start()
    assert not supervisor.is_up
    info = supervisor.info()
    assert info["state"] == "backoff"
    assert "No module named 'wa_gateway.engine.no_such_backend'" in info["lastError"]
    errors = [r for r in caplog.records if r.name == "wa_gateway.engine" and r.levelno == logging.ERROR]
    assert any("engine worker failed to start" in r.getMessage() for r in errors)
    with pytest.raises(EngineUnavailable):
        await supervisor.request(c.CMD_STATUS)
    started = time.monotonic()
    await supervisor.stop()  # interrupts the 30 s backoff
    assert time.monotonic() - started < 5
    assert calls.ups == [] and calls.downs == []


async def test_stop_kills_a_worker_that_does_not_answer(make: Make) -> None:
    supervisor, calls = make(stop_timeout=0.5, heartbeat_timeout=30.0)
    await supervisor.start()
    pid = supervisor.info()["pid"]
    blocked = asyncio.create_task(supervisor.request("_test_block_loop", {"seconds": 45}, timeout=40))
    await wait_until(lambda: supervisor.info()["pendingRequests"] == 1, what="the blocking request in flight")
    started = time.monotonic()
    await supervisor.stop()
    assert time.monotonic() - started < 5
    assert reaped(pid)
    assert calls.downs == ["shutdown"]
    with pytest.raises(EngineUnavailable):
        await blocked


async def test_a_worker_that_cannot_be_spawned_is_reported(make: Make) -> None:
    supervisor, calls = make(command=["/nonexistent/python3"], restart_backoff_base=30.0)
    await supervisor.start()
    assert not supervisor.is_up
    assert "cannot start engine worker" in supervisor.info()["lastError"]
    await supervisor.stop()
    assert calls.ups == []


async def test_the_worker_config_never_shows_in_its_environment(make: Make, tmp_path: Path) -> None:
    # A DATABASE_URL password travels in the config; /proc/<pid>/environ keeps a process's starting
    # environment for its whole life (proc(5)), so the config goes through a pipe instead.
    marker = "postgresql://gw:s3cret-in-config@db.example/wa"
    data_dir = tmp_path / "data-from-the-pipe"
    supervisor, _calls = make({"database_url": "", "data_dir": str(data_dir), "marker": marker})
    await supervisor.start()
    pid = supervisor.info()["pid"]
    environ = await asyncio.to_thread(Path(f"/proc/{pid}/environ").read_bytes)
    assert marker.encode() not in environ and b"data-from-the-pipe" not in environ
    # The worker did get it: its sandbox opened the data directory named only in the config.
    await wait_until(lambda: (data_dir / "sessions").is_dir(), what="the worker's sessions directory")
