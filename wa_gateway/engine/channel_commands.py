"""The channel (newsletter) commands, declared like every other engine command (docs/engine-commands.md,
docs/channels.md)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from wa_gateway import errors
from wa_gateway.engine import command_args as a
from wa_gateway.engine import contract as c
from wa_gateway.engine.command_spec import Arg, Command

TIMEOUT_S: Final = 60.0
TOKEN: Final = Arg("token", a.text)
CHANNEL: Final = Arg("jid", a.text, "newsletter")
CODES: Final[Mapping[str, errors.ErrorSpec]] = MappingProxyType(
    {
        c.E_NEWSLETTER_NOT_FOUND: errors.NEWSLETTER_NOT_FOUND,
        c.E_INVITE_INVALID: errors.NEWSLETTER_INVITE_INVALID,
        c.E_ALREADY_MEMBER: errors.NEWSLETTER_ALREADY_FOLLOWED,
    }
)


def _channel_command(name: str, args: tuple[Arg, ...], result: str, **options: Any) -> Command:
    return Command(
        name, args, result, timeout_s=TIMEOUT_S, failure=errors.NEWSLETTERS_FAILED, codes=CODES, **options
    )


LIST_NEWSLETTERS: Final = _channel_command(
    c.CMD_LIST_NEWSLETTERS,
    (TOKEN,),
    '{"newsletters": [Newsletter]}: the channels followed',
    wrap="newsletters",
)
NEWSLETTER_INFO: Final = _channel_command(c.CMD_NEWSLETTER_INFO, (TOKEN, CHANNEL), "Newsletter")
FOLLOW_NEWSLETTER: Final = _channel_command(
    c.CMD_FOLLOW_NEWSLETTER,
    (TOKEN, Arg("jid", a.optional_text, "newsletter"), Arg("invite", a.optional_text)),
    "Newsletter followed; by its jid or the code of its invite link, exactly one of them",
)
UNFOLLOW_NEWSLETTER: Final = _channel_command(c.CMD_UNFOLLOW_NEWSLETTER, (TOKEN, CHANNEL), "null")
CREATE_NEWSLETTER: Final = _channel_command(
    c.CMD_CREATE_NEWSLETTER,
    (TOKEN, Arg("name", a.text), Arg("description", a.optional_string)),
    "Newsletter created; the device is its owner",
    sends=True,  # a lost reply may still have made the channel: never invite a blind retry
)
MUTE_NEWSLETTER: Final = _channel_command(
    c.CMD_MUTE_NEWSLETTER, (TOKEN, CHANNEL, Arg("muted", a.flag)), "null"
)
NEWSLETTER_MESSAGES: Final = _channel_command(
    c.CMD_NEWSLETTER_MESSAGES,
    (TOKEN, CHANNEL, Arg("count", a.count), Arg("before", a.optional_count)),
    '{"messages": [NewsletterPost]}: newest first, at most count, all older than the server id before',
    wrap="messages",
)

DECLARED: Final = (
    LIST_NEWSLETTERS,
    NEWSLETTER_INFO,
    FOLLOW_NEWSLETTER,
    UNFOLLOW_NEWSLETTER,
    CREATE_NEWSLETTER,
    MUTE_NEWSLETTER,
    NEWSLETTER_MESSAGES,
)
