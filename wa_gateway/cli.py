"""Command line: run the gateway (default), ``init``, ``check-config``, ``--version``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from . import __version__
from .config import ConfigError, Settings, load_settings, read_environment
from .envfile import env_file_text, new_api_key
from .logs import configure_logging


def _settings_or_exit() -> Settings:
    try:
        return load_settings(read_environment(os.environ))
    except ConfigError as exc:
        # One line, the Go gateway's prefix, exit 1 (wa-gateway-go-behaviour.md §2.3).
        print(f"config error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def _run() -> int:
    settings = _settings_or_exit()
    configure_logging(
        settings.log_level, settings.log_format, secrets=(settings.api_key, settings.webhook_secret)
    )
    from .app import create_app
    from .server import serve

    return asyncio.run(serve(create_app(settings), settings))


def _check_config() -> int:
    settings = _settings_or_exit()
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wa-gateway", description="Self-hosted WhatsApp gateway.")
    parser.add_argument("--version", action="version", version=f"wa-gateway {__version__}")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the gateway (the default)")
    sub.add_parser("check-config", help="validate the configuration and print it, secrets masked")
    init = sub.add_parser("init", help="write a .env with a freshly generated API key")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument("--path", type=Path, default=Path(".env"), help="where to write (default .env)")
    sub.add_parser("engine-worker", help=argparse.SUPPRESS, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["engine-worker"]:
        # The engine worker re-invokes this same program (source or .pyz); see engine/launcher.py.
        from .engine.worker import main as worker_main

        return worker_main(args_list[1:])
    args = _parser().parse_args(args_list)
    if args.command == "check-config":
        return _check_config()
    if args.command == "init":
        return _init(args.path, args.force)
    return _run()
