"""The sandbox's stand-in for WhatsApp's media servers: the files its devices send and receive.

A real message carries only the media's keys and hashes; its bytes stay on WhatsApp's servers, so it can be
downloaded long after the phone received it. The sandbox keeps them the same way, by SHA-256 under
``DATA_DIR/sandbox-media/<token>/``, and its cache and refs hold only the hash: a download works after a
restart as it does with WhatsApp, and answers E_MESSAGE_NOT_FOUND when the file is gone (another node's
disk, a logged-out device), as expired WhatsApp media does (docs/messages.md "Acting on stored messages").
Blocking: run these on a thread.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path
from typing import Final

from wa_gateway.worker import command_checks as checks

MEDIA_DIR: Final = "sandbox-media"
_SHA256: Final = re.compile(r"[0-9a-f]{64}", re.ASCII)


def _path(data_dir: Path, token: str, sha256: str) -> Path | None:
    return data_dir / MEDIA_DIR / token / sha256 if _SHA256.fullmatch(sha256) else None


def keep(data_dir: Path, token: str, sha256: str, data: bytes) -> None:
    path = _path(data_dir, token, sha256)
    if path is not None and not path.exists():
        checks.write_incoming_media(path, data)


def fetch(data_dir: Path, token: str, sha256: str) -> bytes | None:
    path = _path(data_dir, token, sha256)
    if path is None:
        return None
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def forget(data_dir: Path, token: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(data_dir / MEDIA_DIR / token)
