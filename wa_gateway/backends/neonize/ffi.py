"""The FFI boundary to neonize's Go core: a read/write lock over its maps, threads that never starve the loop.

Go keeps three process-wide maps keyed by client uuid with no locking; a connect or stop racing any other
call aborts the whole process (docs/neonize.md §0.1). Connect (until Go has registered the client) and stop
take the lock exclusively, every other call shares it. The blocking ``Neonize()`` session call runs on its
own daemon thread and every other call on a dedicated pool, never on the loop's default executor, which
one pinned thread per live client would starve (docs/neonize.md §0.3).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, Final

log = logging.getLogger(__name__)

FFI_POOL_THREADS: Final = 16
POOL_SHUTDOWN_S: Final = 5.0
SESSION_CALL: Final = "Neonize"
# Neonize(db, uuid, jid, jid_size, new_device, log_level, qr_cb, login_cb, event_cb, log_cb, ...)
SESSION_CALLBACKS: Final = slice(6, 10)
# Media transfers read Go's client map once, on entry, then move bytes for as long as the network takes
# (docs/engine.md, "Media transfers"). They keep the shared lock only until Go is past that lookup.
TRANSFER_CALLS: Final = frozenset({"Upload", "DownloadAny", "DownloadMediaWithPath", "UploadNewsletter"})
MAP_LOOKUP_S: Final = 0.05
# Run by the caller under GoMapLock.exclusive(), so the proxy must not take the lock itself.
UNLOCKED_CALLS: Final = frozenset({"Stop", "StopAll"})


class GoMapLock:
    """A FIFO, writer-preferring read/write lock for the event loop thread.

    Waiters queue in arrival order, so a waiting writer holds back later readers. Release is synchronous,
    which keeps it correct when the releasing task is being cancelled.
    """

    def __init__(self) -> None:
        self._readers = 0
        self._writer = False
        self._waiters: deque[tuple[bool, asyncio.Future[None]]] = deque()

    @property
    def readers(self) -> int:
        return self._readers

    @property
    def writer(self) -> bool:
        return self._writer

    def _grantable(self, exclusive: bool) -> bool:
        return not self._writer and (not exclusive or self._readers == 0)

    def _grant(self, exclusive: bool) -> None:
        if exclusive:
            self._writer = True
        else:
            self._readers += 1

    def _wake(self) -> None:
        while self._waiters:
            exclusive, fut = self._waiters[0]
            if fut.done():
                self._waiters.popleft()
                continue
            if not self._grantable(exclusive):
                return
            self._waiters.popleft()
            self._grant(exclusive)
            fut.set_result(None)

    async def acquire(self, exclusive: bool) -> None:
        if not self._waiters and self._grantable(exclusive):
            self._grant(exclusive)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((exclusive, fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release(exclusive)
            else:
                self._wake()
            raise

    def release(self, exclusive: bool) -> None:
        if exclusive:
            self._writer = False
        else:
            self._readers -= 1
        self._wake()

    @contextlib.asynccontextmanager
    async def held(self, *, exclusive: bool) -> AsyncIterator[None]:
        await self.acquire(exclusive)
        try:
            yield
        finally:
            self.release(exclusive)

    def exclusive(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self.held(exclusive=True)

    def shared(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self.held(exclusive=False)


def _settle(fut: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if fut.done():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)


class GoFfi:
    """Stands in for neonize's per-client FFI proxy (``NewAClient.__client``); neonize's own code still runs.

    ``gocode`` is neonize's loaded library, or a fake with the same functions in tests.
    """

    def __init__(self, gocode: Any, lock: GoMapLock) -> None:
        self._gocode = gocode
        self._lock = lock
        self._pool = concurrent.futures.ThreadPoolExecutor(FFI_POOL_THREADS, thread_name_prefix="neonize-ffi")
        self._session_threads: set[threading.Thread] = set()
        # The QR, login, event and log callbacks of every Neonize() call: late whatsmeow goroutines may
        # still call them after the session ended (docs/engine.md, "Stopping").
        self._kept_callbacks: list[tuple[Any, ...]] = []

    @property
    def gocode(self) -> Any:
        return self._gocode

    def kept_callbacks(self) -> list[tuple[Any, ...]]:
        return list(self._kept_callbacks)

    def session_threads(self) -> list[threading.Thread]:
        """Session threads still inside Go (a QR timeout can leave one spinning, docs/neonize.md §2)."""
        self._session_threads = {thread for thread in self._session_threads if thread.is_alive()}
        return sorted(self._session_threads, key=lambda thread: thread.name)

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        if name.startswith("_"):
            raise AttributeError(name)
        if name == SESSION_CALL:
            return self._start_session
        if name in UNLOCKED_CALLS:
            return partial(self.call_unlocked, name)
        if name in TRANSFER_CALLS:
            return partial(self.call_transfer, name)
        return partial(self.call_shared, name)

    def _start_session(self, *args: Any) -> asyncio.Future[Any]:
        """Run the blocking ``Neonize()`` on a daemon thread; the future settles when Go returns."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        function = getattr(self._gocode, SESSION_CALL)
        uuid = args[1].decode() if len(args) > 1 and isinstance(args[1], bytes) else "?"
        self._kept_callbacks.append(args[SESSION_CALLBACKS])

        def run() -> None:
            result: Any = None
            error: BaseException | None = None
            try:
                result = function(*args)
            except BaseException as exc:
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(_settle, fut, result, error)

        thread = threading.Thread(target=run, name=f"neonize-session-{uuid}", daemon=True)
        self._session_threads.add(thread)
        thread.start()
        return fut

    async def call_shared(self, name: str, *args: Any) -> Any:
        await self._lock.acquire(False)
        return await self._submit(name, args, partial(self._lock.release, False))

    async def call_transfer(self, name: str, *args: Any) -> Any:
        """A shared call whose lock goes back once Go has had time to look the client up."""
        await self._lock.acquire(False)
        loop = asyncio.get_running_loop()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._lock.release(False)

        function = getattr(self._gocode, name)

        def run(*call_args: Any) -> Any:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.call_later, MAP_LOOKUP_S, release)
            return function(*call_args)

        try:
            job = self._pool.submit(run, *args)
        except BaseException:
            release()
            raise

        def done(_: concurrent.futures.Future[Any]) -> None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(release)

        job.add_done_callback(done)
        return await asyncio.wrap_future(job)

    async def call_unlocked(self, name: str, *args: Any) -> Any:
        return await self._submit(name, args, None)

    async def _submit(self, name: str, args: tuple[Any, ...], on_done: Callable[[], None] | None) -> Any:
        loop = asyncio.get_running_loop()
        try:
            job = self._pool.submit(getattr(self._gocode, name), *args)
        except BaseException:
            if on_done is not None:
                on_done()
            raise
        if on_done is not None:
            # Released when Go really returns, even if the awaiting task is cancelled earlier.
            def done(_: concurrent.futures.Future[Any]) -> None:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(on_done)

            job.add_done_callback(done)
        return await asyncio.wrap_future(job)

    async def close(self) -> None:
        """Drain the pool, waiting a bounded time for calls still inside Go."""
        try:
            await asyncio.wait_for(
                asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True), POOL_SHUTDOWN_S
            )
        except TimeoutError:
            log.warning(
                "engine calls still inside Go after %g s; their threads are left behind", POOL_SHUTDOWN_S
            )
