"""Shared by the sandbox messaging tests: a linked device, its sent log, media files, engine error codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wa_gateway.backends.sandbox.engine import SandboxBackend
from wa_gateway.engine import contract as c

TOKEN = "6281234567890"
ALICE = "628111@s.whatsapp.net"
GROUP = "120363025246125486@g.us"
NOW = 1_700_000_000.0  # ManualClock's wall time at the start


async def linked(backend: SandboxBackend, token: str = TOKEN) -> None:
    await backend.connect(token, "code", "Chrome (Linux)")
    await backend.control("link", {"token": token})


async def code_of(awaitable: Any) -> str:
    with pytest.raises(c.EngineError) as info:
        await awaitable
    return info.value.code


async def sent_log(backend: SandboxBackend) -> dict[str, Any]:
    log: dict[str, Any] = await backend.control("sent", {"token": TOKEN})
    return log


def media_file(tmp_path: Path, name: str, data: bytes) -> Path:
    """A file where the gateway puts outgoing media (``DATA_DIR/media/outgoing``, DATA_DIR = tmp/data)."""
    path = tmp_path / "data" / "media" / "outgoing" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
