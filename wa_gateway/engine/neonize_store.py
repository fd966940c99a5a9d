"""whatsmeow session files on disk: one sqlite database per device, ``DATA_DIR/sessions/<token>.db``.

Every function here blocks (file system, sqlite): call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path
from typing import Final

TOKEN_RE: Final = re.compile(r"[0-9]{7,15}")
SESSION_SUFFIXES: Final = ("", "-journal", "-wal", "-shm")
_BUSY_TIMEOUT_S: Final = 5.0


def session_path(sessions_dir: Path, token: str) -> Path:
    if not TOKEN_RE.fullmatch(token):
        raise ValueError(f"invalid device token {token!r}")
    return sessions_dir / f"{token}.db"


def is_paired(path: Path) -> bool:
    """A session is paired when whatsmeow stored a device row in it."""
    if not path.is_file():
        return False
    # mode=rw: never create a database that is not there.
    uri = f"{path.resolve().as_uri()}?mode=rw"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_S)) as connection:
            row = connection.execute("SELECT EXISTS (SELECT 1 FROM whatsmeow_device)").fetchone()
    except sqlite3.OperationalError:
        return False  # not yet initialised by whatsmeow (no table), or not a database
    except sqlite3.DatabaseError:
        return False
    return bool(row and row[0])


def remove_session(path: Path) -> bool:
    """Delete the database and its sidecar files; True if anything was removed.

    Go may still hold a handle on the file (every connect leaks one, docs/neonize.md §0.4); unlinking an
    open file is fine on POSIX and the space returns when the worker exits.
    """
    removed = False
    for suffix in SESSION_SUFFIXES:
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()
            removed = True
    return removed


def list_sessions(sessions_dir: Path) -> list[tuple[str, bool]]:
    """(token, paired) for every ``<token>.db`` in the directory, by token."""
    if not sessions_dir.is_dir():
        return []
    found = []
    for path in sorted(sessions_dir.glob("*.db")):
        if path.is_file() and TOKEN_RE.fullmatch(path.stem):
            found.append((path.stem, is_paired(path)))
    return found
