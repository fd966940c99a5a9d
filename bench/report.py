"""Result rows, the printed table and BENCHMARKS.md."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

PASS: Final = "pass"
MISS: Final = "miss"
REPORT: Final = "report"
NOT_MEASURED: Final = "not measured"
ERROR: Final = "error"

COLUMNS: Final = ("Group", "Figure", "Gateway", "Baseline", "Ratio", "Target", "Result")
FINDINGS: Final = Path(__file__).with_name("findings.md")


@dataclass
class Row:
    group: str
    figure: str
    value: str
    baseline: str = "-"
    ratio: str = "-"
    target: str = "-"
    verdict: str = REPORT

    def cells(self) -> tuple[str, ...]:
        return (self.group, self.figure, self.value, self.baseline, self.ratio, self.target, self.verdict)


@dataclass
class GroupResult:
    name: str
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # markdown lines: raw rounds, method notes
    seconds: float = 0.0
    failed: bool = False


def verdict(ok: bool) -> str:
    return PASS if ok else MISS


def fmt(value: float, digits: int = 1, unit: str = "") -> str:
    if math.isnan(value):
        return "n/a"
    text = f"{value:,.{digits}f}"
    return f"{text} {unit}".strip()


def ratio(value: float, baseline: float) -> str:
    if math.isnan(value) or math.isnan(baseline) or baseline == 0:
        return "-"
    return f"{value / baseline:.2f}x"


def text_table(rows: Sequence[Row]) -> str:
    cells = [COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(rows: Sequence[Row]) -> str:
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |")
    return "\n".join(out)


def markdown(
    groups: Sequence[GroupResult], facts: dict[str, Any], *, quick: bool, command: str, seconds: float
) -> str:
    rows = [row for group in groups for row in group.rows]
    lines = [
        "# Benchmarks",
        "",
        "Written by `python3 bench/run.py` (do not edit by hand: run it again). Every figure is measured in",
        "one run on 127.0.0.1 against a baseline measured in the same run; throughput figures are medians",
        "of several rounds, latencies are the medians of each round's percentiles.",
        "",
    ]
    if quick:
        lines += [
            "> **Quick mode** (`--quick`): tiny sizes and single short rounds. It proves the scripts work;",
            "> its figures and verdicts mean nothing.",
            "",
        ]
    lines += [
        f"Run: `{command}` on {facts['date']}, {seconds:.0f} s.",
        "",
        "## Machine",
        "",
        f"- CPU: {facts['cpu']}, {facts['cores']} cores",
        f"- RAM: {facts['ram_gb']:.1f} GB",
        f"- Python {facts['python']}, aiohttp {facts['aiohttp']}, orjson {facts['orjson']}, "
        f"Linux {facts['kernel']}",
        f"- wa-gateway {facts['gateway']}, commit {facts['commit']}",
        "",
        "## Results",
        "",
        markdown_table(rows),
        "",
        "`Result`: *pass*/*miss* against the targets of issue 7 (issue 12 for `POST /messages`; a 2-core "
        "machine); *report* has no target.",
        "",
    ]
    for group in groups:
        if group.details:
            lines += [f"## {group.name}: how it was measured", "", *group.details, ""]
    if FINDINGS.is_file():
        lines += [FINDINGS.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(lines)
