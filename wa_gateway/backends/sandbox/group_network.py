"""The sandbox's network of groups: each sandbox device holds its copy of the groups it is in, and a change
is written to every member's copy and told to each of them as WhatsApp would (docs/groups.md)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any, Final

from wa_gateway.backends.sandbox.args import GROUP_SERVER, USER_SERVER, check_jid
from wa_gateway.backends.sandbox.device import SandboxHost
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks

MAX_SUBJECT_CHARS: Final = 100
MAX_TOPIC_CHARS: Final = 2048
# What WhatsApp answers per participant (docs/groups.md "Participant results").
OK: Final = "ok"
ALREADY_MEMBER: Final = "already_member"
NOT_MEMBER: Final = "not_member"
NOT_ON_WHATSAPP: Final = "not_on_whatsapp"
FORBIDDEN: Final = "forbidden"

Group = dict[str, Any]


def phone_of(jid: str, key: str) -> str:
    check_jid(jid, key)
    user, _, server = jid.partition("@")
    if server != USER_SERVER.lstrip("@") or not user.isdigit():
        raise checks.invalid(f"{key} must name people by phone (…@s.whatsapp.net)")
    return user


def group_jid(jid: str, key: str = "jid") -> str:
    check_jid(jid, key)
    if not jid.endswith(GROUP_SERVER):
        raise checks.invalid(f"{key} must be a group JID (…@g.us)")
    return jid


def find_member(group: Group, phone: str) -> dict[str, Any] | None:
    return next((p for p in group["participants"] if p["phone"] == phone), None)


def details(group: Group) -> c.GroupDetails:
    return {
        "jid": group["jid"],
        "subject": group["subject"],
        "topic": group["topic"],
        "owner": group["owner"],
        "createdAt": group["createdAt"],
        "participants": [dict(p) for p in group["participants"]],  # type: ignore[misc]
    }


def check_subject(subject: str) -> None:
    if not subject.strip() or len(subject) > MAX_SUBJECT_CHARS:
        raise checks.invalid(f"subject must be 1 to {MAX_SUBJECT_CHARS} characters")


def not_found(jid: str) -> c.EngineError:
    return c.EngineError(c.E_GROUP_NOT_FOUND, f"this device is not in group {jid}")


def not_admin() -> c.EngineError:
    return c.EngineError(c.E_NOT_GROUP_ADMIN, "only the group's admins can do this")


class GroupNetwork:
    def __init__(self, host: SandboxHost) -> None:
        self.host = host
        # One change at a time: each rewrites several devices' copies.
        self.lock = asyncio.Lock()

    # --- the network's copies ---------------------------------------------------------------------

    async def sandbox_devices(self) -> list[str]:
        return [s["token"] for s in await self.host.store.list_sessions() if s["paired"]]

    async def copy(self, token: str, jid: str) -> Group | None:
        return next((g for g in await self.host.store.groups(token) if g["jid"] == jid), None)

    async def anywhere(self, match: Callable[[Group], bool]) -> Group | None:
        for token in await self.sandbox_devices():
            for group in await self.host.store.groups(token):
                if match(group):
                    return group
        return None

    async def write(self, group: Group, gone: frozenset[str] = frozenset()) -> None:
        """The group as it now is, into each member device's copy; out of the copies of ``gone``."""
        members = {p["phone"] for p in group["participants"]}
        for token in await self.sandbox_devices():
            groups = await self.host.store.groups(token)
            kept = [g for g in groups if g["jid"] != group["jid"]]
            if token in members:
                position = next((i for i, g in enumerate(groups) if g["jid"] == group["jid"]), len(kept))
                kept.insert(position, group)
            if token in members or token in gone:
                await self.host.store.set_groups(token, kept)

    def tell(self, tokens: set[str], event: str, data: dict[str, Any]) -> None:
        for token in sorted(tokens):
            try:
                self.host.connected(token)
            except c.EngineError:
                # Unlike WhatsApp the sandbox queues nothing for a device that is offline: its copy of
                # the group is already up to date when it comes back.
                continue
            self.host.emit(token, event, dict(data))

    async def members_for(self, token: str, jid: str) -> tuple[Group, dict[str, Any]]:
        """The device's copy of a group it is in, and its own participant entry."""
        self.host.connected(token)
        group_jid(jid)
        group = await self.copy(token, jid)
        me = find_member(group, token) if group is not None else None
        if group is None or me is None:
            raise not_found(jid)
        return group, me

    async def admin_of(self, token: str, jid: str) -> Group:
        group, me = await self.members_for(token, jid)
        if not me["isAdmin"]:
            raise not_admin()
        return group

    def new_group(self, subject: str, owner: str, phones: list[str], admins: set[str]) -> Group:
        return {
            "jid": f"120363{secrets.randbelow(10**12):012d}{GROUP_SERVER}",
            "subject": subject,
            "topic": "",
            "owner": owner + USER_SERVER,
            "createdAt": self.host.clock.time(),
            "participants": [
                {
                    "jid": phone + USER_SERVER,
                    "phone": phone,
                    "isAdmin": phone in admins or phone == owner,
                    "isSuperAdmin": phone == owner,
                }
                for phone in phones
            ],
            "announce": False,
            "locked": False,
        }

    def joined(self, group: Group, by: str | None, creator: str | None = None) -> None:
        now = self.host.clock.time()
        members = {p["phone"] for p in group["participants"]}
        for token in members:
            added_by = None if token == creator else by
            joined: c.GroupJoined = {
                "jid": group["jid"],
                "subject": group["subject"],
                "by": added_by,
                "timestamp": now,
            }
            self.tell({token}, c.EV_GROUP_JOINED, dict(joined))

    def updated(self, group: Group, changes: dict[str, Any], by: str) -> None:
        updated: c.GroupUpdated = {
            "jid": group["jid"],
            "changes": changes,
            "by": by + USER_SERVER,
            "timestamp": self.host.clock.time(),
        }
        self.tell({p["phone"] for p in group["participants"]}, c.EV_GROUP_UPDATED, dict(updated))

    async def change(
        self, group: Group, action: str, phones: list[str], by: str
    ) -> list[c.GroupParticipantResult]:
        if action not in c.GROUP_ACTIONS:
            raise checks.invalid(f"action must be one of {', '.join(c.GROUP_ACTIONS)}")
        registered = await self.host.store.registered_numbers(phones)
        before = {p["phone"] for p in group["participants"]}
        results: list[c.GroupParticipantResult] = []
        changed: list[str] = []
        for phone in dict.fromkeys(phones):
            status = self.apply(group, action, phone, registered[phone])
            results.append({"participant": phone + USER_SERVER, "status": status})
            if status == OK:
                changed.append(phone)
        if not changed:
            return results
        gone = frozenset(before - {p["phone"] for p in group["participants"]})
        await self.write(group, gone)
        data: c.GroupParticipantsChanged = {
            "jid": group["jid"],
            "action": action,
            "participants": [phone + USER_SERVER for phone in changed],
            "by": by + USER_SERVER,
            "timestamp": self.host.clock.time(),
        }
        stayed = {p["phone"] for p in group["participants"]} - set(changed if action == "add" else ())
        self.tell(stayed, c.EV_GROUP_PARTICIPANTS, dict(data))
        if action == "add":
            for phone in changed:
                joined: c.GroupJoined = {
                    "jid": group["jid"],
                    "subject": group["subject"],
                    "by": by + USER_SERVER,
                    "timestamp": data["timestamp"],
                }
                self.tell({phone}, c.EV_GROUP_JOINED, dict(joined))
        for phone in gone:
            left: c.GroupLeft = {"jid": group["jid"], "by": by + USER_SERVER, "timestamp": data["timestamp"]}
            self.tell({phone}, c.EV_GROUP_LEFT, dict(left))
        return results

    @staticmethod
    def apply(group: Group, action: str, phone: str, registered: bool) -> str:
        member = find_member(group, phone)
        if action == "add":
            if member is not None:
                return ALREADY_MEMBER
            if not registered:
                return NOT_ON_WHATSAPP
            group["participants"].append(
                {"jid": phone + USER_SERVER, "phone": phone, "isAdmin": False, "isSuperAdmin": False}
            )
            return OK
        if member is None:
            return NOT_MEMBER
        if member["isSuperAdmin"] and action in ("remove", "demote"):
            return FORBIDDEN  # nobody removes or demotes the group's creator
        if action == "remove":
            group["participants"].remove(member)
        else:
            member["isAdmin"] = action == "promote"
        return OK

    async def by_code(self, code: str) -> Group:
        found = await self.anywhere(lambda g: bool(code) and g.get("inviteCode") == code)
        if found is None:
            raise c.EngineError(c.E_INVITE_INVALID, "the invite link is not valid, revoked or expired")
        return found
