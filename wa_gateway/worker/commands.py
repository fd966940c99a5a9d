"""Engine commands from the wire to the backend: parsed by their declaration, then handed to the handler.

What the arguments mean (a poll's options, a presence target, a media file) is checked by the backends
themselves (``command_checks``), so a backend refuses the same things however it is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wa_gateway.engine import contract as c
from wa_gateway.engine.command_args import text
from wa_gateway.engine.commands import COMMANDS


async def dispatch(
    backend: c.EngineBackend, cmd: str, args: dict[str, Any], config: Mapping[str, Any]
) -> Any:
    """Run one command; raises EngineError(E_UNKNOWN_COMMAND) for a command it does not know."""
    if cmd == c.CMD_SANDBOX:
        op = text("op", args.get("op"))
        return await backend.control(op, {k: v for k, v in args.items() if k != "op"})
    command = COMMANDS.get(cmd)
    if command is None:
        raise c.EngineError(c.E_UNKNOWN_COMMAND, f"unknown command {cmd!r}")
    handler = backend.handler(cmd)
    return command.reply(await handler(**command.parse(args, config)))
