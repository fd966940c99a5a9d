"""The shape of an engine command's declaration (docs/engine-commands.md)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from wa_gateway import errors
from wa_gateway.engine import command_args as a

DEFAULT_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class Arg:
    key: str  # on the wire
    parse: a.Parser
    param: str = ""  # the handler's parameter when it differs from the key ("from" is a keyword)

    @property
    def name(self) -> str:
        return self.param or self.key


@dataclass(frozen=True, slots=True)
class Combine:
    """Several wire keys that the handler receives as one value (a media file's fields, say)."""

    into: str
    keys: tuple[str, ...]
    build: Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    args: tuple[Arg, ...]
    result: str  # what a successful reply carries, for readers and docs
    timeout_s: float = DEFAULT_TIMEOUT_S
    failure: errors.ErrorSpec = errors.INTERNAL_ERROR  # any engine failure not mapped below
    invalid: errors.ErrorSpec | None = None  # replaces the engine's text for E_INVALID_ARGUMENT
    codes: Mapping[str, errors.ErrorSpec] = field(default_factory=lambda: MappingProxyType({}))
    sends: bool = False  # sends to WhatsApp: a lost reply is SEND_OUTCOME_UNKNOWN, never a retry hint
    wrap: str = ""  # the handler's value is the reply's field of this name
    combine: Combine | None = None
    from_config: tuple[str, ...] = ()  # absent arguments the worker takes from its configuration

    @property
    def params(self) -> tuple[str, ...]:
        """The handler's keyword parameters, in order."""
        names = [arg.name for arg in self.args]
        if self.combine is None:
            return tuple(names)
        first = min(names.index(key) for key in self.combine.keys)
        rest = [name for name in names if name not in self.combine.keys]
        return (*rest[:first], self.combine.into, *rest[first:])

    def parse(self, args: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
        """The handler's keyword arguments; E_INVALID_ARGUMENT naming the key when one is malformed."""
        parsed = {arg.name: arg.parse(arg.key, args.get(arg.key)) for arg in self.args}
        for key in self.from_config:
            if parsed[key] is None:
                parsed[key] = config.get(key) or None
        if self.combine is not None:
            parts = {key: parsed.pop(key) for key in self.combine.keys}
            parsed[self.combine.into] = self.combine.build(**parts)
        return parsed

    def reply(self, value: Any) -> Any:
        return {self.wrap: value} if self.wrap else value


# The first argument of every command: the device it is for.
TOKEN: Final = Arg("token", a.text)


def command_family(**shared: Any) -> functools.partial[Command]:
    """``Command`` for a family of commands, with what they all share (timeout, failure, codes) given once."""
    return functools.partial(Command, **shared)
