"""DATA_DIR: checked before start-up, then created private to the gateway's user.

It holds WhatsApp session keys, contacts and the webhook outbox, so it is 0700 and everything in it is
created 0600/0700 whatever umask the gateway was started with (the process umask also reaches the
engine worker and the Go code inside neonize, which create most of the files).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from wa_gateway.config import ConfigError

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
