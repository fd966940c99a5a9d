"""Groups in the sandbox: the group commands of a sandbox device (docs/groups.md).

WhatsApp's rules hold: only admins change participants, invite links and the announce/locked settings;
when a group is locked only admins edit its subject, topic and picture; nobody removes or demotes the
group's creator.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any, Final

from wa_gateway.backends.sandbox.args import GROUP_SERVER, USER_SERVER
from wa_gateway.backends.sandbox.group_network import (
    MAX_TOPIC_CHARS,
    OK,
    GroupNetwork,
    check_subject,
    details,
    find_member,
    group_jid,
    not_admin,
    not_found,
    phone_of,
)
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks
from wa_gateway.worker.handlers import handles

INVITE_PREFIX: Final = "https://chat.whatsapp.com/"
JPEG_MAGIC: Final = b"\xff\xd8\xff"


class SandboxGroups:
    def __init__(self, network: GroupNetwork) -> None:
        self._network = network
        self._host = network.host

    # --- commands ---------------------------------------------------------------------------------

    @handles(c.CMD_LIST_GROUPS)
    async def list_groups(self, token: str) -> list[c.GroupSummary]:
        self._host.connected(token)
        return [
            {"jid": group["jid"], "subject": group["subject"], "participants": len(group["participants"])}
            for group in await self._host.store.groups(token)
        ]

    @handles(c.CMD_GROUP_INFO)
    async def group_info(self, token: str, group: str) -> c.GroupDetails:
        self._host.connected(token)
        if not group.endswith(GROUP_SERVER):
            raise checks.invalid("jid must be a group JID (…@g.us)")
        found = await self._network.copy(token, group)
        if found is None:
            raise checks.invalid(f"this device is not in group {group}")
        return details(found)

    @handles(c.CMD_CREATE_GROUP)
    async def create_group(
        self, token: str, subject: str, participants: list[str], community: bool = False
    ) -> c.GroupDetails:
        self._host.connected(token)
        check_subject(subject)
        phones = [phone_of(p, "participants") for p in participants]
        registered = await self._host.store.registered_numbers(phones)
        others = [p for p in dict.fromkeys(phones) if p != token and registered[p]]
        async with self._network.lock:
            group = self._network.new_group(subject, token, [token, *others], admins={token})
            group["community"] = community
            await self._network.write(group)
        self._network.joined(group, by=token + USER_SERVER, creator=token)
        return details(group)

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
        given = {"subject": subject, "topic": topic, "announce": announce, "locked": locked}
        changes = {key: value for key, value in given.items() if value is not None}
        if not changes:
            raise checks.invalid("give at least one of subject, topic, announce, locked")
        if subject is not None:
            check_subject(subject)
        if topic is not None and len(topic) > MAX_TOPIC_CHARS:
            raise checks.invalid(f"topic must be at most {MAX_TOPIC_CHARS} characters")
        async with self._network.lock:
            found, me = await self._network.members_for(token, group)
            settings = "announce" in changes or "locked" in changes
            if not me["isAdmin"] and (settings or found.get("locked")):
                raise not_admin()
            found.update(changes)
            await self._network.write(found)
        self._network.updated(found, changes, token)
        return {"changed": list(changes)}

    @handles(c.CMD_GROUP_PARTICIPANTS)
    async def group_participants(
        self, token: str, group: str, action: str, participants: list[str]
    ) -> list[c.GroupParticipantResult]:
        self._host.connected(token)
        phones = [phone_of(p, "participants") for p in participants]
        async with self._network.lock:
            found = await self._network.admin_of(token, group)
            return await self._network.change(found, action, phones, by=token)

    @handles(c.CMD_LEAVE_GROUP)
    async def leave_group(self, token: str, group: str) -> None:
        async with self._network.lock:
            found, me = await self._network.members_for(token, group)
            found["participants"].remove(me)
            await self._network.write(found, frozenset({token}))
        now = self._host.clock.time()
        left: c.GroupLeft = {"jid": group, "by": None, "timestamp": now}
        self._network.tell({token}, c.EV_GROUP_LEFT, dict(left))
        data: c.GroupParticipantsChanged = {
            "jid": group,
            "action": "remove",
            "participants": [token + USER_SERVER],
            "by": token + USER_SERVER,
            "timestamp": now,
        }
        self._network.tell({p["phone"] for p in found["participants"]}, c.EV_GROUP_PARTICIPANTS, dict(data))

    @handles(c.CMD_GROUP_INVITE)
    async def group_invite(self, token: str, group: str, revoke: bool) -> dict[str, Any]:
        async with self._network.lock:
            found = await self._network.admin_of(token, group)
            if revoke or not found.get("inviteCode"):
                found["inviteCode"] = secrets.token_urlsafe(16)[:22]
                await self._network.write(found)
        return {"link": INVITE_PREFIX + found["inviteCode"]}

    @handles(c.CMD_JOIN_GROUP)
    async def join_group(self, token: str, code: str) -> dict[str, Any]:
        self._host.connected(token)
        async with self._network.lock:
            found = await self._network.by_code(code)
            if find_member(found, token) is not None:
                raise c.EngineError(c.E_ALREADY_MEMBER, f"this device is already in group {found['jid']}")
            results = await self._network.change(found, "add", [token], by=token)
        if results[0]["status"] != OK:
            raise c.EngineError(c.E_ENGINE_FAILURE, f"joining failed: {results[0]['status']}")
        return {"jid": found["jid"]}

    @handles(c.CMD_GROUP_INVITE_INFO)
    async def group_invite_info(self, token: str, code: str) -> c.GroupDetails:
        self._host.connected(token)
        return details(await self._network.by_code(code))

    @handles(c.CMD_SET_GROUP_PICTURE)
    async def set_group_picture(self, token: str, group: str, path: Path) -> dict[str, Any]:
        self._host.connected(token)
        file = await asyncio.to_thread(checks.read_outgoing_media, self._host.data_dir, path)
        if not file.data.startswith(JPEG_MAGIC):
            raise checks.invalid("a group picture must be a JPEG image")
        async with self._network.lock:
            found, me = await self._network.members_for(token, group)
            if found.get("locked") and not me["isAdmin"]:
                raise not_admin()
            found["pictureId"] = str(secrets.randbelow(10**10))
            found["pictureSha256"] = file.sha256
            await self._network.write(found)
        self._network.updated(found, {"picture": found["pictureId"]}, token)
        return {"pictureId": found["pictureId"]}

    @handles(c.CMD_GROUP_REQUESTS)
    async def group_requests(self, token: str, group: str) -> list[dict[str, Any]]:
        found = await self._network.admin_of(token, group)
        return list(found.get("requests", []))

    @handles(c.CMD_LINK_GROUP)
    async def link_group(self, token: str, parent: str, child: str) -> None:
        await self._relink(token, parent, child, link=True)

    @handles(c.CMD_UNLINK_GROUP)
    async def unlink_group(self, token: str, parent: str, child: str) -> None:
        await self._relink(token, parent, child, link=False)

    async def _relink(self, token: str, parent: str, child: str, *, link: bool) -> None:
        async with self._network.lock:
            community = await self._network.admin_of(token, group_jid(parent, "parent"))
            if not community.get("community"):
                raise checks.invalid(f"{parent} is not a community")
            linked = await self._network.admin_of(token, group_jid(child, "child"))
            if link and linked.get("community"):
                raise checks.invalid("a community cannot be linked into another")
            if not link and linked.get("parent") != parent:
                raise not_found(f"{child} in community {parent}")
            linked["parent"] = parent if link else None
            await self._network.write(linked)

    @handles(c.CMD_SUB_GROUPS)
    async def sub_groups(self, token: str, parent: str) -> list[dict[str, Any]]:
        await self._network.members_for(token, group_jid(parent, "parent"))
        return [
            {"jid": g["jid"], "subject": g["subject"], "isDefault": False}
            for g in await self._host.store.groups(token)
            if g.get("parent") == parent
        ]
