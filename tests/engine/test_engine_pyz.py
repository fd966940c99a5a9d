"""A gateway started from a zip archive re-invokes that archive for its worker (like a shiv .pyz)."""

from __future__ import annotations

import asyncio
import sys
import zipfile
from pathlib import Path

import orjson
import pytest

pytestmark = pytest.mark.slow

# The archive's entry point: route "engine-worker" to the worker, else run a supervisor and report.
MAIN = """
import asyncio, sys
import orjson
if sys.argv[1:2] == ["engine-worker"]:
    from wa_gateway.worker.main import main
    sys.exit(main(sys.argv[2:]))
from wa_gateway.clock import SystemClock
from wa_gateway.engine.launcher import ARCHIVE_PATH
from wa_gateway.engine.supervisor import EngineSupervisor

async def run():
    supervisor = EngineSupervisor(
        "sandbox", {"data_dir": sys.argv[1]}, clock=SystemClock(),
        on_event=lambda *a: None, on_worker_up=lambda f: None, on_worker_down=lambda r: None,
    )
    await supervisor.start()
    pid = supervisor.info()["pid"]
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        cmdline = [part.decode() for part in f.read().split(b"\\0") if part]
    sessions = await supervisor.request("list_sessions")
    await supervisor.stop()
    print(orjson.dumps({"archive": ARCHIVE_PATH, "cmdline": cmdline, "sessions": sessions}).decode())

asyncio.run(run())
"""


@pytest.fixture
def pyz(tmp_path: Path) -> Path:
    """Our package and the entry point above in one zip, as shiv lays out an archive."""
    path = tmp_path / "wa-gateway.pyz"
    package = Path(__file__).resolve().parents[2] / "wa_gateway"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__main__.py", MAIN)
        for source in package.rglob("*.py"):
            archive.write(source, Path("wa_gateway") / source.relative_to(package))
    return path


async def test_worker_is_the_same_archive(pyz: Path, tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(pyz),
        str(tmp_path / "data"),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    report = orjson.loads(out.splitlines()[-1])
    assert report["archive"] == str(pyz)
    assert report["cmdline"][:3] == [sys.executable, str(pyz), "engine-worker"]
    assert report["cmdline"][3] == "--fd"
    assert report["sessions"] == {"sessions": []}
