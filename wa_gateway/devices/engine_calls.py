"""Calling the engine from a handler: every engine failure becomes one API error, never a hang."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from wa_gateway import errors
from wa_gateway.devices.model import EngineLink
from wa_gateway.engine import contract as c
from wa_gateway.engine import send_ids
from wa_gateway.engine.supervisor import E_ENGINE_LOST, E_ENGINE_TIMEOUT, E_ENGINE_UNAVAILABLE

log = logging.getLogger("wa_gateway.devices")


async def call_engine(
    engine: EngineLink,
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
) -> Any:
    """Run one engine command; ``invalid`` replaces the engine's own text for E_INVALID_ARGUMENT.

    ``sends``: the command sends something to WhatsApp, so once the worker has it, a death or a timeout
    means it may have gone out: SEND_OUTCOME_UNKNOWN, never an error that invites a blind retry.
    """
    if sends and (send_id := send_ids.next_for_request()) is not None:
        args = {**args, send_ids.ARG_SEND_ID: send_id}
    try:
        return await engine.request(cmd, args, within)
    except c.EngineError as exc:
        if exc.code in tolerate:
            return None
        if sends and exc.code in (E_ENGINE_LOST, E_ENGINE_TIMEOUT):
            raise errors.ApiError(errors.SEND_OUTCOME_UNKNOWN) from None
        if exc.code in (E_ENGINE_UNAVAILABLE, E_ENGINE_LOST):
            raise errors.ApiError(unavailable) from None
        if exc.code == E_ENGINE_TIMEOUT:
            raise errors.ApiError(errors.ENGINE_TIMEOUT) from None
        if exc.code == c.E_DEVICE_NOT_CONNECTED:
            raise errors.ApiError(errors.DEVICE_NOT_CONNECTED) from None
        if exc.code == c.E_DEVICE_NOT_FOUND:
            # The gateway knows the device, so usually the engine just has no client for it right now.
            raise errors.ApiError(not_found) from None
        if exc.code == c.E_ALREADY_CONNECTED:
            raise errors.ApiError(errors.DEVICE_ALREADY_CONNECTED) from None
        if exc.code == c.E_MESSAGE_NOT_FOUND:
            raise errors.ApiError(errors.MESSAGE_NOT_FOUND) from None
        if exc.code == c.E_FFMPEG_UNAVAILABLE:
            raise errors.ApiError(errors.FFMPEG_UNAVAILABLE) from None
        if exc.code == c.E_REACHOUT_LIMITED:
            raise errors.ApiError(errors.REACHOUT_LIMITED) from None
        if exc.code == c.E_INVALID_ARGUMENT:
            if invalid is not None:
                raise errors.ApiError(invalid) from None
            # The engine's validation texts are its own, name the field and carry no secrets.
            raise errors.ApiError(errors.ENGINE_REJECTED, exc.message or None) from None
        log.warning("engine command failed", extra={"cmd": cmd, "code": exc.code, "error": exc.message})
        raise errors.ApiError(failure) from None
