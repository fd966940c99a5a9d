"""The message store's benchmark still runs: ``bench/message_store.py --quick`` prints every figure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
# The quick run fills 5,000 messages and starts the gateway five times: seconds, even on a busy machine.
RUN_TIMEOUT_S = 55
LATENCY_ROWS = ("baseline GET /devices", "first page", "deep page", "one chat", "GET /chats")


@pytest.mark.slow
def test_quick_run_prints_insert_rates_and_page_latencies(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "message_store.py"), "--quick"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    out = completed.stdout
    assert re.search(r"store inserts/s: one per transaction [0-9]+, 500 per transaction [0-9]+", out), out
    assert re.search(r"incoming messages/s: store off [0-9]+, on [0-9]+", out), out
    for row in LATENCY_ROWS:
        line = next((line for line in out.splitlines() if row in line), None)
        assert line is not None and re.search(r"[0-9.]+ / +[0-9.]+$", line), (row, out)
