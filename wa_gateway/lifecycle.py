"""A resource opened at start-up and closed at shutdown, as one aiohttp ``cleanup_ctx`` entry."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from aiohttp import web


class Resource(Protocol):
    """A store or client the app opens at start-up and closes at shutdown (``opened``)."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...


CleanupCtx = Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]


def opened(
    open_: Callable[[], Awaitable[object]] | None, close: Callable[[], Awaitable[object]]
) -> CleanupCtx:
    """``open_`` before the server starts serving (skipped when None), ``close`` after it stopped."""

    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        if open_ is not None:
            await open_()
        try:
            yield
        finally:
            await close()

    return ctx
