"""How to start the engine worker: the same artifact re-invoked, from a shiv .pyz or a source checkout."""

from __future__ import annotations

import os
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from wa_gateway import __version__
from wa_gateway.config import VARIABLES

WORKER_MODULE: Final = "wa_gateway.worker.main"
WORKER_SUBCOMMAND: Final = "engine-worker"
"""The CLI subcommand a .pyz must route to ``wa_gateway.worker.main.main(remaining_argv)``."""

# shiv may force re-extraction or redirect entry points through these; a worker inheriting them would
# re-extract over the tree the gateway runs from (docs/packaging.md pitfall 2). SHIV_ROOT must stay: it says
# where the extracted site-packages live.
_SHIV_PREFIX: Final = "SHIV_"
_SHIV_KEPT: Final = frozenset({"SHIV_ROOT"})
GATEWAY_VARIABLES: Final = frozenset(var.name for var in VARIABLES)


def archive_path_of(argv0: str) -> str | None:
    """The absolute path of the zip archive we were started from, if ``argv0`` names one."""
    if not argv0:
        return None
    path = os.path.abspath(argv0)
    if os.path.isfile(path) and zipfile.is_zipfile(path):
        return path
    return None


# shiv sets no variable with the archive path and module ``__file__`` points into the extraction
# directory, so argv[0] is the only witness; read it at import before anything can rewrite it
# (docs/packaging.md pitfall 1).
ARCHIVE_PATH: Final = archive_path_of(sys.argv[0] if sys.argv else "")


def _build_id(archive: str | None) -> str:
    if archive is None:
        return __version__
    stat = os.stat(archive)
    return f"{__version__}+{stat.st_size:x}.{stat.st_mtime_ns:x}"


BUILD_ID: Final = _build_id(ARCHIVE_PATH)
"""Identifies the code this process runs; a worker with another id means the .pyz was replaced under us
(docs/packaging.md pitfall 6)."""


def worker_command(archive: str | None = ARCHIVE_PATH) -> list[str]:
    """argv that starts a worker running the same code as this process; the caller appends arguments."""
    if archive is not None:
        return [sys.executable, archive, WORKER_SUBCOMMAND]
    return [sys.executable, "-m", WORKER_MODULE]


def _source_root() -> Path:
    return Path(__file__).resolve().parent.parent.parent


def worker_env(base: Mapping[str, str], archive: str | None = ARCHIVE_PATH) -> dict[str, str]:
    """The worker's environment: ``base`` minus shiv overrides and minus every gateway setting; from
    source, our package made importable.

    The worker gets its settings from the gateway in one JSON variable, so none of the gateway's own
    variables are needed there, and the secrets among them (API_KEY, WEBHOOK_SECRET, METRICS_TOKEN,
    a WEBHOOK_URL with a token) would only be one more place to leak from (/proc/<pid>/environ, crash
    reports, child processes).
    """
    env = {
        k: v
        for k, v in base.items()
        if (not k.startswith(_SHIV_PREFIX) or k in _SHIV_KEPT) and k not in GATEWAY_VARIABLES
    }
    if archive is None:
        root = _source_root()
        # ``python -m`` only searches the working directory and site-packages; a gateway started as
        # ``python3 /path/to/checkout/gateway.py`` from elsewhere must still find its own package.
        if root.name not in ("site-packages", "dist-packages"):
            existing = env.get("PYTHONPATH", "")
            parts = [p for p in existing.split(os.pathsep) if p]
            if str(root) not in parts:
                env["PYTHONPATH"] = os.pathsep.join([str(root), *parts])
    return env
