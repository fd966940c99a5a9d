"""Every engine command, declared once (docs/engine-commands.md).

A declaration names the command, its typed arguments (wire key, parser, the handler's parameter), what
the reply carries, how long the gateway waits and which API errors its engine failures become. The
worker parses a request with it and calls the backend's handler straight away
(``worker/commands.py``); routes run it with ``EngineClient.run`` (devices/engine_calls.py). Adding a command
touches this file, the two backends, its route and its test.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from wa_gateway import errors
from wa_gateway.engine import channel_commands, group_commands
from wa_gateway.engine import command_args as a
from wa_gateway.engine import contract as c
from wa_gateway.engine.command_spec import Arg as Arg
from wa_gateway.engine.command_spec import Combine as Combine
from wa_gateway.engine.command_spec import Command as Command

# Uploading a large file to WhatsApp's media servers.
MEDIA_TIMEOUT_S: Final = 300.0


TOKEN: Final = Arg("token", a.text)
# A message to a channel (…@newsletter): only its owner and admins post in it (docs/channels.md).
CHANNEL_POST_CODES: Final[Mapping[str, errors.ErrorSpec]] = MappingProxyType(
    {
        c.E_NOT_CHANNEL_ADMIN: errors.CHANNEL_NOT_ADMIN,
        c.E_NEWSLETTER_NOT_FOUND: errors.NEWSLETTER_NOT_FOUND,
    }
)
# A stored message's engine reference (IncomingMessage "ref"): the worker's cache first, this otherwise.
REF: Final = Arg("ref", a.optional_text)
REPLY_REF: Final = Arg("reply_ref", a.optional_text)


def _codes(**codes: errors.ErrorSpec) -> Mapping[str, errors.ErrorSpec]:
    return MappingProxyType(codes)


CONNECT: Final = Command(
    c.CMD_CONNECT,
    (
        TOKEN,
        Arg("method", a.choice("qr", "code", "restore", default="qr")),
        Arg("device_name", a.optional_text),
        # The JID the shared session store keeps the device under, when known (docs/cluster.md).
        Arg("jid", a.optional_text),
    ),
    '{"paired": bool}',
    timeout_s=60.0,
    failure=errors.CONNECTION_FAILED,
    from_config=("device_name",),
)
DISCONNECT: Final = Command(c.CMD_DISCONNECT, (TOKEN,), "null; the session is kept")
LOGOUT: Final = Command(c.CMD_LOGOUT, (TOKEN,), "null; the session files are removed")
LIST_SESSIONS: Final = Command(
    c.CMD_LIST_SESSIONS, (), '{"sessions": [{"token", "paired"}]}', wrap="sessions"
)
STATUS: Final = Command(
    c.CMD_STATUS, (), '{"devices": [{"token", "status", "jid", "pushName"}]}', wrap="devices"
)
SEND_TEXT: Final = Command(
    c.CMD_SEND_TEXT,
    (
        TOKEN,
        Arg("to", a.text),
        Arg("text", a.text),
        Arg("typing_ms", a.count),
        Arg("reply_to", a.optional_text),
        Arg("mentions", a.optional_text_list),
        REPLY_REF,
    ),
    '{"id", "timestamp", "ref"}; to a channel (…@newsletter) only its owner and admins post',
    failure=errors.SEND_FAILED,
    sends=True,
    codes=CHANNEL_POST_CODES,
)
CHECK_NUMBERS: Final = Command(
    c.CMD_CHECK_NUMBERS,
    (TOKEN, Arg("phones", a.text_list)),
    '{"results": [NumberCheck]}',
    failure=errors.VALIDATION_FAILED,
    wrap="results",
)
MARK_READ: Final = Command(
    c.CMD_MARK_READ,
    (TOKEN, Arg("chat", a.text), Arg("sender", a.optional_text), Arg("ids", a.text_list)),
    "null",
    failure=errors.ACTION_FAILED,
)
SEND_MEDIA: Final = Command(
    c.CMD_SEND_MEDIA,
    (
        TOKEN,
        Arg("to", a.text),
        Arg("kind", a.choice(*c.MEDIA_KINDS)),
        Arg("path", a.path),  # a file under DATA_DIR/media/outgoing/ that the gateway deletes after the reply
        Arg("mimetype", a.text),
        Arg("filename", a.optional_text),
        Arg("caption", a.optional_text),
        Arg("reply_to", a.optional_text),
        Arg("typing_ms", a.count),
        REPLY_REF,
    ),
    '{"id", "timestamp", "ref"}; to a channel (…@newsletter) only its owner and admins post',
    timeout_s=MEDIA_TIMEOUT_S,
    failure=errors.SEND_FAILED,
    sends=True,
    codes=CHANNEL_POST_CODES,
    combine=Combine(
        "media",
        ("kind", "path", "mimetype", "filename", "caption", "reply_to", "reply_ref"),
        c.OutgoingMedia,
    ),
)
REACT: Final = Command(
    c.CMD_REACT,
    (
        TOKEN,
        Arg("chat", a.text),
        Arg("message_id", a.text),
        Arg("emoji", a.any_text),
        Arg("sender", a.optional_text),
    ),
    '{"id", "timestamp"}; emoji "" removes the reaction, a message not held needs its sender',
    failure=errors.ACTION_FAILED,
    sends=True,
)
EDIT: Final = Command(
    c.CMD_EDIT,
    (TOKEN, Arg("chat", a.text), Arg("message_id", a.text), Arg("text", a.text), REF),
    '{"id", "timestamp"}; own messages only',
    failure=errors.ACTION_FAILED,
    sends=True,
)
REVOKE: Final = Command(
    c.CMD_REVOKE,
    (TOKEN, Arg("chat", a.text), Arg("message_id", a.text), REF),
    '{"id", "timestamp"}; for everyone, own messages only',
    failure=errors.ACTION_FAILED,
    sends=True,
)
SEND_POLL: Final = Command(
    c.CMD_SEND_POLL,
    (TOKEN, Arg("to", a.text), Arg("question", a.text), Arg("options", a.strings), Arg("multiple", a.flag)),
    '{"id", "timestamp"}',
    failure=errors.SEND_FAILED,
    sends=True,
)
SET_PRESENCE: Final = Command(
    c.CMD_SET_PRESENCE,
    (TOKEN, Arg("to", a.optional_text), Arg("state", a.choice(*c.PRESENCE_STATES))),
    "null",
    failure=errors.ACTION_FAILED,
)
LIST_GROUPS: Final = Command(
    c.CMD_LIST_GROUPS,
    (TOKEN,),
    '{"groups": [GroupSummary]}',
    timeout_s=60.0,
    failure=errors.GROUPS_FAILED,
    wrap="groups",
)
GROUP_INFO: Final = Command(
    c.CMD_GROUP_INFO,
    (TOKEN, Arg("jid", a.text, "group")),
    "GroupDetails",
    timeout_s=60.0,
    failure=errors.GROUPS_FAILED,
    invalid=errors.GROUP_NOT_FOUND,
)
DOWNLOAD_MEDIA: Final = Command(
    c.CMD_DOWNLOAD_MEDIA,
    (TOKEN, Arg("message_id", a.text), REF),
    '{"path", "mimetype", "filename", "size"}: written to DATA_DIR/media/incoming/<token>/',
    timeout_s=120.0,
    failure=errors.MEDIA_DOWNLOAD_FAILED,
    invalid=errors.MEDIA_NOT_AVAILABLE,
)
REJECT_CALL: Final = Command(
    c.CMD_REJECT_CALL,
    (TOKEN, Arg("from", a.text, "caller"), Arg("call_id", a.text)),
    "null",
    failure=errors.ACTION_FAILED,
)
SUBSCRIBE_PRESENCE: Final = Command(
    c.CMD_SUBSCRIBE_PRESENCE,
    (TOKEN, Arg("to", a.text)),
    "null; the contact's presence then arrives as EV_PRESENCE (docs/presence.md)",
    failure=errors.PRESENCE_SUBSCRIBE_FAILED,
)
POST_STATUS: Final = Command(
    c.CMD_POST_STATUS,
    (TOKEN, Arg("text", a.text), Arg("background_argb", a.optional_count), Arg("font", a.optional_count)),
    '{"id", "timestamp"}',
    timeout_s=60.0,
    failure=errors.STATUS_FAILED,
    sends=True,
)
POST_STATUS_MEDIA: Final = Command(
    c.CMD_POST_STATUS_MEDIA,
    (
        TOKEN,
        Arg("kind", a.choice(*c.STATUS_MEDIA_KINDS)),
        Arg("path", a.path),
        Arg("mimetype", a.text),
        Arg("caption", a.optional_text),
    ),
    '{"id", "timestamp"}',
    timeout_s=MEDIA_TIMEOUT_S,
    failure=errors.STATUS_FAILED,
    sends=True,
    combine=Combine("media", ("kind", "path", "mimetype", "caption"), c.OutgoingMedia),
)

DECLARED: Final = (
    CONNECT,
    DISCONNECT,
    LOGOUT,
    LIST_SESSIONS,
    STATUS,
    SEND_TEXT,
    CHECK_NUMBERS,
    MARK_READ,
    SEND_MEDIA,
    REACT,
    EDIT,
    REVOKE,
    SEND_POLL,
    SET_PRESENCE,
    LIST_GROUPS,
    GROUP_INFO,
    DOWNLOAD_MEDIA,
    REJECT_CALL,
    SUBSCRIBE_PRESENCE,
    POST_STATUS,
    POST_STATUS_MEDIA,
    *group_commands.DECLARED,
    *channel_commands.DECLARED,
)
COMMANDS: Final[Mapping[str, Command]] = MappingProxyType({command.name: command for command in DECLARED})
