"""What a failed engine call tells the caller: not connected, limited by WhatsApp, too early, or failed."""

from __future__ import annotations

from typing import Final

from wa_gateway.backends.neonize.device import STATUS_CONNECTED
from wa_gateway.backends.neonize.session import DeviceSession
from wa_gateway.engine import contract as c

# The server's answer to a message to a new contact while the account is reachout-timelocked, as
# whatsmeow's send.go reports it (docs/engine.md, "Reachout limit").
REACHOUT_ERROR: Final = "server returned error 463"


def failure(session: DeviceSession, action: str, exc: Exception) -> c.EngineError:
    if session.status != STATUS_CONNECTED:
        return c.EngineError(c.E_DEVICE_NOT_CONNECTED, "Device not connected")
    if REACHOUT_ERROR in str(exc):
        return c.EngineError(c.E_REACHOUT_LIMITED, f"{action} failed: WhatsApp limits new contacts ({exc})")
    progress = session.first_sync_progress()
    if progress is not None:
        # A freshly linked device learns its contacts and sessions from the phone (docs/engine.md).
        return c.EngineError(
            c.E_HISTORY_SYNC_PENDING,
            f"{action} failed before the first history sync finished ({progress} %): {exc}",
        )
    return c.EngineError(c.E_ENGINE_FAILURE, f"{action} failed: {exc}")
