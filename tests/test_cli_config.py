"""Start-up problems as one ``config error:`` line; secrets kept out of check-config and the worker."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from wa_gateway import keys
from wa_gateway.app import create_app
from wa_gateway.engine.launcher import worker_env
from wa_gateway.redact import mask_url
from wa_gateway.webhooks.dispatcher import WebhookDispatcher

from .conftest import SettingsFactory
from .test_cli import KEY, run_cli


@pytest.mark.parametrize("command", [("check-config",), ()])
def test_a_malformed_whsec_secret_is_one_config_error_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    env = {"API_KEY": KEY, "WEBHOOK_SECRET": "whsec_!!!", "DATA_DIR": str(tmp_path / "data")}
    result = run_cli(*command, cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "config error: WEBHOOK_SECRET starts with 'whsec_' but the rest is not valid base64"
    )


def _unwritable_data_dirs(tmp_path: Path) -> list[Path]:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    dirs = [a_file, a_file / "data"]
    if os.geteuid() != 0:  # root writes into a read-only directory anyway
        read_only = tmp_path / "read-only"
        read_only.mkdir(mode=0o500)
        dirs.append(read_only / "data")
    return dirs


@pytest.mark.parametrize("command", [("check-config",), ()])
def test_an_unwritable_data_dir_is_one_config_error_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    for data_dir in _unwritable_data_dirs(tmp_path):
        result = run_cli(*command, cwd=tmp_path, env={"API_KEY": KEY, "DATA_DIR": str(data_dir)})
        assert result.returncode == 1, result.stderr
        line = result.stderr.strip()
        assert "\n" not in line and line.startswith(f"config error: DATA_DIR {str(data_dir)!r} "), line


def test_check_config_masks_the_webhook_url_as_the_dispatcher_logs_it(tmp_path: Path) -> None:
    url = "https://user:pass@hooks.example.com/in?token=s3cret&x=1"
    result = run_cli("check-config", cwd=tmp_path, env={"API_KEY": KEY, "WEBHOOK_URL": url})
    assert result.returncode == 0, result.stderr
    assert "s3cret" not in result.stdout and "pass" not in result.stdout
    assert f"WEBHOOK_URL={mask_url(url)}\n" in result.stdout
    assert mask_url(url) == "https://********@hooks.example.com/in?********"
    assert mask_url("http://hooks.example.com:8080/in") == "http://hooks.example.com:8080/in"
    described = WebhookDispatcher._describe_error(url, aiohttp.InvalidURL(url))
    assert "s3cret" not in described and mask_url(url) in described


def test_the_worker_environment_has_none_of_the_gateway_settings() -> None:
    base = {
        "PATH": "/usr/bin",
        "HTTPS_PROXY": "http://proxy:3128",
        "API_KEY": "k",
        "WEBHOOK_SECRET": "s",
        "METRICS_TOKEN": "m",
        "WEBHOOK_URL": "https://x/?t=1",
        "LOG_LEVEL": "debug",
    }
    env = worker_env(base, archive="/opt/wa-gateway.pyz")
    assert env == {"PATH": "/usr/bin", "HTTPS_PROXY": "http://proxy:3128"}


async def test_the_real_worker_process_gets_no_secrets(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {"API_KEY": KEY, "WEBHOOK_SECRET": "hook-secret-1", "METRICS_TOKEN": "metrics-1"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    app = create_app(make_settings())
    await aiohttp_client(app)
    pid = app[keys.ENGINE_KEY].info()["pid"]
    environ = await asyncio.to_thread(Path(f"/proc/{pid}/environ").read_bytes)
    names = {entry.split(b"=", 1)[0] for entry in environ.split(b"\0") if entry}
    assert b"PATH" in names
    assert not names & {b"API_KEY", b"WEBHOOK_SECRET", b"METRICS_TOKEN"}
