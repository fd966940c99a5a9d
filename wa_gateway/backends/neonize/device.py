"""One device's neonize client over its life: started and stopped under the Go lock, ordered, retried.

Everything that changes a device's life (its Go callbacks' items, its timers, connect/disconnect/logout
commands) runs under ``lifecycle``; one consumer task drains the device's inbox, so items are handled one
at a time, in Go's order. Items carry the generation (the client's Go uuid) they belong to, and items of
a client that was stopped or replaced are dropped: a torn-down pairing never emits stale QR codes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from functools import partial
from typing import Any, Final

from neonize.exc import NeonizeError  # type: ignore[import-untyped]

from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize.client_stop import stop_client
from wa_gateway.backends.neonize.context import EngineContext, describe_error, mask
from wa_gateway.backends.neonize.runtime import DeviceName
from wa_gateway.backends.neonize.shared_store import (
    SessionGone,
    SessionStoreUnavailable,
    remove_stored_session,
)
from wa_gateway.backends.neonize.store import is_paired, remove_session, session_path
from wa_gateway.engine.contract import (
    E_DEVICE_NOT_CONNECTED,
    E_ENGINE_FAILURE,
    EV_CONNECT_FAILURE,
    EV_RECONNECTING,
    ConnectMethod,
    EngineError,
)
from wa_gateway.engine.worker_stats import ReconnectInfo
from wa_gateway.tasks import cancel_and_wait
from wa_gateway.worker.liveness import Liveness

log = logging.getLogger(__name__)

STATUS_DISCONNECTED: Final = "disconnected"
STATUS_CONNECTING: Final = "connecting"
STATUS_PAIRING: Final = "pairing"
STATUS_CONNECTED: Final = "connected"
STATUS_LOGGED_OUT: Final = "logged_out"
STATUS_BANNED: Final = "banned"

# Hold the exclusive Go lock after Neonize() starts until Go shows a sign of life (a QR code, a login
# status, an event) or fails: it writes its maps right after opening the database (docs/neonize.md §1).
CONNECT_WINDOW_S: Final = 10.0
# Go's proto.Marshal error for an event with an unset required field, which ends Neonize()
# (docs/engine.md, "Events").
MARSHAL_FAILURE: Final = "required field"
_GENERATIONS = itertools.count(1)


class DeviceLifecycle:
    """The mechanics; ``DeviceSession`` adds what each item means."""

    def __init__(self, token: str, ctx: EngineContext) -> None:
        self.token = token
        self.status: str = STATUS_DISCONNECTED
        self.jid = ""
        self.push_name = ""
        self.lifecycle = asyncio.Lock()
        self.send_lock = asyncio.Lock()
        self.path = session_path(ctx.settings.sessions_dir, token)
        self._ctx = ctx
        self._inbox: asyncio.Queue[nc.InboxItem] = asyncio.Queue()
        self._client: nc.GatewayClient | None = None
        self._task: asyncio.Task[Any] | None = None
        self._generation: str | None = None
        self._timers: set[asyncio.Task[None]] = set()
        self._method: ConnectMethod = "qr"
        self._device: DeviceName | None = None
        self._paired = False
        self._attempts = 0
        self._next_attempt_at: float | None = None
        self._last_error: str | None = None
        self.liveness = Liveness(ctx.clock, ctx.settings.watchdog_s)
        self._watchdog_armed = False
        self._consumer = asyncio.create_task(self._consume(), name=f"neonize-events-{mask(token)}")

    @property
    def running(self) -> bool:
        """A client is live or a reconnect is pending."""
        return self._generation is not None

    @property
    def reconnect_attempts(self) -> int:
        """Failed connects in a row; 0 once connected."""
        return self._attempts

    def reconnect_info(self) -> ReconnectInfo | None:
        """The device's failed connects in a row and its next try (docs/health.md); None once connected."""
        if not self._attempts:
            return None
        return {
            "attempts": self._attempts,
            "nextAttemptAt": self._next_attempt_at,
            "lastError": self._last_error,
        }

    @property
    def paired(self) -> bool:
        return self._paired

    def connected_client(self) -> nc.GatewayClient:
        if self.status != STATUS_CONNECTED or self._client is None:
            raise EngineError(E_DEVICE_NOT_CONNECTED, "Device not connected")
        return self._client

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        self._ctx.emit(self.token, event, data)

    def _fail(self, reason: str, *, code: int | None = None, retrying: bool = False) -> None:
        self._emit(EV_CONNECT_FAILURE, {"reason": reason, "code": code, "retrying": retrying})

    # --- commands (called under ``lifecycle``) ----------------------------------------------------

    async def start(self, method: ConnectMethod, device: DeviceName, paired: bool) -> None:
        self._method, self._device, self._paired = method, device, paired
        self._attempts = 0
        self._next_attempt_at = self._last_error = None
        await self._launch()

    async def stop(self) -> None:
        await self._stop_client()
        if self.status not in (STATUS_LOGGED_OUT, STATUS_BANNED):
            self.status = STATUS_DISCONNECTED

    async def logout(self) -> None:
        """Unlink when connected (whatsmeow then deletes its device row); the local session goes anyway."""
        if self.status == STATUS_CONNECTED and self._client is not None:
            try:
                await self._client.logout()
            except NeonizeError as exc:
                log.warning("logout of %s was not confirmed by WhatsApp: %s", mask(self.token), exc)
        await self._forget_session()
        self.status = STATUS_LOGGED_OUT

    async def close(self) -> None:
        """Stop the client, then the consumer; call without holding ``lifecycle``."""
        async with self.lifecycle:
            await self.stop()
        await cancel_and_wait(self._consumer)

    # --- the client -------------------------------------------------------------------------------

    async def _launch(self) -> None:
        assert self._device is not None
        # Go's registry key: unique per client (a reused uuid overwrites Go's entries, docs/neonize.md §1),
        # and without the phone number, which Go and thread names would otherwise spread.
        generation = f"{self.token[-4:]}-{next(_GENERATIONS)}-{secrets.token_hex(4)}"
        loop = asyncio.get_running_loop()
        name, stored, new_device = str(self.path), None, False
        if self._ctx.shared is not None:
            try:
                name, stored, new_device = await self._ctx.shared.client_args(
                    generation, self.jid if self._paired else None
                )
            except SessionGone:
                self._paired = False
                self.status = STATUS_DISCONNECTED
                raise
        client = nc.GatewayClient(
            name, generation, self._device, self._ctx.ffi, loop, self._post, jid=stored, new_device=new_device
        )
        client.in_qr_loop = not self._paired
        self._ctx.live_clients.add(client)
        self._client, self._generation = client, generation
        self.status = STATUS_CONNECTING if self._paired else STATUS_PAIRING
        self._reset_attempt()
        async with self._ctx.lock.exclusive():
            try:
                task = await client.connect()
            except Exception as exc:
                self._client = self._generation = None
                self._ctx.live_clients.discard(client)
                self.status = STATUS_DISCONNECTED
                raise EngineError(E_ENGINE_FAILURE, f"The engine could not start the device: {exc}") from exc
            self._task = task
            task.add_done_callback(partial(self._on_task_done, generation))
            signalled = asyncio.ensure_future(client.go_signalled.wait())
            try:
                await asyncio.wait(
                    {signalled, task}, timeout=CONNECT_WINDOW_S, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                signalled.cancel()
        if not self._paired:
            self._schedule(self._ctx.settings.qr_watchdog_s, "qr_watchdog")

    def _reset_attempt(self) -> None:
        """Per-connection state of the subclass, cleared at every launch."""

    def _post(self, item: nc.InboxItem) -> None:
        self._inbox.put_nowait(item)

    def _on_task_done(self, generation: str, task: asyncio.Task[Any]) -> None:
        error = None if task.cancelled() else task.exception()
        self._post(nc.SessionEnded(generation, error))

    def _schedule(self, delay: float, kind: str) -> None:
        generation = self._generation
        assert generation is not None

        async def fire() -> None:
            await self._ctx.clock.sleep(delay)
            self._post(nc.Timer(generation, kind))

        timer = asyncio.create_task(fire(), name=f"neonize-{kind}-{mask(self.token)}")
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    async def _forget_session(self) -> None:
        """Stop the client and remove the stored session, even when WhatsApp could not be told (offline):
        no restart may bring the pairing back."""
        await self._stop_client()
        await remove_stored_session(self.path, self._ctx.shared, self.jid)
        self._ctx.caches.drop(self.token)
        self._paired = False

    async def _stop_client(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        self._watchdog_armed = False
        client, task = self._client, self._task
        self._client = self._task = self._generation = None
        if client is None:
            return
        await stop_client(self._ctx, self.token, client, task)

    async def _forget_unpaired(self) -> None:
        """A pairing that never completed leaves an empty session behind; it must not look like a device."""
        if not await asyncio.to_thread(is_paired, self.path):
            await asyncio.to_thread(remove_session, self.path)

    # --- the consumer -----------------------------------------------------------------------------

    async def _consume(self) -> None:
        try:
            while True:
                item = await self._inbox.get()
                try:
                    await self._consume_one(item)
                finally:
                    nc.release_go(item)
        finally:
            # Go threads still waiting for items nobody will handle now must not wait for nothing.
            while not self._inbox.empty():
                nc.release_go(self._inbox.get_nowait())

    async def _consume_one(self, item: nc.InboxItem) -> None:
        async with self.lifecycle:
            if item.generation != self._generation:
                return
            try:
                await self._dispatch(item)
            except Exception:
                log.exception("handling %s for %s failed", type(item).__name__, mask(self.token))
        if isinstance(item, nc.GoEvent) and item.journaled is not None:
            # Outside the lifecycle lock: a connect or stop waiting for Go never waits for this commit.
            try:
                await self._ctx.journal_barrier()
            except Exception:
                log.exception("journal commit failed for an event of %s", mask(self.token))

    async def _dispatch(self, item: nc.InboxItem) -> None:
        if isinstance(item, nc.SessionEnded):
            await self._on_session_ended(item.error)
        elif isinstance(item, nc.Timer) and item.kind == "reconnect":
            await self._reconnect()
        elif isinstance(item, nc.Timer) and item.kind == "watchdog":
            await self._on_watchdog()
        else:
            await self._handle(item)

    async def _handle(self, item: nc.InboxItem) -> None:
        raise NotImplementedError

    # --- failed sessions and reconnects -----------------------------------------------------------

    async def _on_session_ended(self, error: BaseException | None) -> None:
        reason = describe_error(error)
        await self._stop_client()  # clears Go's entries for that uuid; Stop is safe on unknown ones
        if not self._paired:
            self.status = STATUS_DISCONNECTED
            await self._forget_unpaired()
            self._fail(reason)
            return
        if error is not None and MARSHAL_FAILURE in str(error):
            # The connection itself was fine: reconnect at once, and say that events were lost.
            self._ctx.lost_event_sessions += 1
            log.error(
                "the engine could not deliver an event to %s and ended its session; events may have "
                "been lost (%d such sessions): %s",
                mask(self.token),
                self._ctx.lost_event_sessions,
                reason,
            )
            self.status = STATUS_CONNECTING
            self._fail(f"{reason}; events may have been lost; reconnecting", retrying=True)
            await self._reconnect()
            return
        # Every connect leaks a database handle (docs/engine.md, "Stopping"); retries are unbounded by
        # default, so the waits grow to a cap and spread out with jitter.
        self._attempts += 1
        self._last_error = reason
        settings = self._ctx.settings
        limit = settings.reconnect_max_attempts
        if limit and self._attempts > limit:
            self.status = STATUS_DISCONNECTED
            self._fail(f"{reason}; gave up after {limit} reconnect attempts")
            return
        delay = min(
            settings.reconnect_backoff_s * 2 ** min(self._attempts - 1, 32), settings.reconnect_max_backoff_s
        )
        delay = round(delay * (1 - settings.reconnect_jitter * self._ctx.random.random()), 3)
        self.status = STATUS_CONNECTING
        self._next_attempt_at = self._ctx.clock.time() + delay
        self._generation = f"retry-{next(_GENERATIONS)}"
        self._schedule(delay, "reconnect")
        of = f" of {limit}" if limit else ""
        self._fail(f"{reason}; reconnect attempt {self._attempts}{of} in {delay:g} s", retrying=True)

    # --- the watchdog (docs/engine.md, "Watchdog") -------------------------------------------------

    @property
    def watchdog_armed(self) -> bool:
        """Whether a watchdog timer is set (arming is synchronous: a test reads it right after a send)."""
        return self._watchdog_armed

    def watch(self) -> None:
        """Arms the watchdog when keepalives or sends start failing; a healthy device has no timer."""
        due = self.liveness.due_in()
        if due is None or self._watchdog_armed or self._generation is None:
            return
        self._watchdog_armed = True
        self._schedule(due, "watchdog")

    def send_answered(self, answered: bool) -> None:
        """A send got WhatsApp's answer (a refusal counts: the server spoke), or failed without one."""
        if answered:
            self.liveness.send_succeeded()
        elif self.status == STATUS_CONNECTED:
            self.liveness.send_failed()
            self.watch()

    async def _on_watchdog(self) -> None:
        self._watchdog_armed = False
        if self.status != STATUS_CONNECTED:
            return
        reason = self.liveness.verdict()
        if reason is None:
            self.watch()  # traffic came meanwhile, or the failures are younger than the limit
            return
        self._ctx.watchdog_reconnects += 1
        log.warning("the session of %s looks dead: %s", mask(self.token), reason)
        self._emit(EV_RECONNECTING, {"reason": reason})
        # whatsmeow still believes it is connected and would not reconnect by itself.
        await self._stop_client()
        self.status = STATUS_CONNECTING
        await self._reconnect()

    async def _reconnect(self) -> None:
        self._generation = None
        self._next_attempt_at = None
        try:
            await self._launch()
        except SessionStoreUnavailable as exc:
            await self._on_session_ended(exc)  # the next attempt comes after the usual backoff
        except EngineError as exc:
            self._fail(exc.message)
