"""One gateway per DATA_DIR: an exclusive ``flock`` on ``DATA_DIR/.lock``, taken before anything else starts.

Two gateways on one directory would both reconnect the same sessions (two WhatsApp clients on one session
store) and both dispatch the same outbox. The kernel drops the lock when the process dies, however it dies,
so a crash never leaves a stale lock behind; the pid in the file only names the holder in the error.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Final

from wa_gateway.config import ConfigError

LOCK_FILE: Final = ".lock"


def shown(path: Path) -> str:
    """The directory as a user wrote it: ``./data`` rather than ``data``."""
    text = str(path)
    return text if path.is_absolute() or text.startswith(".") else f"./{text}"


def lock_data_dir(data_dir: Path) -> int:
    """Takes the lock and returns its file descriptor (keep it open for the process's life).

    Raises ConfigError naming the holder's pid when another gateway has it. The descriptor is not
    inheritable (PEP 446), so the engine worker never holds it after the gateway is gone.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = b""
        with contextlib.suppress(OSError):
            holder = os.pread(fd, 32, 0)
        os.close(fd)
        pid = holder.decode(errors="replace").strip() or "unknown"
        raise ConfigError(f"DATA_DIR {shown(data_dir)} is in use by another wa-gateway (pid {pid})") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
