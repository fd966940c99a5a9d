"""Every document the code, docs and benchmarks cite is in the repository: the "why" can be followed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITING_SUFFIXES = (".py", ".sh", ".md", ".js", ".html", ".toml", ".yml", ".yaml")
# Vendored third-party bundles cite their own world, not ours.
VENDORED = ("wa_gateway/openapi/static/swagger-ui",)
CITED_DOC = re.compile(r"(?<![\w$/.-])((?:[\w-]+/)*[\w-]+\.md)\b")


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def test_every_cited_document_is_in_the_repository() -> None:
    files = tracked_files()
    if not files:  # not a git checkout (an unpacked sdist): nothing to compare against
        files = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    known = set(files)
    names = {Path(f).name for f in files}
    missing: list[str] = []
    for name in files:
        if not name.endswith(CITING_SUFFIXES) or name.startswith(VENDORED):
            continue
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        for match in CITED_DOC.finditer(text):
            cited = match.group(1)
            if cited in known or ("/" not in cited and cited in names):
                continue
            missing.append(f"{name}: {cited}")
    assert missing == []
