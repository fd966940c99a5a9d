"""Engine error codes a send can end with become their own API errors (wa_gateway/devices/engine_calls.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from wa_gateway import errors
from wa_gateway.devices.engine_calls import EngineClient
from wa_gateway.engine import contract as c


class RefusingEngine:
    """An engine link whose worker answered the command with ``code``."""

    def __init__(self, code: str) -> None:
        self.code = code

    async def request(
        self,
        cmd: str,
        args: Mapping[str, Any] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        raise c.EngineError(self.code, "what the worker said")


@pytest.mark.parametrize(
    ("code", "spec"),
    [
        (c.E_REACHOUT_LIMITED, errors.REACHOUT_LIMITED),
        (c.E_HISTORY_SYNC_PENDING, errors.HISTORY_SYNC_PENDING),
        (c.E_ENGINE_FAILURE, errors.SEND_FAILED),
    ],
)
async def test_send_failures_keep_their_reason(code: str, spec: errors.ErrorSpec) -> None:
    with pytest.raises(errors.ApiError) as info:
        await EngineClient(RefusingEngine(code)).call(
            c.CMD_SEND_TEXT, {}, within=1, failure=errors.SEND_FAILED, sends=True
        )
    assert (info.value.status, info.value.code) == (spec.status, spec.code)
