"""What a neonize device asks and changes about its groups and communities (docs/groups.md).

Each command is one call of neonize's async client (neonize/aioze/client.py); whatsmeow's refusals arrive
as the error texts of whatsmeow errors.go and become the contract's group codes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from neonize.exc import NeonizeError  # type: ignore[import-untyped]
from neonize.proto.Neonize_pb2 import GroupParent  # type: ignore[import-untyped]
from neonize.utils.enum import ParticipantChange  # type: ignore[import-untyped]

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
# The same answers to a change: the group is unknown, or the device may not change it (errors.go:
# ErrGroupNotFound, ErrNotInGroup, ErrIQNotFound; ErrIQNotAuthorized, ErrIQForbidden,
# ErrGroupInviteLinkUnauthorized).
GONE_ERRORS: Final = ("does not exist", "not participating", "item-not-found", "status 404")
NOT_ADMIN_ERRORS: Final = ("not-authorized", "forbidden", "unauthorized", "status 401", "status 403")
# ErrInviteLinkInvalid, ErrInviteLinkRevoked, and the 406/410 answers they stand for.
INVITE_ERRORS: Final = ("invite link", "not-acceptable", "status 406", "status 410", "gone")
ALREADY_MEMBER_ERRORS: Final = ("conflict", "status 409")
ACTIONS: Final = {
    "add": ParticipantChange.ADD,
    "remove": ParticipantChange.REMOVE,
    "promote": ParticipantChange.PROMOTE,
    "demote": ParticipantChange.DEMOTE,
}
# GroupParticipant.Error of whatsmeow's UpdateGroupParticipants answer (docs/groups.md "Participant results").
PARTICIPANT_ERRORS: Final = {403: "forbidden", 404: "not_member", 408: "left_recently", 409: "already_member"}
JPEG_MAGIC: Final = b"\xff\xd8\xff"


def group_jid(group: str, field: str = "jid") -> Any:
    parsed = jid(group, field)
    if parsed.Server != GROUP_SERVER:
        raise checks.invalid(f"{field} must be a group JID (…@g.us)")
    return parsed


def _refusal(session: DeviceSession, action: str, exc: Exception, group: str = "") -> c.EngineError:
    text = str(exc).lower()
    if any(marker in text for marker in INVITE_ERRORS):
        return c.EngineError(c.E_INVITE_INVALID, f"{action} failed: {exc}")
    if any(marker in text for marker in GONE_ERRORS):
        return c.EngineError(c.E_GROUP_NOT_FOUND, f"this device is not in group {group}".rstrip())
    if any(marker in text for marker in NOT_ADMIN_ERRORS):
        return c.EngineError(c.E_NOT_GROUP_ADMIN, "only the group's admins can do this")
    if any(marker in text for marker in ALREADY_MEMBER_ERRORS):
        return c.EngineError(c.E_ALREADY_MEMBER, "this device is already in the group")
    return failure(session, action, exc)


def _participant_status(answer: Any, action: str) -> str:
    code = int(answer.Error)
    if code == 0:
        return "ok"
    if code == 403 and answer.HasField("AddRequest"):
        return "invite_required"  # the person's privacy settings let only contacts add them
    if code == 404 and action == "add":
        return "not_on_whatsapp"
    return PARTICIPANT_ERRORS.get(code, f"error {code}")


def _person(answer: Any) -> str:
    """A participant of an answer by phone JID when WhatsApp tells it."""
    text = translate.jid_string(answer.JID)
    phone = translate.phone_of(text) or (
        translate.phone_of(translate.jid_string(answer.PhoneNumber)) if answer.PhoneNumber.User else ""
    )
    return f"{phone}@{translate.PN_SERVER}" if phone else text


class NeonizeGroups:
    def __init__(self, session: Callable[[str], DeviceSession], data_dir: Path) -> None:
        self._session = session
        self._data_dir = data_dir

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

    @handles(c.CMD_CREATE_GROUP)
    async def create_group(
        self, token: str, subject: str, participants: list[str], community: bool = False
    ) -> c.GroupDetails:
        session = self._session(token)
        if not subject.strip() or len(subject) > 100:
            raise checks.invalid("subject must be 1 to 100 characters")
        people = [jid(person, "participants") for person in participants]
        client = session.connected_client()
        try:
            # A community is a group marked as a parent (whatsmeow ReqCreateGroup.GroupParent.IsParent);
            # neonize's proto2 message requires the approval mode, "" being whatsmeow's default.
            parent = GroupParent(IsParent=True, DefaultMembershipApprovalMode="") if community else None
            info = await client.create_group(subject, participants=people, group_parent=parent)
        except NeonizeError as exc:
            raise failure(session, "Creating the group", exc) from exc
        return translate.group_details(info)

    @handles(c.CMD_UPDATE_GROUP)
    async def update_group(
        self,
        token: str,
        group: str,
        subject: str | None,
        topic: str | None,
        announce: bool | None,
        locked: bool | None,
    ) -> dict[str, Any]:
        session = self._session(token)
        target = group_jid(group)
        given = {"subject": subject, "topic": topic, "announce": announce, "locked": locked}
        changes = [key for key, value in given.items() if value is not None]
        if not changes:
            raise checks.invalid("give at least one of subject, topic, announce, locked")
        if subject is not None and (not subject.strip() or len(subject) > 100):
            raise checks.invalid("subject must be 1 to 100 characters")
        client = session.connected_client()
        try:
            if subject is not None:
                await client.set_group_name(target, subject)
            if topic is not None:
                # whatsmeow SetGroupTopic reads the current topic id itself when none is given, and makes
                # a new one (group.go).
                await client.set_group_topic(target, "", "", topic)
            if announce is not None:
                await client.set_group_announce(target, announce)
            if locked is not None:
                await client.set_group_locked(target, locked)
        except NeonizeError as exc:
            raise _refusal(session, "Changing the group", exc, group) from exc
        return {"changed": changes}

    @handles(c.CMD_GROUP_PARTICIPANTS)
    async def group_participants(
        self, token: str, group: str, action: str, participants: list[str]
    ) -> list[c.GroupParticipantResult]:
        session = self._session(token)
        target = group_jid(group)
        change = ACTIONS.get(action)
        if change is None:
            raise checks.invalid(f"action must be one of {', '.join(c.GROUP_ACTIONS)}")
        people = [jid(person, "participants") for person in participants]
        client = session.connected_client()
        try:
            answers = await client.update_group_participants(target, people, change)
        except NeonizeError as exc:
            raise _refusal(session, "Changing the participants", exc, group) from exc
        found = {_person(answer): _participant_status(answer, action) for answer in answers}
        asked = [translate.jid_string(person) for person in people]
        return [{"participant": person, "status": found.get(person, "ok")} for person in asked]

    @handles(c.CMD_LEAVE_GROUP)
    async def leave_group(self, token: str, group: str) -> None:
        session = self._session(token)
        target = group_jid(group)
        client = session.connected_client()
        try:
            await client.leave_group(target)
        except NeonizeError as exc:
            raise _refusal(session, "Leaving the group", exc, group) from exc

    @handles(c.CMD_GROUP_INVITE)
    async def group_invite(self, token: str, group: str, revoke: bool) -> dict[str, Any]:
        session = self._session(token)
        target = group_jid(group)
        client = session.connected_client()
        try:
            link = await client.get_group_invite_link(target, revoke)
        except NeonizeError as exc:
            raise _refusal(session, "Getting the invite link", exc, group) from exc
        return {"link": str(link)}

    @handles(c.CMD_JOIN_GROUP)
    async def join_group(self, token: str, code: str) -> dict[str, Any]:
        session = self._session(token)
        client = session.connected_client()
        try:
            joined = await client.join_group_with_link(code)
        except NeonizeError as exc:
            raise _refusal(session, "Joining the group", exc) from exc
        return {"jid": translate.jid_string(joined)}

    @handles(c.CMD_GROUP_INVITE_INFO)
    async def group_invite_info(self, token: str, code: str) -> c.GroupDetails:
        session = self._session(token)
        client = session.connected_client()
        try:
            info = await client.get_group_info_from_link(code)
        except NeonizeError as exc:
            raise _refusal(session, "Reading the invite", exc) from exc
        return translate.group_details(info)

    @handles(c.CMD_SET_GROUP_PICTURE)
    async def set_group_picture(self, token: str, group: str, path: Path) -> dict[str, Any]:
        session = self._session(token)
        target = group_jid(group)
        session.connected_client()
        file = await asyncio.to_thread(checks.read_outgoing_media, self._data_dir, path)
        if not file.data.startswith(JPEG_MAGIC):
            raise checks.invalid("a group picture must be a JPEG image")
        try:
            # Bytes, never a path: neonize reads a str argument as a file name or fetches it as a URL.
            picture = await session.connected_client().set_group_photo(target, file.data)
        except NeonizeError as exc:
            raise _refusal(session, "Setting the group picture", exc, group) from exc
        return {"pictureId": str(picture)}

    @handles(c.CMD_GROUP_REQUESTS)
    async def group_requests(self, token: str, group: str) -> list[dict[str, Any]]:
        session = self._session(token)
        target = group_jid(group)
        client = session.connected_client()
        try:
            requests = await client.get_group_request_participants(target)
        except NeonizeError as exc:
            raise _refusal(session, "Reading the join requests", exc, group) from exc
        return [
            {"jid": translate.jid_string(request.Participant), "requestedAt": float(request.TimeAt) or None}
            for request in requests
        ]

    @handles(c.CMD_LINK_GROUP)
    async def link_group(self, token: str, parent: str, child: str) -> None:
        await self._link(token, parent, child, link=True)

    @handles(c.CMD_UNLINK_GROUP)
    async def unlink_group(self, token: str, parent: str, child: str) -> None:
        await self._link(token, parent, child, link=False)

    async def _link(self, token: str, parent: str, child: str, *, link: bool) -> None:
        session = self._session(token)
        community, linked = group_jid(parent, "parent"), group_jid(child, "child")
        client = session.connected_client()
        try:
            if link:
                await client.link_group(community, linked)
            else:
                await client.unlink_group(community, linked)
        except NeonizeError as exc:
            raise _refusal(
                session, "Linking the group" if link else "Unlinking the group", exc, parent
            ) from exc

    @handles(c.CMD_SUB_GROUPS)
    async def sub_groups(self, token: str, parent: str) -> list[dict[str, Any]]:
        session = self._session(token)
        community = group_jid(parent, "parent")
        client = session.connected_client()
        try:
            targets = await client.get_sub_groups(community)
        except NeonizeError as exc:
            raise _refusal(session, "Listing the community's groups", exc, parent) from exc
        return [
            {
                "jid": translate.jid_string(target.JID),
                "subject": str(target.GroupName.Name),
                "isDefault": bool(target.GroupIsDefaultSub.IsDefaultSubGroup),
            }
            for target in targets
        ]
