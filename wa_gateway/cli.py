"""Command line: run the gateway (default), ``init``, ``check-config``, ``healthcheck``, ``--version``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from wa_gateway import __version__, pyz_runtime
from wa_gateway.config import ConfigError, Settings, load_settings, read_environment
from wa_gateway.datadir import check_data_dir, prepare_data_dir
from wa_gateway.engine.launcher import ARCHIVE_PATH
from wa_gateway.envfile import env_file_text, new_api_key

HEALTHCHECK_TIMEOUT_S = 5.0


def _settings_or_exit(data_dir: Callable[[Path], None] | None = None) -> Settings:
    """The settings, or one ``config error:`` line and exit 1; ``data_dir`` checks or prepares DATA_DIR."""
    try:
        settings = load_settings(read_environment(os.environ))
        if data_dir is not None:
            data_dir(settings.data_dir)
        return settings
    except ConfigError as exc:
        # One line, the Go gateway's prefix, exit 1 (docs/go-gateway.md §1).
        print(f"config error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def _pyz_problem() -> str | None:
    """Why this .pyz cannot run here; checked before anything imports a compiled module."""
    if ARCHIVE_PATH is None:
        return None
    problem = pyz_runtime.interpreter_problem(pyz_runtime.build_target())
    unpacked = pyz_runtime.unpacked_dir()
    if problem is None and unpacked is not None:
        problem = pyz_runtime.unpacked_copy_problem(ARCHIVE_PATH, unpacked)
    return problem


def _run() -> int:
    problem = _pyz_problem()
    if problem is not None:
        print(f"wa-gateway: {problem}", file=sys.stderr)
        return 1
    settings = _settings_or_exit(prepare_data_dir)
    from wa_gateway.datadir_lock import lock_data_dir

    try:
        # Held until the process exits: the kernel releases it, whatever the way out.
        lock_data_dir(settings.data_dir)
    except (ConfigError, OSError) as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 1
    # Imported here, not at the top: on the wrong interpreter the check above must speak first.
    from wa_gateway.logs import configure_logging

    configure_logging(
        settings.log_level, settings.log_format, secrets=(settings.api_key, settings.webhook_secret)
    )
    unpacked = pyz_runtime.unpacked_dir() if ARCHIVE_PATH is not None else None
    if unpacked is not None:
        pyz_runtime.remove_stale_copies_in_background(unpacked)
    from wa_gateway.app import create_app
    from wa_gateway.server import serve

    return asyncio.run(serve(create_app(settings), settings))


def _healthcheck() -> int:
    """For container HEALTHCHECKs and monitors: GET /health on this machine, with the gateway's own config."""
    settings = _settings_or_exit()
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.host, settings.host)
    url = f"http://{f'[{host}]' if ':' in host else host}:{settings.port}/health"
    # Straight to this machine, whatever HTTP_PROXY says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=HEALTHCHECK_TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


def _check_config() -> int:
    settings = _settings_or_exit(check_data_dir)
    for name, value in settings.describe().items():
        print(f"{name}={value}")
    print("config ok", file=sys.stderr)
    return 0


def _init(path: Path, force: bool) -> int:
    if path.exists() and not force:
        print(f"{path} already exists; use --force to overwrite it", file=sys.stderr)
        return 1
    # 0600 from the start: the file holds the API key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(env_file_text(new_api_key()))
    os.chmod(path, 0o600)
    print(f"wrote {path} with a new API_KEY (read it with: grep API_KEY {path})")
    return 0


def _systemd_unit() -> int:
    # The package carries a copy of deploy/wa-gateway.service, so a lone .pyz can install its own unit.
    sys.stdout.write(resources.files("wa_gateway").joinpath("data/wa-gateway.service").read_text())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wa-gateway",
        description="Self-hosted WhatsApp gateway.",
        # Keeps --version on one line whatever the terminal's width.
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=pyz_runtime.version_text(__version__, pyz_runtime.build_target()),
    )
    # ``engine-worker`` is internal and dispatched in main() before parsing, so it is not listed here.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run the gateway (the default)")
    sub.add_parser("check-config", help="validate the configuration and print it, secrets masked")
    sub.add_parser("healthcheck", help="exit 0 if the gateway on this machine answers GET /health")
    sub.add_parser("systemd-unit", help="print the systemd unit (deploy/wa-gateway.service) to install")
    init = sub.add_parser("init", help="write a .env with a freshly generated API key")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument("--path", type=Path, default=Path(".env"), help="where to write (default .env)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["engine-worker"]:
        # The engine worker re-invokes this same program (source or .pyz); see engine/launcher.py.
        from wa_gateway.worker.main import main as worker_main

        return worker_main(args_list[1:])
    args = _parser().parse_args(args_list)
    if args.command == "check-config":
        return _check_config()
    if args.command == "init":
        return _init(args.path, args.force)
    if args.command == "healthcheck":
        return _healthcheck()
    if args.command == "systemd-unit":
        return _systemd_unit()
    return _run()
