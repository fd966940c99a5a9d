"""``POST /polls``: a poll of 2 to 12 options; votes come back as ``message.poll_vote`` events."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway.body import read_body
from wa_gateway.devices.manager import DeviceManager
from wa_gateway.engine import commands
from wa_gateway.engine import contract as c
from wa_gateway.envelope import ok
from wa_gateway.messaging.fields import body_token, sent
from wa_gateway.messaging.recipients import Recipients
from wa_gateway.phone import PhoneRules, is_blank
from wa_gateway.route_table import RouteTable, route

# WhatsApp's poll composer stops at these lengths.
MAX_QUESTION_CHARS: Final = 255
MAX_OPTION_CHARS: Final = 100


def poll_question(raw: str) -> str:
    if not raw or is_blank(raw) or len(raw) > MAX_QUESTION_CHARS:
        raise errors.ApiError(errors.INVALID_POLL_QUESTION)
    return raw


def poll_options(raw: Any) -> list[str]:
    """2-12 distinct options; WhatsApp identifies an option by the hash of its exact text, so two equal
    texts could never be told apart in a vote."""
    if not isinstance(raw, list) or not c.POLL_MIN_OPTIONS <= len(raw) <= c.POLL_MAX_OPTIONS:
        raise errors.ApiError(errors.INVALID_POLL_OPTIONS)
    for option in raw:
        if not isinstance(option, str) or is_blank(option) or len(option) > MAX_OPTION_CHARS:
            raise errors.ApiError(errors.INVALID_POLL_OPTIONS)
    if len(set(raw)) != len(raw):
        raise errors.ApiError(errors.INVALID_POLL_OPTIONS)
    return list(raw)


class PollsApi(RouteTable):
    def __init__(self, manager: DeviceManager, phones: PhoneRules) -> None:
        self._manager = manager
        self._recipients = Recipients(phones)

    @route.post("/polls")
    async def send_poll(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        token = body_token(body)
        question = poll_question(body.text("question"))
        options = poll_options(body.optional("options", object))
        multiple = body.optional("multiple", bool) or False
        to = self._recipients.to(body.text("to"))
        self._manager.require_connected(token)
        args = {"token": token, "to": to, "question": question, "options": options, "multiple": multiple}
        result = await self._manager.engine.run(commands.SEND_POLL, args)
        return ok(request, {**sent(result), "options": options, "multiple": multiple}, "Poll sent")
