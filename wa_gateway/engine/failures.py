"""How a request to the engine worker can fail on the gateway's side (the worker's own errors are
``contract.EngineError`` with a ``contract.E_*`` code)."""

from __future__ import annotations

from typing import Final

from wa_gateway.engine import contract as c

E_ENGINE_UNAVAILABLE: Final = "ENGINE_UNAVAILABLE"
E_ENGINE_TIMEOUT: Final = "ENGINE_TIMEOUT"
# The request was written to the worker, which died before answering: it may have run.
E_ENGINE_LOST: Final = "ENGINE_LOST"


class EngineUnavailable(c.EngineError):
    """No worker is up, or it died while the request was in flight."""

    def __init__(self, message: str = "engine worker is not running") -> None:
        super().__init__(E_ENGINE_UNAVAILABLE, message)


class EngineLost(EngineUnavailable):
    """The worker received the request and went away before answering; its outcome is unknown."""

    def __init__(self) -> None:
        c.EngineError.__init__(self, E_ENGINE_LOST, "engine worker went away after receiving the request")


class EngineTimeout(c.EngineError):
    def __init__(self, cmd: str, seconds: float) -> None:
        super().__init__(E_ENGINE_TIMEOUT, f"engine did not answer {cmd!r} within {seconds:g} s")
