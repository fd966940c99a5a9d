"""Incoming media the engine downloaded to ``DATA_DIR/media/incoming/<token>/``, kept for
``MEDIA_RETENTION_SECONDS``: a second download within that time is served from disk, and a sweeper
removes older files (and whatever a crash left in ``media/outgoing/``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from wa_gateway import vocabulary as v
from wa_gateway.clock import Clock
from wa_gateway.media.kinds import MIMETYPE_RE, OCTET_STREAM, safe_filename
from wa_gateway.tasks import Expiry, expire_forever, running

log = logging.getLogger("wa_gateway.media")

MAX_SWEEP_INTERVAL_S: Final = 300.0
SWEEP: Final = Expiry(log, "expired media removed", "files", "media sweep failed", (OSError,))


@dataclass(frozen=True, slots=True)
class HeldMedia:
    path: Path
    mimetype: str
    filename: str | None
    size: int
    fetched_at: float


class IncomingMedia:
    def __init__(self, data_dir: Path, *, retention_s: float, clock: Clock) -> None:
        self.root = (data_dir / v.INCOMING_MEDIA_DIR).absolute()
        self.outgoing = (data_dir / v.OUTGOING_MEDIA_DIR).absolute()
        self._retention = retention_s
        self._clock = clock
        self._held: dict[tuple[str, str], HeldMedia] = {}

    @property
    def sweep_interval(self) -> float:
        return max(1.0, min(self._retention / 2, MAX_SWEEP_INTERVAL_S))

    async def held(self, token: str, message_id: str) -> HeldMedia | None:
        """A download still on disk and within the retention time."""
        media = self._held.get((token, message_id))
        if media is None:
            return None
        if self._clock.time() - media.fetched_at >= self._retention or not await asyncio.to_thread(
            media.path.is_file
        ):
            self._held.pop((token, message_id), None)
            return None
        return media

    async def accept(self, token: str, message_id: str, result: Mapping[str, Any]) -> HeldMedia | None:
        """Record what the engine downloaded; None when its answer does not name a file of this device."""
        raw_path = result.get("path")
        if not isinstance(raw_path, str) or not raw_path:
            return None
        path = await asyncio.to_thread(_inside, Path(raw_path), self.root / token)
        if path is None:
            log.warning("engine download outside the device's media directory was ignored")
            return None
        mimetype, filename, size = result.get("mimetype"), result.get("filename"), result.get("size")
        media = HeldMedia(
            path=path,
            mimetype=mimetype
            if isinstance(mimetype, str) and MIMETYPE_RE.fullmatch(mimetype)
            else OCTET_STREAM,
            filename=safe_filename(filename) if isinstance(filename, str) else None,
            size=size if isinstance(size, int) and not isinstance(size, bool) else -1,
            fetched_at=self._clock.time(),
        )
        self._held[(token, message_id)] = media
        return media

    async def forget_device(self, token: str) -> None:
        """A deleted device's downloads go with it."""
        for key in [k for k in self._held if k[0] == token]:
            del self._held[key]
        await asyncio.to_thread(shutil.rmtree, self.root / token, True)

    async def sweep(self) -> int:
        """Remove downloads older than the retention time; returns how many files went."""
        cutoff = self._clock.time() - self._retention
        for key, media in list(self._held.items()):
            if media.fetched_at <= cutoff:
                del self._held[key]
        return await asyncio.to_thread(_remove_older_than, self.root, cutoff)

    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: clear crash leftovers, then sweep until shutdown."""
        await asyncio.to_thread(_empty_directory, self.outgoing)
        sweeping = expire_forever(self.sweep, self._clock, self.sweep_interval, SWEEP)
        async with running(sweeping, "media-retention"):
            yield


def _inside(path: Path, directory: Path) -> Path | None:
    resolved = path.resolve()
    return resolved if resolved.is_relative_to(directory.resolve()) and resolved.is_file() else None


def _remove_older_than(root: Path, cutoff: float) -> int:
    removed = 0
    if not root.is_dir():
        return 0
    for device_dir in root.iterdir():
        if not device_dir.is_dir():
            continue
        for entry in device_dir.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file() and entry.stat().st_mtime <= cutoff:
                    entry.unlink()
                    removed += 1
    return removed


def _empty_directory(directory: Path) -> None:
    if directory.is_dir():
        for entry in directory.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry)
