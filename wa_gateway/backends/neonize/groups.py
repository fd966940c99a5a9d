"""What a neonize device asks and changes about its groups (docs/groups.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from neonize.exc import NeonizeError  # type: ignore[import-untyped]

from wa_gateway.backends.neonize import events as translate
from wa_gateway.backends.neonize.outbound import GROUP_SERVER, jid
from wa_gateway.backends.neonize.send_errors import failure
from wa_gateway.backends.neonize.session import DeviceSession
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks
from wa_gateway.worker.handlers import handles

# whatsmeow's errors for a group one cannot see (ErrGroupNotFound, ErrNotInGroup, 401/403/404 answers).
UNKNOWN_GROUP_ERRORS: Final = (
    "does not exist",
    "not found",
    "not participating",
    "forbidden",
    "not-authorized",
    "404",
    "403",
)


def group_jid(group: str, field: str = "jid") -> Any:
    parsed = jid(group, field)
    if parsed.Server != GROUP_SERVER:
        raise checks.invalid(f"{field} must be a group JID (…@g.us)")
    return parsed


class NeonizeGroups:
    def __init__(self, session: Callable[[str], DeviceSession]) -> None:
        self._session = session

    @handles(c.CMD_LIST_GROUPS)
    async def list_groups(self, token: str) -> list[c.GroupSummary]:
        session = self._session(token)
        client = session.connected_client()
        try:
            groups = await client.get_joined_groups()
        except NeonizeError as exc:
            raise failure(session, "Listing the groups", exc) from exc
        return [translate.group_summary(group) for group in groups]

    @handles(c.CMD_GROUP_INFO)
    async def group_info(self, token: str, group: str) -> c.GroupDetails:
        session = self._session(token)
        target = group_jid(group)
        client = session.connected_client()
        try:
            info = await client.get_group_info(target)
        except NeonizeError as exc:
            if any(marker in str(exc).lower() for marker in UNKNOWN_GROUP_ERRORS):
                raise checks.invalid(f"this device is not in group {group}") from exc
            raise failure(session, "Reading the group", exc) from exc
        return translate.group_details(info)
