"""The processes a benchmark starts (gateway, bare baseline, helpers), their memory, and their ending.

Every process is started in its own session, on 127.0.0.1 only, and registered with a ``Launcher`` whose
``stop_all`` ends whatever is still running (SIGTERM, then SIGKILL of the process group after a grace
period), so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

ROOT: Final = Path(__file__).resolve().parent.parent
HOST: Final = "127.0.0.1"
API_KEY: Final = "bench-api-key-0123456789abcdef0123456789"
AUTH: Final = {"Authorization": f"Bearer {API_KEY}"}
STOP_GRACE_S: Final = 20.0
_HEALTH_POLL_S: Final = 0.005
_CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")
# With this set every start compiles all modules again (docs/packaging.md pitfall 4); deployments
# do not set it.
_DROPPED_ENV: Final = ("PYTHONDONTWRITEBYTECODE",)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def helper_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a helper run as ``python -m bench.X``: the checkout importable, output unbuffered."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    parts = [str(ROOT), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def gateway_env(port: int, data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A gateway on 127.0.0.1 with the sandbox engine, no typing delay and no rate limits (issue 7)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WA_", "API_KEY", "WEBHOOK_", "SHIV_")) and k not in _DROPPED_ENV
    }
    env.update(
        {
            "API_KEY": API_KEY,
            "HOST": HOST,
            "PORT": str(port),
            "DATA_DIR": str(data_dir),
            "WA_ENGINE": "sandbox",
            "TYPING_DELAY_MS": "0",
            "RATE_LIMIT_DEVICES": "0",
            "RATE_LIMIT_MESSAGES": "0",
            "RATE_LIMIT_VALIDATE": "0",
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    started_at: float  # time.monotonic() just before the process was spawned

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid


@dataclass
class Launcher:
    """Starts processes and remembers them, so that ``stop_all`` can end every one."""

    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # The checkout whose gateway.py is started: this one, or another for before/after comparisons.
    gateway_root: Path = ROOT

    def spawn(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_name: str,
        stdout: int | None = None,
    ) -> subprocess.Popen[bytes]:
        cwd.mkdir(parents=True, exist_ok=True)
        with open(cwd / log_name, "ab") as log:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log if stdout is None else stdout,
                stderr=log,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def start_gateway(
        self,
        workdir: Path,
        *,
        extra_env: Mapping[str, str] | None = None,
        command: Sequence[str] | None = None,
        name: str = "gateway",
    ) -> Server:
        port = free_port()
        env = gateway_env(port, workdir / "data", extra_env)
        default = [sys.executable, str(self.gateway_root / "gateway.py")]
        argv = list(command) if command is not None else default
        started = time.monotonic()
        proc = self.spawn(argv, cwd=workdir, env=env, log_name=f"{name}.log")
        return Server(name, proc, port, workdir, started)

    def start_bare(self, workdir: Path, name: str = "bare", *, ipc: bool = False) -> Server:
        port = free_port()
        started = time.monotonic()
        argv = [sys.executable, "-m", "bench.bare_app", "--port", str(port), *(["--ipc"] if ipc else [])]
        proc = self.spawn(argv, cwd=workdir, env=helper_env(), log_name=f"{name}.log")
        return Server(name, proc, port, workdir, started)

    def stop(self, proc: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> int:
        """SIGTERM and wait (the gateway shuts down gracefully); SIGKILL the group if it will not go."""
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                pass
        _kill_group(proc)
        if proc in self.procs:
            self.procs.remove(proc)
        return proc.returncode if proc.returncode is not None else -9

    async def stop_async(self, proc: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> int:
        return await asyncio.to_thread(self.stop, proc, grace_s)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc, grace_s=5.0)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # The gateway's engine worker shares its process group; nothing of ours may outlive the run.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


async def wait_healthy(server: Server, deadline_s: float = 30.0) -> float:
    """Poll ``GET /health`` until 200; returns seconds from the spawn to the first 200."""
    deadline = time.monotonic() + deadline_s
    timeout = aiohttp.ClientTimeout(total=2.0)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(
                    f"{server.name} exited with {server.proc.returncode}; see {server.workdir}"
                )
            try:
                async with session.get(f"{server.url}/health") as resp:
                    if resp.status == 200:
                        return time.monotonic() - server.started_at
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(_HEALTH_POLL_S)
    raise RuntimeError(f"{server.name} did not answer /health within {deadline_s:g} s")


# --- memory -----------------------------------------------------------------------------------------


def proc_status_kb(pid: int) -> dict[str, int]:
    """The ``Vm*`` lines of /proc/PID/status, in kB."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
        for line in fh:
            if line.startswith("Vm"):
                name, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    out[name] = int(parts[0])
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (/proc/PID/stat, clock-tick resolution)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (/proc/PID/task/*/children, Linux >= 3.5)."""
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
            found += [int(part) for part in fh.read().split()]
    return found


def rss_mb(pid: int) -> float:
    return proc_status_kb(pid).get("VmRSS", 0) / 1024


class PeakRss:
    """The peak RSS of a process over a block: the kernel's high-water mark reset at the start
    (``/proc/PID/clear_refs`` = 5, Linux >= 4.0) where allowed, and a 10 ms sampler in any case."""

    def __init__(self, pid: int, interval_s: float = 0.01) -> None:
        self.pid = pid
        self.start_mb = rss_mb(pid)
        self._interval = interval_s
        self._samples_max = self.start_mb
        self._stop = threading.Event()
        self._hwm_reset = _reset_hwm(pid)
        self._thread = threading.Thread(target=self._sample, name=f"rss-{pid}", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._samples_max = max(self._samples_max, rss_mb(self.pid))
            except OSError:
                return

    def stop(self) -> float:
        """Stop sampling; the peak RSS in MB since the start."""
        self._stop.set()
        self._thread.join()
        peak = self._samples_max
        if self._hwm_reset:
            try:
                peak = max(peak, proc_status_kb(self.pid).get("VmHWM", 0) / 1024)
            except OSError:
                pass
        return peak


def _reset_hwm(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def machine_facts() -> dict[str, Any]:
    import platform

    import orjson

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    ram_gb = float("nan")
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    ram_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    from wa_gateway import __version__

    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "orjson": orjson.__version__,
        "kernel": platform.release(),
        "gateway": __version__,
        "commit": _git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' (with local changes)' if dirty else ''}" if head else "unknown"
