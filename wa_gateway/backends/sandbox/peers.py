"""The sandbox's other side of the conversation: control operations that play people writing to a device.

Each one emits the event a real device would, and what a device receives enters its message cache, so the
gateway can quote, react to, or download it afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from wa_gateway.backends.sandbox import media_server, refs
from wa_gateway.backends.sandbox.args import (
    GROUP_SERVER,
    USER_SERVER,
    arg_bool,
    arg_jids,
    arg_phone,
    arg_phones,
    arg_text,
    chat_jid,
    check_jid,
    optional_text,
)
from wa_gateway.backends.sandbox.device import SandboxDevice, SandboxHost
from wa_gateway.backends.sandbox.history import history_messages
from wa_gateway.backends.sandbox.ids import message_id
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks
from wa_gateway.worker.message_cache import CachedMessage

ControlOp = Callable[[dict[str, Any]], Awaitable[Any]]
MAX_GROUP_SUBJECT_CHARS: Final = 100


@dataclass(frozen=True, slots=True)
class _Peer:
    """Who does something to the device, and in which chat."""

    device: SandboxDevice
    phone: str
    jid: str
    chat: str

    @property
    def is_group(self) -> bool:
        return self.chat.endswith(GROUP_SERVER)


class SandboxPeers:
    def __init__(self, host: SandboxHost) -> None:
        self._host = host

    def operations(self) -> dict[str, ControlOp]:
        return {
            "message": self.message,
            "receipt": self.receipt,
            "history_sync": self.history_sync,
            "media_message": self.media_message,
            "reaction": self.reaction,
            "edit": self.edit,
            "revoke": self.revoke,
            "poll_vote": self.poll_vote,
            "call": self.call,
            "groups": self.groups,
            "set_number": self.set_number,
        }

    async def set_number(self, args: dict[str, Any]) -> dict[str, Any]:
        """Whether a phone number is on WhatsApp, for number checks."""
        phone = arg_phone(args, "phone")
        registered = args.get("registered", True)
        if not isinstance(registered, bool):
            raise c.EngineError(c.E_INVALID_ARGUMENT, "registered must be a boolean")
        await self._host.store.set_number(phone, registered)
        return {"phone": phone, "registered": registered}

    async def _peer(self, args: dict[str, Any]) -> _Peer:
        device = await self._host.connected_for_control(args)
        phone = arg_phone(args, "from")
        return _Peer(device, phone, phone + USER_SERVER, chat_jid(args.get("chat"), phone))

    def _emit(self, peer: _Peer, event: str, data: dict[str, Any]) -> None:
        self._host.emit(peer.device.token, event, data)

    def _about(self, peer: _Peer) -> dict[str, Any]:
        """The fields every event about someone's action carries."""
        return {
            "chat": peer.chat,
            "from": peer.jid,
            "timestamp": self._host.clock.time(),
            "isGroup": peer.is_group,
            "senderPhone": peer.phone,
        }

    def _receive(
        self,
        peer: _Peer,
        args: dict[str, Any],
        *,
        kind: str,
        text: str,
        caption: str | None = None,
        media: c.MediaInfo | None = None,
        sha256: str = "",
    ) -> dict[str, Any]:
        reply_to = optional_text(args, "replyTo") or None
        held = CachedMessage(
            id=optional_text(args, "id") or message_id(),
            chat=peer.chat,
            sender=peer.jid,
            from_me=False,
            kind=kind,
            timestamp=self._host.clock.time(),
            text=text,
            media=media,
            payload=sha256.encode(),  # the file is on the sandbox's media server (media_server.py)
        )
        message: c.IncomingMessage = {
            "id": held.id,
            "from": peer.jid,
            "chat": peer.chat,
            "pushName": optional_text(args, "pushName") or "",
            "text": text,
            "type": kind,
            "timestamp": held.timestamp,
            "isGroup": peer.is_group,
            "fromMe": False,
            "senderPhone": peer.phone,
            "caption": caption,
            "media": media,
            "replyTo": reply_to,
            "mentions": arg_jids(args, "mentions"),
            "ref": refs.ref_of(held),
        }
        self._host.caches.of(peer.device.token).put(held)
        self._emit(peer, c.EV_MESSAGE, dict(message))
        return {"id": message["id"]}

    async def message(self, args: dict[str, Any]) -> dict[str, Any]:
        peer = await self._peer(args)
        text = args.get("text")
        if not isinstance(text, str):
            raise checks.invalid("text must be a string")
        return self._receive(peer, args, kind="text", text=text)

    async def receipt(self, args: dict[str, Any]) -> None:
        device = await self._host.connected_for_control(args)
        kind = args.get("type")
        if kind not in c.RECEIPT_TYPES:
            raise checks.invalid(f"type must be one of {', '.join(c.RECEIPT_TYPES)}")
        ids = args.get("messageIds")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise checks.invalid("messageIds must be a non-empty list of strings")
        sender = arg_phone(args, "from") + USER_SERVER
        receipt: c.Receipt = {
            "type": kind,
            "messageIds": ids,
            "from": sender,
            "chat": sender,
            "timestamp": self._host.clock.time(),
        }
        self._host.emit(device.token, c.EV_RECEIPT, dict(receipt))

    async def history_sync(self, args: dict[str, Any]) -> None:
        device = await self._host.connected_for_control(args)
        contacts = args.get("contacts", [])
        if not isinstance(contacts, list):
            raise checks.invalid("contacts must be a list")
        messages = history_messages(args.get("messages"), device.token, self._host.clock.time())
        batch = []
        for entry in contacts:
            if not isinstance(entry, dict):
                raise checks.invalid("each contact must be an object")
            name = entry.get("name", "")
            if not isinstance(name, str):
                raise checks.invalid("contact name must be a string")
            batch.append({"phone": arg_phone(entry, "phone"), "name": name})
        sync: dict[str, Any] = {"contacts": batch}
        if messages:
            sync["messages"] = messages
        self._host.emit(device.token, c.EV_HISTORY_SYNC, sync)

    async def media_message(self, args: dict[str, Any]) -> dict[str, Any]:
        peer = await self._peer(args)
        kind = arg_text(args, "kind")
        mimetype = arg_text(args, "mimetype")
        caption = checks.media_caption(kind, mimetype, optional_text(args, "caption"))
        try:
            data = base64.b64decode(arg_text(args, "base64"), validate=True)
        except (binascii.Error, ValueError):
            raise checks.invalid("base64 is not valid base64") from None
        if not data:
            raise checks.invalid("base64 must hold the file's bytes")
        filename = optional_text(args, "filename") or None
        media: c.MediaInfo = {"mimetype": mimetype, "size": len(data), "filename": filename}
        sha256 = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(media_server.keep, self._host.data_dir, peer.device.token, sha256, data)
        return self._receive(
            peer, args, kind=kind, text=caption or "", caption=caption, media=media, sha256=sha256
        )

    async def reaction(self, args: dict[str, Any]) -> dict[str, Any]:
        peer = await self._peer(args)
        target = arg_text(args, "targetId")
        emoji = arg_text(args, "emoji", allow_empty=True)
        checks.check_emoji(emoji)
        reaction_id = message_id()
        self._emit(
            peer, c.EV_REACTION, {"id": reaction_id, "targetId": target, "emoji": emoji, **self._about(peer)}
        )
        return {"id": reaction_id}

    async def edit(self, args: dict[str, Any]) -> None:
        peer = await self._peer(args)
        target = arg_text(args, "targetId")
        text = arg_text(args, "text")
        cache = self._host.caches.of(peer.device.token)
        known = cache.get(target)
        if known is not None:
            if known.sender != peer.jid:
                raise checks.invalid("only its author can edit a message")
            cache.replace_text(target, text)
        self._emit(peer, c.EV_MESSAGE_EDITED, {"id": target, "text": text, **self._about(peer)})

    async def revoke(self, args: dict[str, Any]) -> None:
        peer = await self._peer(args)
        target = arg_text(args, "targetId")
        self._host.caches.of(peer.device.token).discard(target)
        self._emit(peer, c.EV_MESSAGE_REVOKED, {"id": target, **self._about(peer)})

    async def poll_vote(self, args: dict[str, Any]) -> None:
        peer = await self._peer(args)
        poll_id = arg_text(args, "pollId")
        poll = self._host.caches.of(peer.device.token).find(poll_id)
        if poll.kind != "poll":
            raise checks.invalid(f"message {poll_id} is not a poll")
        options = args.get("options")
        if not isinstance(options, list) or not all(isinstance(option, str) for option in options):
            raise checks.invalid("options must be a list of option names")
        unknown = [option for option in options if option not in poll.poll_options]
        if unknown:
            raise checks.invalid(f"not an option of this poll: {unknown[0]}")
        if len(set(options)) != len(options):
            raise checks.invalid("options must not repeat")
        if len(options) > 1 and not poll.poll_multiple:
            raise checks.invalid("this poll takes a single option per vote")
        chat = peer.chat if args.get("chat") else poll.chat
        about = {**self._about(peer), "chat": chat, "isGroup": chat.endswith(GROUP_SERVER)}
        self._emit(peer, c.EV_POLL_VOTE, {"pollId": poll_id, "options": list(options), **about})

    async def call(self, args: dict[str, Any]) -> dict[str, Any]:
        peer = await self._peer(args)
        call_id = optional_text(args, "callId") or secrets.token_hex(16).upper()
        offer: c.CallOffer = {
            "from": peer.jid,
            "callId": call_id,
            "timestamp": self._host.clock.time(),
            "isVideo": arg_bool(args, "video"),
            "isGroup": arg_bool(args, "group"),
        }
        self._emit(peer, c.EV_CALL_OFFER, dict(offer))
        return {"callId": call_id}

    async def groups(self, args: dict[str, Any]) -> dict[str, Any]:
        device = await self._host.connected_for_control(args)
        entries = args.get("groups")
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise checks.invalid("groups must be a list of objects")
        groups = [_group(entry) for entry in entries]
        if len({group["jid"] for group in groups}) != len(groups):
            raise checks.invalid("each group jid must appear once")
        await self._host.store.set_groups(device.token, [dict(group) for group in groups])
        return {"groups": len(groups)}


def _group(entry: dict[str, Any]) -> c.GroupDetails:
    jid = arg_text(entry, "jid")
    if not jid.endswith(GROUP_SERVER):
        jid += GROUP_SERVER
    check_jid(jid, "jid")
    subject = arg_text(entry, "subject", allow_empty=True)
    if len(subject) > MAX_GROUP_SUBJECT_CHARS:
        raise checks.invalid(f"subject must be at most {MAX_GROUP_SUBJECT_CHARS} characters")
    phones = arg_phones(entry, "participants")
    owner = optional_text(entry, "owner") or None
    admins = set(arg_phones(entry, "admins"))
    if owner is not None:
        if owner not in phones:
            raise checks.invalid("owner must be one of the participants")
        admins.add(owner)
    return {
        "jid": jid,
        "subject": subject,
        "topic": optional_text(entry, "topic") or "",
        "owner": owner + USER_SERVER if owner else None,
        "createdAt": None,
        "participants": [
            {
                "jid": phone + USER_SERVER,
                "phone": phone,
                "isAdmin": phone in admins,
                "isSuperAdmin": phone == owner,
            }
            for phone in dict.fromkeys(phones)
        ],
    }
