"""The real Go library, offline: it loads, a connect fails cleanly, and 50 clients at once do not crash it."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROBE = Path(__file__).with_name("neonize_probe.py")
ROOT = Path(__file__).resolve().parents[2]
PROBE_TIMEOUT_S = 50


@functools.cache
def isolation() -> list[str]:
    """A network namespace with only loopback, when we may make one: no packet can reach WhatsApp."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    trial = subprocess.run([unshare, "-n", "true"], capture_output=True, timeout=10, check=False)
    return [unshare, "-n"] if trial.returncode == 0 else []


def run_probe(mode: str, tmp_path: Path) -> dict[str, Any]:
    result_path = tmp_path / "result.json"
    data_dir = tmp_path / "data"
    completed = subprocess.run(
        [*isolation(), sys.executable, str(PROBE), mode, str(data_dir), str(result_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, f"probe exited {completed.returncode}:\n{completed.stderr[-4000:]}"
    result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    return result


@pytest.mark.slow
def test_an_offline_connect_fails_cleanly_on_the_real_library(tmp_path: Path) -> None:
    result = run_probe("offline", tmp_path)
    assert result["connect"] == {"paired": False}
    ((token, event, data),) = result["events"]
    assert (token, event, data["code"], data["retrying"]) == ("15550000001", "connect_failure", None, False)
    assert data["reason"].startswith("Cannot reach WhatsApp: failed to dial whatsapp web websocket")
    assert result["status"] == [{"token": "15550000001", "status": "disconnected", "jid": "", "pushName": ""}]
    assert result["sessions"] == [], "the never-paired session database was removed"
    leftovers = [name for name in result["threads_after_close"] if name.startswith("neonize-")]
    assert leftovers == [], "no session or FFI thread survives close()"
    # Only neonize's own daemon log thread is left when the interpreter exits.
    assert result["threads_at_exit"] == ["Thread-1 (_worker)"]


@pytest.mark.slow
def test_fifty_clients_connecting_and_stopping_at_once_do_not_crash_go(tmp_path: Path) -> None:
    result = run_probe("stress", tmp_path)
    assert result["failures"] >= 100  # rounds 1 and 3 wait for all 50; round 2 stops them mid-way
    assert result["reads"] > 0, "map reads ran concurrently with the connects and stops"
    assert [name for name in result["threads_after_close"] if name.startswith("neonize-")] == []
    assert result["threads_at_exit"] == ["Thread-1 (_worker)"]
