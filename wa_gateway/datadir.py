"""DATA_DIR: checked before start-up, then created private to the gateway's user.

It holds WhatsApp session keys, contacts and the webhook outbox, so it is 0700 and everything in it is
created 0600/0700 whatever umask the gateway was started with (the process umask also reaches the
engine worker and the Go code inside neonize, which create most of the files).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Final

from .config import ConfigError

DIR_MODE: Final = 0o700
PRIVATE_UMASK: Final = 0o077


def _problem(path: Path) -> str | None:
    if path.exists():
        if not path.is_dir():
            return "is not a directory"
        if not os.access(path, os.W_OK | os.X_OK):
            return "is not writable by this user"
        return None
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {str(parent)!r} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: {str(parent)!r} is not writable by this user"
    return None


def check_data_dir(path: Path) -> None:
    """Raise ``ConfigError`` when DATA_DIR is not a directory this user can write (or create)."""
    problem = _problem(path.absolute())
    if problem is not None:
        raise ConfigError(f"DATA_DIR {str(path)!r} {problem}")


def prepare_data_dir(path: Path) -> None:
    """Create DATA_DIR 0700 (and tighten an existing one), and make every later file private."""
    check_data_dir(path)
    os.umask(PRIVATE_UMASK)
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(path, DIR_MODE)
    except OSError as exc:
        raise ConfigError(f"DATA_DIR {str(path)!r} cannot be used: {exc.strerror or exc}") from None


LOCK_FILE: Final = ".lock"
# The open lock file lives as long as the process: the kernel drops the lock when the process ends, however it
# ends (kill -9 included), so a stale lock can never keep the next start out.
_held: list[int] = []


def lock_data_dir(path: Path) -> None:
    """Make this process the only wa-gateway on ``path``, or raise ``ConfigError`` naming the owner.

    Two gateways on one DATA_DIR would both reconnect the same WhatsApp sessions (two whatsmeow clients on
    one session store kick each other off) and both dispatch the same webhook outbox. ``flock`` is
    advisory and per open file, which is exactly one owner per directory on a local filesystem.
    """
    lock_path = path / LOCK_FILE
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise ConfigError(f"DATA_DIR {path} is in use by another wa-gateway (pid {owner})") from None
    except OSError as exc:
        os.close(fd)
        raise ConfigError(f"DATA_DIR {str(path)!r} cannot be locked: {exc.strerror or exc}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _held.append(fd)


def own_data_dir(path: Path) -> None:
    """Everything the gateway does with DATA_DIR before anything else starts: prepare it, then own it."""
    prepare_data_dir(path)
    lock_data_dir(path)
