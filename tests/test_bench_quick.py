"""The benchmark suite still works: ``bench/run.py --quick`` measures every group and writes its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import COLUMNS

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ("HTTP", "WebSocket", "Webhooks", "Contacts", "Memory", "Start-up")
# Every group at its smallest size takes about 25 s on a 2-core machine; pytest's own limit is 60 s.
RUN_TIMEOUT_S = 55


@pytest.mark.slow
def test_quick_run_measures_every_group_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    header = "  ".join(COLUMNS)
    table = [line for line in completed.stdout.splitlines() if line.split("  ")[0] in GROUPS]
    assert any(line.replace(" ", "") == header.replace(" ", "") for line in completed.stdout.splitlines())
    assert {line.split()[0] for line in table} == set(GROUPS)
    assert not [line for line in table if line.rstrip().endswith("error")], completed.stdout

    report = out.read_text(encoding="utf-8")
    assert report.startswith("# Benchmarks")
    assert "**Quick mode**" in report
    rows = [
        line for line in report.splitlines() if line.startswith("| ") and line.split(" | ")[0][2:] in GROUPS
    ]
    assert len(rows) == len(table)
    # Every measured row carries a number and a verdict; only the .pyz rows may be "not measured".
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[-1] in {"pass", "miss", "report", "not measured"}, row
        assert any(ch.isdigit() for ch in cells[2]) or cells[-1] == "not measured", row
    assert "CPU:" in report and "Python" in report and "aiohttp" in report
    # POST /messages is measured against the bare app and against the bare app + one IPC round trip.
    messages = [row for row in rows if "POST /messages c=" in row]
    assert messages and all("bare+IPC" in row and "of bare+IPC" in row for row in messages), messages
    assert "| POST /messages c=16 | bare+IPC |" in report
