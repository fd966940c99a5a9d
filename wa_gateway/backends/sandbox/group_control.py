"""The sandbox's control operations on groups: people and groups beyond the device (docs/groups.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from wa_gateway.backends.sandbox.args import USER_SERVER, arg_phone, arg_text, check_phone
from wa_gateway.backends.sandbox.group_network import (
    GroupNetwork,
    check_subject,
    find_member,
    group_jid,
    not_admin,
    not_found,
    phone_of,
)
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks

ControlOp = Callable[[dict[str, Any]], Awaitable[Any]]


class GroupControl:
    def __init__(self, network: GroupNetwork, deliver: ControlOp) -> None:
        self._network = network
        self._host = network.host
        self._deliver = deliver  # the sandbox's incoming-message operation

    def operations(self) -> dict[str, ControlOp]:
        return {
            "group_create": self._op_create,
            "group_participants": self._op_participants,
            "group_message": self._op_message,
        }

    async def _op_create(self, args: dict[str, Any]) -> dict[str, Any]:
        subject = arg_text(args, "subject")
        check_subject(subject)
        phones = _phones(args, "participants")
        owner = arg_phone(args, "owner") if args.get("owner") is not None else phones[0]
        if owner not in phones:
            raise checks.invalid("owner must be one of the participants")
        admins = args.get("admins") or []
        if not isinstance(admins, list) or not all(isinstance(a, str) and a in phones for a in admins):
            raise checks.invalid("admins must be a list of the participants")
        community = args.get("community", False)
        if not isinstance(community, bool):
            raise checks.invalid("community must be true or false")
        async with self._network.lock:
            group = self._network.new_group(subject, owner, phones, admins=set(admins))
            group["community"] = community
            await self._network.write(group)
        self._network.joined(group, by=owner + USER_SERVER, creator=owner)
        return {"jid": group["jid"]}

    async def _op_participants(self, args: dict[str, Any]) -> dict[str, Any]:
        jid = group_jid(arg_text(args, "jid"))
        by = arg_phone(args, "by")
        phones = _phones(args, "participants")
        action = arg_text(args, "action")
        async with self._network.lock:
            found = await self._network.anywhere(lambda g: g["jid"] == jid)
            if found is None:
                raise not_found(jid)
            admin = find_member(found, by)
            if admin is None or not admin["isAdmin"]:
                raise not_admin()
            results = await self._network.change(found, action, phones, by=by)
        return {"results": results}

    async def _op_message(self, args: dict[str, Any]) -> dict[str, Any]:
        """A message from one member to a group: each sandbox device in it receives it."""
        jid = group_jid(arg_text(args, "jid"))
        sender = arg_phone(args, "from")
        text = arg_text(args, "text")
        found = await self._network.anywhere(lambda g: g["jid"] == jid)
        author = find_member(found, sender) if found is not None else None
        if found is None or author is None:
            raise checks.invalid(f"{sender} is not in group {jid}")
        if found.get("announce") and not author["isAdmin"]:
            raise not_admin()  # an announcement group: only admins write
        delivered: list[str] = []
        for participant in found["participants"]:
            token = participant["phone"]
            if token == sender:
                continue
            try:
                self._host.connected(token)
            except c.EngineError:
                continue
            await self._deliver({"token": token, "from": sender, "chat": jid, "text": text})
            delivered.append(token)
        return {"delivered": delivered}


def _phones(args: dict[str, Any], key: str) -> list[str]:
    """Phone numbers, as digits or phone JIDs, each once."""
    value = args.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise checks.invalid(f"{key} must be a non-empty list of phone numbers")
    phones = []
    for entry in value:
        if "@" in entry:
            phones.append(phone_of(entry, key))
        else:
            check_phone(entry, key)
            phones.append(entry)
    return list(dict.fromkeys(phones))
