"""The group administration commands, declared like every other engine command (docs/engine-commands.md,
docs/groups.md)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from wa_gateway import errors
from wa_gateway.engine import command_args as a
from wa_gateway.engine import contract as c
from wa_gateway.engine.command_spec import TOKEN, Arg, command_family

TIMEOUT_S: Final = 60.0
GROUP: Final = Arg("jid", a.text, "group")
# What a group command's refusals become, whichever command it is.
CODES: Final[Mapping[str, errors.ErrorSpec]] = MappingProxyType(
    {
        c.E_GROUP_NOT_FOUND: errors.GROUP_NOT_FOUND,
        c.E_NOT_GROUP_ADMIN: errors.GROUP_NOT_ADMIN,
        c.E_INVITE_INVALID: errors.GROUP_INVITE_INVALID,
        c.E_ALREADY_MEMBER: errors.GROUP_ALREADY_MEMBER,
    }
)


_group_command: Final = command_family(timeout_s=TIMEOUT_S, failure=errors.GROUP_FAILED, codes=CODES)


CREATE_GROUP: Final = _group_command(
    c.CMD_CREATE_GROUP,
    (TOKEN, Arg("subject", a.text), Arg("participants", a.text_list), Arg("community", a.flag)),
    "GroupDetails of the new group (a community with community); the device is its super admin",
    sends=True,  # a lost reply may still have made the group: never invite a blind retry
)
UPDATE_GROUP: Final = _group_command(
    c.CMD_UPDATE_GROUP,
    (
        TOKEN,
        GROUP,
        Arg("subject", a.optional_text),
        Arg("topic", a.optional_string),
        Arg("announce", a.optional_flag),
        Arg("locked", a.optional_flag),
    ),
    '{"changed": [name]}: the settings given, each applied in this order',
)
GROUP_PARTICIPANTS: Final = _group_command(
    c.CMD_GROUP_PARTICIPANTS,
    (TOKEN, GROUP, Arg("action", a.choice(*c.GROUP_ACTIONS)), Arg("participants", a.text_list)),
    '{"results": [GroupParticipantResult]}, one per participant asked',
    wrap="results",
)
LEAVE_GROUP: Final = _group_command(c.CMD_LEAVE_GROUP, (TOKEN, GROUP), "null")
GROUP_INVITE: Final = _group_command(
    c.CMD_GROUP_INVITE,
    (TOKEN, GROUP, Arg("revoke", a.flag)),
    '{"link"}: the invite link; with revoke, a new one and the old one stops working',
)
JOIN_GROUP: Final = _group_command(
    c.CMD_JOIN_GROUP, (TOKEN, Arg("code", a.text)), '{"jid"} of the group joined', sends=True
)
GROUP_INVITE_INFO: Final = _group_command(
    c.CMD_GROUP_INVITE_INFO, (TOKEN, Arg("code", a.text)), "GroupDetails of the group the invite is for"
)
SET_GROUP_PICTURE: Final = _group_command(
    c.CMD_SET_GROUP_PICTURE,
    (TOKEN, GROUP, Arg("path", a.path)),  # a JPEG under DATA_DIR/media/outgoing/, as for send_media
    '{"pictureId"}',
)
GROUP_REQUESTS: Final = _group_command(
    c.CMD_GROUP_REQUESTS,
    (TOKEN, GROUP),
    '{"requests": [{"jid", "requestedAt"}]}: people asking to join',
    wrap="requests",
)
LINK_GROUP: Final = _group_command(
    c.CMD_LINK_GROUP, (TOKEN, Arg("parent", a.text), Arg("child", a.text)), "null; parent is a community"
)
UNLINK_GROUP: Final = _group_command(
    c.CMD_UNLINK_GROUP, (TOKEN, Arg("parent", a.text), Arg("child", a.text)), "null"
)
SUB_GROUPS: Final = _group_command(
    c.CMD_SUB_GROUPS,
    (TOKEN, Arg("parent", a.text)),
    '{"groups": [{"jid", "subject", "isDefault"}]}: the community\'s groups',
    wrap="groups",
)

DECLARED: Final = (
    CREATE_GROUP,
    UPDATE_GROUP,
    GROUP_PARTICIPANTS,
    LEAVE_GROUP,
    GROUP_INVITE,
    JOIN_GROUP,
    GROUP_INVITE_INFO,
    SET_GROUP_PICTURE,
    GROUP_REQUESTS,
    LINK_GROUP,
    UNLINK_GROUP,
    SUB_GROUPS,
)
