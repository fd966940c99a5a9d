"""Process figures for /health/detailed, read from /proc (call off the event loop)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def rss_bytes(pid: int | str = "self") -> int:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def heap_bytes(pid: int | str = "self") -> int:
    """Anonymous resident memory (``RssAnon``): the interpreter's object arenas, malloc and thread stacks,
    without the mapped interpreter and libraries: the nearest figure to Go's ``memoryAlloc`` (docs/health.md).
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def thread_count(pid: int | str = "self") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return threading.active_count() if pid == "self" else 0


def human_duration(seconds: float) -> str:
    """``2h30m15s`` (whole seconds), the shape of the Go gateway's uptime without its fractions."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = f"{days}d" if days else ""
    if days or hours:
        out += f"{hours}h"
    if days or hours or minutes:
        out += f"{minutes}m"
    return out + f"{secs}s"
