"""Is ffmpeg installed? The engine needs ``ffmpeg`` and ``ffprobe`` on PATH for audio, voice and video
(duration and thumbnail; neonize's ``check_ffmpeg_available``), so the API refuses those kinds up front
with a clear error instead of failing inside the engine. Images and documents never need it."""

from __future__ import annotations

import asyncio
import shutil
from typing import Final

from wa_gateway.clock import Clock, SystemClock

TOOLS: Final = ("ffmpeg", "ffprobe")
# Installing ffmpeg while the gateway runs is noticed within this long.
RECHECK_SECONDS: Final = 60.0


class FfmpegProbe:
    """``search_path`` is a PATH-style list of directories; None means the process's PATH at lookup time."""

    def __init__(self, search_path: str | None = None, *, clock: Clock | None = None) -> None:
        self._search_path = search_path
        self._clock = clock or SystemClock()
        self._checked_at: float | None = None
        self._found = False

    async def available(self) -> bool:
        now = self._clock.monotonic()
        if self._checked_at is None or now - self._checked_at >= RECHECK_SECONDS:
            self._found = await asyncio.to_thread(self._lookup)
            self._checked_at = now
        return self._found

    def _lookup(self) -> bool:
        return all(shutil.which(tool, path=self._search_path) is not None for tool in TOOLS)
