"""Group 6, start-up: process start to the first ``GET /health`` 200 (sandbox engine).

From source (``python gateway.py``), and from a .pyz when one is given or found in ``dist/``: warm (its
``SHIV_ROOT`` already extracted) and on first extraction (a fresh ``SHIV_ROOT`` each round). The
baseline is the bare aiohttp app's start-up. Rounds alternate, and each process is stopped before the
next starts. ``PYTHONDONTWRITEBYTECODE`` is never passed on (see ``procs``): with it every start would
compile everything again (docs/packaging.md pitfall 4), which is not how the gateway runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

from bench.context import Bench
from bench.procs import Server, wait_healthy
from bench.report import NOT_MEASURED, GroupResult, Row, fmt, ratio, verdict
from bench.stats import median

GROUP: Final = "Start-up"
WARM_TARGET_S: Final = 1.5


async def run(bench: Bench) -> GroupResult:
    result = GroupResult(GROUP)
    rounds = bench.sizes.startup_rounds

    def source() -> Server:
        return bench.launcher.start_gateway(
            bench.scratch("startup-source"),
        )

    def bare() -> Server:
        return bench.launcher.start_bare(bench.scratch("startup-bare"))

    await _time(bench, source)  # the first start may still write bytecode caches: not counted
    await _time(bench, bare)
    source_s: list[float] = []
    bare_s: list[float] = []
    for index in range(rounds):
        pair = ((source, source_s), (bare, bare_s))
        for start, out in pair if index % 2 == 0 else reversed(pair):
            out.append(await _time(bench, start))
    base = median(bare_s)
    result.rows += [
        Row(
            GROUP,
            "from source (sandbox engine)",
            f"{fmt(median(source_s), 2)} s",
            f"{fmt(base, 2)} s",
            ratio(median(source_s), base),
            "report",
        ),
    ]
    result.details += [
        f"Medians of {rounds} rounds after one unmeasured start each. From source, seconds per round: "
        f"{', '.join(fmt(s, 2) for s in source_s)}; bare app: {', '.join(fmt(s, 2) for s in bare_s)}.",
    ]
    if bench.pyz is None:
        for figure in ("from the .pyz, warm", "from the .pyz, first extraction"):
            result.rows.append(
                Row(
                    GROUP,
                    figure,
                    "no .pyz (build one, or pass --pyz PATH)",
                    target=f"< {WARM_TARGET_S:g} s warm" if "warm" in figure else "report",
                    verdict=NOT_MEASURED,
                )
            )
        return result
    pyz = bench.pyz
    python = _base_python()
    warm_root = bench.scratch("shiv-warm")

    def pyz_warm() -> Server:
        env = {"SHIV_ROOT": str(warm_root)}
        return bench.launcher.start_gateway(
            bench.scratch("startup-pyz"), extra_env=env, command=[python, str(pyz)]
        )

    def pyz_first() -> Server:
        env = {"SHIV_ROOT": str(bench.scratch("shiv-first"))}
        return bench.launcher.start_gateway(
            bench.scratch("startup-pyz"), extra_env=env, command=[python, str(pyz)]
        )

    await _time(bench, pyz_warm)  # extracts into warm_root
    warm_s = [await _time(bench, pyz_warm) for _ in range(rounds)]
    first_s = [await _time(bench, pyz_first) for _ in range(bench.sizes.pyz_first_rounds)]
    result.rows += [
        Row(
            GROUP,
            "from the .pyz, warm",
            f"{fmt(median(warm_s), 2)} s",
            f"{fmt(base, 2)} s",
            ratio(median(warm_s), base),
            f"< {WARM_TARGET_S:g} s",
            verdict(median(warm_s) < WARM_TARGET_S),
        ),
        Row(
            GROUP,
            "from the .pyz, first extraction",
            f"{fmt(median(first_s), 2)} s",
            f"{fmt(base, 2)} s",
            ratio(median(first_s), base),
            "report",
        ),
    ]
    result.details.append(
        f"`.pyz`: {pyz.name} ({pyz.stat().st_size / 1e6:.1f} MB) run by `{python}`; warm rounds: "
        f"{', '.join(fmt(s, 2) for s in warm_s)}; first extraction (fresh `SHIV_ROOT`): "
        f"{', '.join(fmt(s, 2) for s in first_s)}."
    )
    return result


async def _time(bench: Bench, start: Callable[[], Server]) -> float:
    server = start()
    try:
        return await wait_healthy(server, deadline_s=60.0)
    finally:
        await bench.launcher.stop_async(server.proc)


def _base_python() -> str:
    """The interpreter a user runs the .pyz with: the base Python, not this virtualenv (which would
    lend the .pyz its own site-packages and hide a missing dependency)."""
    base = getattr(sys, "_base_executable", "") or sys.executable
    return str(Path(base))
