"""Stopping one neonize client: Stop under the Go lock, a bounded wait for Neonize() to return, and what
a thread that never returns leaves behind."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize.context import EngineContext, mask

log = logging.getLogger(__name__)

STOP_GRACE_S: Final = 5.0


async def stop_client(
    ctx: EngineContext, token: str, client: nc.GatewayClient, task: asyncio.Task[Any] | None
) -> None:
    async with ctx.lock.exclusive():
        try:
            await client.stop()
        except Exception:
            log.exception("stopping the engine client of %s failed", mask(token))
    if task is not None and not task.done():
        # A client still showing QR codes never returns from Neonize() (docs/engine.md,
        # "Stopping"): waiting would only stall the device.
        if not client.in_qr_loop:
            await asyncio.wait({task}, timeout=STOP_GRACE_S)
        if not task.done():
            # After a QR timeout Go can spin in FetchMe() and ignore Stop (docs/neonize.md §2).
            ctx.stuck_sessions += 1
            ctx.stuck_tasks.add(task)
            task.add_done_callback(ctx.stuck_tasks.discard)
            log.warning(
                "the engine thread of %s did not return after stop; left as a daemon (%d so far)",
                mask(token),
                ctx.stuck_sessions,
            )
    if task is None or task.done():
        ctx.live_clients.discard(client)
        if ctx.shared is not None:
            # Go never closes the pool that client opened (docs/neonize.md §0.4).
            await ctx.shared.close_connections(client.generation)
    else:
        task.add_done_callback(lambda _: ctx.live_clients.discard(client))
