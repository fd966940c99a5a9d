"""How a backend names the method that runs each declared command (docs/engine-commands.md).

A backend's parts mark their methods with ``@handles(CMD_…)``; the backend collects them into one
``HandlerTable`` and the worker calls the handler with the declaration's parsed arguments. The table
refuses to exist when a declared command has no handler, two handlers, or a handler whose parameters
are not the declaration's, so a backend that misses a command fails when it is built, not when a
request arrives.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar

from wa_gateway.engine import contract as c
from wa_gateway.engine.commands import COMMANDS

Handler = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
MARK: Final = "__engine_command__"


def handles(name: str) -> Callable[[F], F]:
    """Marks a method as the one that runs the declared command ``name``."""
    if name not in COMMANDS:
        raise ValueError(f"{name!r} is not a declared engine command")

    def mark(method: F) -> F:
        setattr(method, MARK, name)
        return method

    return mark


class HandlerTable:
    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self._handlers = dict(handlers)

    @classmethod
    def collect(cls, *parts: object) -> HandlerTable:
        found: dict[str, Handler] = {}
        for part in parts:
            for attribute in dir(type(part)):
                name = getattr(getattr(type(part), attribute, None), MARK, None)
                if name is None:
                    continue
                if name in found:
                    raise TypeError(f"two handlers for engine command {name!r}")
                found[name] = getattr(part, attribute)
        missing = sorted(set(COMMANDS) - set(found))
        if missing:
            raise TypeError(f"no handler for engine command(s) {', '.join(missing)}")
        for name, handler in found.items():
            params = tuple(inspect.signature(handler).parameters)
            if params != COMMANDS[name].params:
                raise TypeError(
                    f"handler of {name!r} takes {params}, the declaration {COMMANDS[name].params}"
                )
        return cls(found)

    def get(self, name: str) -> Handler:
        handler = self._handlers.get(name)
        if handler is None:
            raise c.EngineError(c.E_UNKNOWN_COMMAND, f"unknown command {name!r}")
        return handler
