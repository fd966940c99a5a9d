"""Declared engine commands: a backend whose handlers do not match the declarations cannot be built."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from wa_gateway.engine import contract as c
from wa_gateway.engine.commands import COMMANDS
from wa_gateway.worker.handlers import HandlerTable, handles


class Everything:
    """One handler per declared command, each taking exactly the declared parameters."""


def _handler(params: tuple[str, ...]) -> Any:
    async def handler(self: object, **kwargs: Any) -> None:
        return None

    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, keyword) for name in ("self", *params)]
    )
    return handler


for _name, _command in COMMANDS.items():
    setattr(Everything, f"run_{_name}", handles(_name)(_handler(_command.params)))


def test_a_complete_set_of_handlers_makes_a_table() -> None:
    table = HandlerTable.collect(Everything())
    assert table.get(c.CMD_SEND_TEXT).__name__ == "handler"
    with pytest.raises(c.EngineError) as info:
        table.get("teleport")
    assert info.value.code == c.E_UNKNOWN_COMMAND


def test_a_missing_handler_is_refused() -> None:
    class Partial(Everything):
        run_send_poll = None

    with pytest.raises(TypeError, match="no handler for engine command"):
        HandlerTable.collect(Partial())


def test_two_handlers_for_one_command_are_refused() -> None:
    class Twice:
        @handles(c.CMD_SEND_POLL)
        async def other_poll(
            self, token: str, to: str, question: str, options: list[str], multiple: bool
        ) -> None:
            return None

    with pytest.raises(TypeError, match="two handlers"):
        HandlerTable.collect(Everything(), Twice())


def test_a_handler_with_other_parameters_is_refused() -> None:
    class Renamed(Everything):
        @handles(c.CMD_EDIT)
        async def run_edit(self, token: str, chat: str, target_id: str, text: str) -> None:
            return None

    with pytest.raises(TypeError, match="handler of 'edit' takes"):
        HandlerTable.collect(Renamed())


def test_only_declared_commands_can_have_handlers() -> None:
    with pytest.raises(ValueError, match="not a declared engine command"):
        handles("teleport")


def test_every_declaration_says_what_it_answers_and_how_long_to_wait() -> None:
    for name, command in COMMANDS.items():
        assert command.name == name
        assert command.result and command.timeout_s > 0, name
        assert len(set(command.params)) == len(command.params), name
