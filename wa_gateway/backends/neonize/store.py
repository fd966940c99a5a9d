"""whatsmeow session files on disk: one sqlite database per device, ``DATA_DIR/sessions/<token>.db``.

Every function here blocks (file system, sqlite): call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from pathlib import Path
from typing import Final

from wa_gateway import vocabulary as v

TOKEN_RE: Final = v.TOKEN_RE
# The last one is ours: the LID -> phone map learned from history syncs, kept beside whatsmeow's files.
LIDS_SUFFIX: Final = "-lids.json"
SESSION_SUFFIXES: Final = ("", "-journal", "-wal", "-shm", LIDS_SUFFIX)
_BUSY_TIMEOUT_S: Final = 5.0
log = logging.getLogger(__name__)


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


def load_lids(path: Path) -> dict[str, str]:
    """The LID -> phone JID map saved for the session at ``path``; empty when none or unreadable."""
    try:
        data = json.loads(Path(f"{path}{LIDS_SUFFIX}").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("the saved LID map of a session is unreadable; starting without it: %s", exc)
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def save_lids(path: Path, lids: dict[str, str]) -> None:
    """Replace the saved map atomically, so a crash leaves the old or the new one, never half."""
    target = Path(f"{path}{LIDS_SUFFIX}")
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(json.dumps(lids, separators=(",", ":")), encoding="utf-8")
    os.replace(temporary, target)
