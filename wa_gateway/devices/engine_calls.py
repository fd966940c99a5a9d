"""``EngineClient``: every engine call the gateway makes, and how each engine failure becomes an API error.

Handlers reach the engine only through this, so an engine failure is always one API error, never a hang
nor a raw contract code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from wa_gateway import errors
from wa_gateway.devices.model import EngineLink
from wa_gateway.engine import contract as c
from wa_gateway.engine import send_ids
from wa_gateway.engine.commands import Command
from wa_gateway.engine.failures import E_ENGINE_LOST, E_ENGINE_TIMEOUT, E_ENGINE_UNAVAILABLE

log = logging.getLogger("wa_gateway.devices")

# Contract code -> the API error it always is.
_FIXED: Mapping[str, errors.ErrorSpec] = {
    E_ENGINE_TIMEOUT: errors.ENGINE_TIMEOUT,
    c.E_DEVICE_NOT_CONNECTED: errors.DEVICE_NOT_CONNECTED,
    c.E_ALREADY_CONNECTED: errors.DEVICE_ALREADY_CONNECTED,
    c.E_MESSAGE_NOT_FOUND: errors.MESSAGE_NOT_FOUND,
    c.E_FFMPEG_UNAVAILABLE: errors.FFMPEG_UNAVAILABLE,
    c.E_REACHOUT_LIMITED: errors.REACHOUT_LIMITED,
    c.E_HISTORY_SYNC_PENDING: errors.HISTORY_SYNC_PENDING,
}


class EngineClient:
    def __init__(self, link: EngineLink) -> None:
        self._link = link

    async def request(self, cmd: str, args: Mapping[str, Any], within: float) -> Any:
        """The bare call, for the device layer's own flows that act on contract codes (restore)."""
        return await self._link.request(cmd, args, within)

    async def attempt(self, cmd: str, args: Mapping[str, Any], *, within: float, failed: str) -> bool:
        """A best-effort call nobody waits on (auto read receipts, call rejection): a failure is logged
        as ``failed`` and reported as False."""
        try:
            await self._link.request(cmd, args, within)
        except c.EngineError as exc:
            log.warning(failed, extra={"code": exc.code, "error": exc.message})
            return False
        return True

    async def call(
        self,
        cmd: str,
        args: Mapping[str, Any],
        *,
        within: float,
        failure: errors.ErrorSpec,
        unavailable: errors.ErrorSpec = errors.DEVICE_NOT_CONNECTED,
        tolerate: tuple[str, ...] = (),
        invalid: errors.ErrorSpec | None = None,
        not_found: errors.ErrorSpec = errors.DEVICE_NOT_CONNECTED,
        sends: bool = False,
        codes: Mapping[str, errors.ErrorSpec] | None = None,
    ) -> Any:
        """Run one engine command; ``invalid`` replaces the engine's own text for E_INVALID_ARGUMENT.

        ``sends``: the command sends something to WhatsApp, so once the worker has it, a death or a timeout
        means it may have gone out: SEND_OUTCOME_UNKNOWN, never an error that invites a blind retry.
        """
        if sends and (send_id := send_ids.next_for_request()) is not None:
            args = {**args, send_ids.ARG_SEND_ID: send_id}
        try:
            return await self._link.request(cmd, args, within)
        except c.EngineError as exc:
            if exc.code in tolerate:
                return None
            if codes and exc.code in codes:
                raise errors.ApiError(codes[exc.code]) from None
            if sends and exc.code in (E_ENGINE_LOST, E_ENGINE_TIMEOUT):
                raise errors.ApiError(errors.SEND_OUTCOME_UNKNOWN) from None
            if exc.code in (E_ENGINE_UNAVAILABLE, E_ENGINE_LOST):
                raise errors.ApiError(unavailable) from None
            fixed = _FIXED.get(exc.code)
            if fixed is not None:
                raise errors.ApiError(fixed) from None
            if exc.code == c.E_DEVICE_NOT_FOUND:
                # The gateway knows the device, so usually the engine just has no client for it right now.
                raise errors.ApiError(not_found) from None
            if exc.code == c.E_INVALID_ARGUMENT:
                if invalid is not None:
                    raise errors.ApiError(invalid) from None
                # The engine's validation texts are its own, name the field and carry no secrets.
                raise errors.ApiError(errors.ENGINE_REJECTED, exc.message or None) from None
            log.warning("engine command failed", extra={"cmd": cmd, "code": exc.code, "error": exc.message})
            raise errors.ApiError(failure) from None

    async def run(self, command: Command, args: Mapping[str, Any], *, within: float | None = None) -> Any:
        """Run a declared command (engine/commands.py) with its own timeout and error mapping."""
        return await self.call(
            command.name,
            args,
            within=command.timeout_s if within is None else within,
            failure=command.failure,
            invalid=command.invalid,
            sends=command.sends,
            codes=command.codes,
        )
