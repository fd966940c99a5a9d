"""Real PostgreSQL and NATS (JetStream) servers for tests, from Debian's ``postgresql`` and ``nats-server``.

Each server runs from a throw-away directory on a port the OS chose, and is stopped by whoever started it.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` system user the Debian
package creates. CI (``.ci/run``) installs both packages and sets ``REQUIRE_SERVERS=1`` so that a missing
binary fails instead of skipping; on a developer machine without them the tests that need them are skipped.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Final

import pytest

REQUIRE_SERVERS: Final = os.environ.get("REQUIRE_SERVERS") == "1"
START_TIMEOUT: Final = 30.0
PG_BIN_DIRS: Final = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)  # a process we do not control: polling its port with a deadline is all there is
    raise RuntimeError(f"{what} did not listen on {port} within {START_TIMEOUT}s")


def missing(what: str) -> None:
    message = f"{what} is not installed (apt-get install postgresql nats-server)"
    if REQUIRE_SERVERS:
        pytest.fail(message)
    pytest.skip(message)


def pg_binary(name: str) -> str | None:
    for directory in PG_BIN_DIRS:
        if (directory / name).is_file():
            return str(directory / name)
    return shutil.which(name)


class PostgresServer:
    """One ``postgres`` cluster in a temporary directory, trust authentication on 127.0.0.1 only."""

    def __init__(self) -> None:
        initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
        if initdb is None or pg_ctl is None:
            missing("PostgreSQL")
        assert initdb is not None and pg_ctl is not None
        self._pg_ctl = pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="wa-gateway-pg-"))
        self.data = self.root / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.port = 0
        self.running = False
        self._run([initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])

    def _command(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if self._as_postgres else argv

    def _run(self, argv: list[str]) -> None:
        subprocess.run(self._command(argv), check=True, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start (or restart, on the same port); ``pg_ctl -w`` returns once it accepts connections."""
        if self.running:
            return
        self.port = self.port or free_port()
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c synchronous_commit=off"
        options += " -c full_page_writes=off -c max_connections=300"
        log = str(self.root / "server.log")
        self._run([self._pg_ctl, "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "60", "start"])
        self.running = True

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as when the database goes away under a node."""
        if self.running:
            self._run([self._pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"])
            self.running = False

    def create_database(self, name: str) -> str:
        self._psql(f'CREATE DATABASE "{name}"', check=True)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Dropped after each test: hundreds of left-over databases make the final clean-up take minutes."""
        if self.running:
            self._psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', check=False)

    def _psql(self, sql: str, *, check: bool) -> None:
        psql = pg_binary("psql")
        assert psql is not None
        argv = [psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-q", "-c", sql]
        subprocess.run(argv, check=check, capture_output=True)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class NatsServer:
    """One ``nats-server -js`` with its JetStream store in a temporary directory."""

    def __init__(self) -> None:
        binary = shutil.which("nats-server", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
        if binary is None:
            missing("nats-server")
        assert binary is not None
        self._binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="wa-gateway-nats-"))
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self.port = self.port or free_port()
        argv = [self._binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.root)]
        self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self._proc, "nats-server")

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
