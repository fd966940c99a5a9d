"""The real Go library with whatsmeow's store in a real PostgreSQL server (docs/cluster.md, neonize)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.neonize.test_neonize_real_library import PROBE_TIMEOUT_S, ROOT, isolation
from wa_gateway.db import whatsmeow


def run_pg_probe(tmp_path: Path) -> dict[str, Any]:
    result_path = tmp_path / "result.json"
    # Inside a namespace of its own the probe needs `ip` to bring loopback up for its PostgreSQL server.
    jail = isolation() if shutil.which("ip", path="/usr/sbin:/sbin:/usr/bin") else []
    completed = subprocess.run(
        [
            *jail,
            sys.executable,
            "-m",
            "tests.neonize.neonize_pg_probe",
            str(tmp_path / "data"),
            str(result_path),
            *(["isolated"] if jail else []),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S * 2,
        check=False,
    )
    assert completed.returncode == 0, f"probe exited {completed.returncode}:\n{completed.stderr[-4000:]}"
    result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    return result


@pytest.mark.slow
def test_whatsmeow_keeps_its_sessions_in_postgres_and_leaves_no_connection_behind(tmp_path: Path) -> None:
    result = run_pg_probe(tmp_path)
    # Every new pairing is a blank device (new_device), never a resumed one.
    assert result["pairing"] == [{"paired": False}] * 5
    # whatsmeow created its tables in its own schema, none beside ours, and nothing in DATA_DIR.
    ((schema, tables),) = result["tables"]
    assert schema == whatsmeow.SCHEMA and tables >= 10
    assert result["session_files"] == []
    assert result["cwd_files"] == [], "neonize's sqlite attempt on the URL created no file"
    # Each connect opened one connection that Go never closes; the backend closed each once it ended.
    assert result["closed_after_cycles"] == 5
    assert result["open_after_cycles"] == 0
    # A JID without its device row is never handed to Go (it would crash, docs/neonize.md §0.2).
    assert result["missing"] == {"paired": False}
    # The stored JID is resumed: Go found its row, dialled, failed offline, retried once.
    assert result["restore"] == {"paired": True}
    first, last = result["restore_events"]
    assert first["retrying"] is True and "reconnect attempt 1" in first["reason"]
    assert "gave up after 1 reconnect attempts" in last["reason"]
    # An offline logout cannot reach WhatsApp; its rows go anyway.
    assert result["rows_after_logout"] == 0
    assert result["open_after_close"] == 0
    assert result["closed_total"] == 7
