#!/usr/bin/env python3
"""Measure the gateway against its targets: ``python3 bench/run.py [--quick] [--only GROUP] [--pyz PATH]``.

Starts everything it measures on 127.0.0.1, prints one table, writes BENCHMARKS.md, and stops every
process it started, also when interrupted. Exit code 1 when a group could not be measured.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
_VENV_PYTHON = _ROOT / ".venv" / "bin" / "python"

try:
    import aiohttp  # noqa: F401
except ImportError:
    # ``python3 bench/run.py`` outside the project's virtualenv: rerun inside it when there is one.
    if _VENV_PYTHON.exists() and Path(sys.executable).resolve() != _VENV_PYTHON.resolve():
        os.execv(str(_VENV_PYTHON), [str(_VENV_PYTHON), *sys.argv])
    sys.exit("bench/run.py needs the project installed: make test (or pip install -e .) first")

if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from typing import Final  # noqa: E402

from bench import (  # noqa: E402
    contacts_group,
    http_group,
    memory_group,
    startup_group,
    webhooks_group,
    ws_group,
)
from bench.context import FULL, QUICK, Bench  # noqa: E402
from bench.procs import Launcher, machine_facts  # noqa: E402
from bench.report import ERROR, GroupResult, Row, markdown, text_table  # noqa: E402

GroupFn = Callable[[Bench], Awaitable[GroupResult]]
GROUPS: Final[dict[str, GroupFn]] = {
    "http": http_group.run,
    "ws": ws_group.run,
    "webhooks": webhooks_group.run,
    "contacts": contacts_group.run,
    "memory": memory_group.run,
    "startup": startup_group.run,
}
# 1,000 WebSocket clients hold 1,000 sockets in the client process and 1,000 in the gateway.
WANTED_OPEN_FILES: Final = 16_384


def _raise_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(WANTED_OPEN_FILES, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        # Children inherit the limit: the gateway and the WebSocket client process need it.
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _find_pyz(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit.resolve()
    found = sorted((_ROOT / "dist").glob("*.pyz"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: proves the scripts work")
    parser.add_argument("--only", action="append", choices=sorted(GROUPS), help="run only these groups")
    parser.add_argument("--pyz", type=Path, help="measure this .pyz too (default: the newest dist/*.pyz)")
    parser.add_argument("--out", type=Path, default=_ROOT / "BENCHMARKS.md", help="where to write the report")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (logs, databases)")
    parser.add_argument(
        "--source",
        type=Path,
        default=_ROOT,
        help="run the gateway from this checkout instead (before/after comparisons)",
    )
    return parser.parse_args(argv)


async def _run_groups(bench: Bench, names: list[str]) -> list[GroupResult]:
    results = []
    for name in names:
        started = time.monotonic()
        bench.log(f"== {name}")
        try:
            result = await GROUPS[name](bench)
        except Exception as exc:
            bench.log(f"{name} failed:\n{traceback.format_exc()}")
            result = GroupResult(name, [Row(name, "(group failed)", f"{type(exc).__name__}: {exc}"[:200])])
            result.rows[0].verdict = ERROR
            result.failed = True
        finally:
            # Whatever a group left running ends before the next group measures anything.
            await asyncio.to_thread(bench.launcher.stop_all)
        result.seconds = time.monotonic() - started
        bench.log(f"{name} took {result.seconds:.1f} s")
        results.append(result)
    return results


def _on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    _raise_open_files_limit()
    names = args.only or list(GROUPS)
    workdir = Path(tempfile.mkdtemp(prefix="wa-gateway-bench-"))
    launcher = Launcher(gateway_root=args.source.resolve())
    bench = Bench(QUICK if args.quick else FULL, args.quick, launcher, workdir, _find_pyz(args.pyz))
    started = time.monotonic()
    try:
        results = asyncio.run(_run_groups(bench, names))
    finally:
        bench.launcher.stop_all()
        if args.keep:
            bench.log(f"scratch kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    rows = [row for result in results for row in result.rows]
    print(text_table(rows))
    command = "python3 bench/run.py" + (" --quick" if args.quick else "")
    if args.only:
        command += "".join(f" --only {name}" for name in args.only)
    if args.source.resolve() != _ROOT:
        command += f" --source {args.source}"
    if args.pyz is not None:
        command += f" --pyz {args.pyz}"
    report = markdown(
        results, machine_facts(), quick=args.quick, command=command, seconds=time.monotonic() - started
    )
    args.out.write_text(report, encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 1 if any(result.failed for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
