"""How the worker is started: command line from source or .pyz, its environment, its log lines."""

from __future__ import annotations

import io
import logging
import os
import sys
import zipfile
from pathlib import Path

import pytest

from wa_gateway.engine import launcher
from wa_gateway.engine.launcher import archive_path_of, worker_command, worker_env
from wa_gateway.engine.worker_log import configure_worker_logging, parse_worker_log_line


def test_source_checkout_runs_the_worker_module() -> None:
    assert worker_command(None) == [sys.executable, "-m", "wa_gateway.worker.main"]


def test_zip_archive_reinvokes_itself_with_the_subcommand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyz = tmp_path / "wa-gateway.pyz"
    with zipfile.ZipFile(pyz, "w") as archive:
        archive.writestr("__main__.py", "print('hi')\n")
    monkeypatch.chdir(tmp_path)
    found = archive_path_of("wa-gateway.pyz")  # relative, as `python3 wa-gateway.pyz` gives it
    assert found == str(pyz)
    assert worker_command(found) == [sys.executable, str(pyz), "engine-worker"]


def test_plain_scripts_are_not_archives(tmp_path: Path) -> None:
    script = tmp_path / "gateway.py"
    script.write_text("print('hi')\n")
    assert archive_path_of(str(script)) is None
    assert archive_path_of(str(tmp_path / "missing.pyz")) is None
    assert archive_path_of("") is None


def test_this_process_is_not_an_archive() -> None:
    assert launcher.ARCHIVE_PATH is None
    assert launcher.BUILD_ID  # the version, since there is no archive to fingerprint


def test_env_drops_shiv_overrides_but_keeps_shiv_root(tmp_path: Path) -> None:
    base = {
        "SHIV_ROOT": "/var/lib/wa/shiv",
        "SHIV_FORCE_EXTRACT": "1",
        "SHIV_ENTRY_POINT": "other:main",
        "SHIV_INTERPRETER": "1",
        "HOME": "/home/wa",
        "PATH": "/usr/bin",
    }
    env = worker_env(base, archive=str(tmp_path / "x.pyz"))
    assert env == {"SHIV_ROOT": "/var/lib/wa/shiv", "HOME": "/home/wa", "PATH": "/usr/bin"}


def test_env_from_source_makes_the_package_importable() -> None:
    env = worker_env({"PYTHONPATH": "/opt/extra"}, archive=None)
    parts = env["PYTHONPATH"].split(os.pathsep)
    root = Path(launcher.__file__).resolve().parents[2]
    assert parts == [str(root), "/opt/extra"]
    assert (root / "wa_gateway" / "worker" / "main.py").is_file()


def test_worker_log_lines_round_trip_and_raw_lines_are_not_ours() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    configure_worker_logging("debug", stream)
    try:
        logger = logging.getLogger("wa_gateway.engine.sandbox")
        logger.warning("hello %s", "world")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("it failed")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
    first, second = stream.getvalue().splitlines()
    parsed = parse_worker_log_line(first)
    assert parsed is not None
    assert (parsed.level, parsed.logger, parsed.message) == (
        logging.WARNING,
        "wa_gateway.engine.sandbox",
        "hello world",
    )
    failed = parse_worker_log_line(second)
    assert failed is not None and failed.level == logging.ERROR
    assert "it failed" in failed.message and "ValueError: boom" in failed.message
    assert parse_worker_log_line("Login event: success") is None
    assert parse_worker_log_line('{"level": "info", "message": "not ours"}') is None
    assert parse_worker_log_line("{broken") is None
