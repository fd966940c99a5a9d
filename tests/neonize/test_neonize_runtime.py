"""Loading neonize: clear errors for a broken install, no import side effects left behind, settings."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from tests.neonize.neonize_fakes import Recorder
from wa_gateway.backends.neonize import runtime
from wa_gateway.backends.neonize.backend import create_backend
from wa_gateway.backends.neonize.runtime import NeonizeSettings, parse_device_name
from wa_gateway.engine.worker_log import parse_worker_log_line, scrub_phones

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, tmp_path: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env_path = f"{extra_path}:{ROOT}" if extra_path else str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


def test_the_library_name_follows_neonize() -> None:
    assert runtime.shared_library_name("Linux", "x86_64") == "neonize-linux-amd64.so"
    assert runtime.shared_library_name("Linux", "aarch64") == "neonize-linux-arm64.so"
    assert runtime.shared_library_name("Darwin", "arm64") == "neonize-darwin-arm64.dylib"


def test_a_missing_library_is_named_before_anything_imports_neonize(tmp_path: Path) -> None:
    package = tmp_path / "neonize"
    package.mkdir()
    marker = tmp_path / "imported"
    # Importing this stand-in would leave a marker: the real package would download its library here.
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8")
    (package / "_binder.py").write_text("", encoding="utf-8")
    code = (
        "import asyncio\n"
        "from wa_gateway.backends.neonize.backend import create_backend\n"
        "try:\n"
        f"    asyncio.run(create_backend({{'data_dir': {str(tmp_path / 'data')!r}}}))\n"
        "except RuntimeError as exc:\n"
        "    print('RuntimeError:', exc)\n"
    )
    completed = run_python(code, tmp_path, extra_path=tmp_path)
    assert completed.returncode == 0, completed.stderr
    library = package / runtime.shared_library_name()
    assert completed.stdout.strip() == (
        f"RuntimeError: The WhatsApp engine library is missing: {library} does not exist. Reinstall "
        "neonize==0.5.2 from its wheel for this platform (a zipapp must be unpacked first)."
    )
    assert not marker.exists()
    assert "Traceback" not in completed.stderr


async def test_missing_libmagic_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(runtime.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(runtime, "LIBMAGIC_NAMES", ("libmagic-not-here.so.9",))
    with pytest.raises(RuntimeError, match=r"libmagic is not installed.*apt-get install libmagic1"):
        await create_backend({"data_dir": str(tmp_path)})
    assert runtime.check_libmagic(("libmagic-not-here.so.9", "libc.so.6")) == "libc.so.6"


async def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="data_dir is required"):
        await create_backend({})
    with pytest.raises(RuntimeError, match=r"reconnect_max_attempts=-1: expected a number from 0 to 1e\+06"):
        await create_backend({"data_dir": str(tmp_path), "reconnect_max_attempts": -1})
    with pytest.raises(RuntimeError, match="must have the form 'Browser \\(OS\\)'"):
        await create_backend({"data_dir": str(tmp_path), "device_name": "wa-gateway"})


async def test_create_backend_on_the_real_library(tmp_path: Path) -> None:
    backend = await create_backend({"engine": "neonize", "data_dir": str(tmp_path), "log_level": "DEBUG"})
    assert backend.name == "neonize"
    await backend.start(Recorder())
    assert (tmp_path / "sessions").is_dir()
    assert await backend.list_sessions() == []
    await backend.close()
    assert logging.getLogger(runtime.GO_LEVEL_LOGGER).level == logging.DEBUG


@pytest.mark.parametrize("configured", [False, True])
def test_importing_neonize_leaves_the_root_logger_alone(tmp_path: Path, configured: bool) -> None:
    setup = "logging.basicConfig(level=logging.ERROR)\n" if configured else ""
    code = (
        "import json, logging\n"
        f"{setup}"
        "before = [type(h).__name__ for h in logging.getLogger().handlers], logging.getLogger().level\n"
        "from wa_gateway.backends.neonize.runtime import import_neonize\n"
        "import_neonize('error')\n"
        "import neonize.utils.log\n"
        "after = [type(h).__name__ for h in logging.getLogger().handlers], logging.getLogger().level\n"
        "go = logging.getLogger('neonize.utils.log').level\n"
        "print(json.dumps([before, after, go]))\n"
    )
    completed = run_python(code, tmp_path)
    assert completed.returncode == 0, completed.stderr
    before, after, go_level = json.loads(completed.stdout)
    assert after == before
    assert go_level == logging.ERROR


def test_settings_and_device_names(tmp_path: Path) -> None:
    settings = NeonizeSettings.from_config({"data_dir": str(tmp_path), "log_level": "LOUD"})
    assert settings.log_level == "info"
    assert (settings.device_name, settings.qr_watchdog_s, settings.reconnect_max_attempts) == (
        "Chrome (Linux)",
        170.0,
        0,  # retry while the session is valid
    )
    assert (settings.reconnect_max_backoff_s, settings.reconnect_jitter) == (300.0, 0.2)
    assert settings.sessions_dir == tmp_path / "sessions"
    name = parse_device_name("Internet Explorer (Windows 11)")
    assert (name.display, name.browser, name.os) == ("Internet Explorer (Windows 11)", "ie", "Windows 11")
    for bad in ("Chrome", "Chrome(Linux)", "Netscape (Linux)", "Chrome (Linux) extra"):
        with pytest.raises(ValueError):
            parse_device_name(bad)
    with pytest.raises(ValueError, match="send_presence_on_connect"):
        NeonizeSettings.from_config({"data_dir": str(tmp_path), "send_presence_on_connect": "yes"})


def test_phone_numbers_in_whatsmeow_lines_are_masked() -> None:
    lines = {
        "Sending message to 15557654321@s.whatsapp.net": "Sending message to …4321@s.whatsapp.net",
        "Login event: 15557654321:7@s.whatsapp.net": "Login event: …4321:7@s.whatsapp.net",
        "SendMessage: Error to +15557654321 failed": "SendMessage: Error to +…4321 failed",
        "Got 12 receipts in 3 chats": "Got 12 receipts in 3 chats",
    }
    assert {line: scrub_phones(line) for line in lines} == lines
    parsed = parse_worker_log_line(
        '{"kind":"engine-log","level":"INFO","logger":"whatsmeow.Client","message":"from 15557654321@lid"}'
    )
    assert parsed is not None and parsed.message == "from …4321@lid"
