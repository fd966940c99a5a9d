"""What reaches the message store: the engine's events for a device, and what the gateway sent through it.

Two hooks feed it (docs/messages.md "What is stored"): ``record_event`` sees every event a device received,
``RecordingEngine`` wraps the engine link so every send that succeeded is stored with the id WhatsApp gave it.
A store failure is logged and never fails the event or the send: the message is already on WhatsApp.

The same link hands the engine what the store knows of a message a command acts on (docs/messages.md
"Acting on stored messages"): its author for a reaction, the engine's ``ref`` for a quote, an edit, a revoke
or a download, so they work after a restart and beyond the engine's cache.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from wa_gateway import vocabulary as v
from wa_gateway.clock import Clock
from wa_gateway.devices.model import EngineLink
from wa_gateway.engine import contract as c
from wa_gateway.messages.model import MessageStore, MessageStoreError, NewMessage, Source
from wa_gateway.phone import user_jid

log = logging.getLogger("wa_gateway.messages")

# Status posts and broadcast lists are not chats (docs/messages.md "What is stored").
BROADCAST_SUFFIX: Final = f"@{v.BROADCAST_SERVER}"
GROUP_SUFFIX: Final = f"@{v.GROUP_SERVER}"
MAX_REF_CHARS: Final = 64 * 1024


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _optional(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _stamp(data: Mapping[str, Any], fallback: float) -> float:
    stamp = data.get("timestamp")
    return float(stamp) if isinstance(stamp, int | float) and not isinstance(stamp, bool) else fallback


def _ref(value: Any) -> str:
    # A reference is the engine's and small (a trimmed message); anything larger is not worth keeping.
    return value if isinstance(value, str) and len(value) <= MAX_REF_CHARS else ""


def _media(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        return None
    size = raw.get("size")
    return {
        "mimetype": _optional(raw.get("mimetype")),
        "size": size if isinstance(size, int) and not isinstance(size, bool) else None,
        "filename": _optional(raw.get("filename")),
    }


def incoming(data: Mapping[str, Any], source: Source, now: float) -> NewMessage | None:
    """An engine message (``IncomingMessage``) as the store keeps it; None when it is not a chat message."""
    mid, chat = _text(data.get("id")), _text(data.get("chat")) or _text(data.get("from"))
    if not mid or not chat or chat.endswith(BROADCAST_SUFFIX):
        return None
    mentions = data.get("mentions")
    kind = _text(data.get("type"))
    return NewMessage(
        id=mid,
        chat=chat,
        sender=_text(data.get("from")),
        from_me=data.get("fromMe") is True,
        is_group=data.get("isGroup") is True or chat.endswith(GROUP_SUFFIX),
        type=kind if kind in c.MESSAGE_TYPES else "unknown",
        text=_text(data.get("text")),
        timestamp=_stamp(data, now),
        source=source,
        push_name=_text(data.get("pushName")),
        caption=_optional(data.get("caption")),
        media=_media(data.get("media")),
        reply_to=_optional(data.get("replyTo")),
        mentions=tuple(m for m in mentions if isinstance(m, str)) if isinstance(mentions, list) else (),
        ref=_ref(data.get("ref")),
    )


class MessageRecorder:
    def __init__(self, store: MessageStore, clock: Clock, *, retention_s: float) -> None:
        self._store = store
        self._clock = clock
        self._retention = retention_s

    def _fresh(self, message: NewMessage) -> bool:
        # A history sync can reach back years; what retention would delete at once is not stored at all.
        return message.timestamp >= self._clock.time() - self._retention

    async def record_event(self, token: str, event: str, data: Mapping[str, Any]) -> None:
        """One engine event of ``token`` (called once per event, before anything else handles it)."""
        try:
            await self._apply(token, event, data)
        except MessageStoreError as exc:
            log.error("message store update failed", extra={"event": event, "error": str(exc)})

    async def _apply(self, token: str, event: str, data: Mapping[str, Any]) -> None:
        now = self._clock.time()
        if event == c.EV_MESSAGE:
            message = incoming(data, "live", now)
            if message is not None and self._fresh(message):
                await self._store.add(token, [message], unread=True)
        elif event == c.EV_HISTORY_SYNC:
            raw = data.get("messages")
            entries = raw if isinstance(raw, list) else []
            found = (incoming(e, "history", now) for e in entries if isinstance(e, Mapping))
            batch = [m for m in found if m is not None and self._fresh(m)]
            if batch:
                await self._store.add(token, batch, unread=False)
        elif event == c.EV_RECEIPT:
            ids = data.get("messageIds")
            if isinstance(ids, list):
                status = _text(data.get("type"))
                await self._store.receipt(token, [i for i in ids if isinstance(i, str)], status)
        elif event == c.EV_MESSAGE_EDITED:
            await self._store.edit(token, _text(data.get("id")), _text(data.get("text")), _stamp(data, now))
        elif event == c.EV_MESSAGE_REVOKED:
            await self._store.revoke(token, _text(data.get("id")), _stamp(data, now))
        elif event == c.EV_REACTION:
            target, sender = _text(data.get("targetId")), _text(data.get("from"))
            if target and sender:
                await self._store.react(token, target, sender, _text(data.get("emoji")), _stamp(data, now))

    async def record_sent(self, cmd: str, args: Mapping[str, Any], result: Any) -> None:
        """A command the engine carried out for ``args["token"]``; ``result`` is its reply."""
        try:
            await self._sent(cmd, args, result if isinstance(result, Mapping) else {})
        except MessageStoreError as exc:
            log.error("message store update failed", extra={"cmd": cmd, "error": str(exc)})

    async def _sent(self, cmd: str, args: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        token = _text(args.get("token"))
        if not token:
            return
        own = user_jid(token)
        now = self._clock.time()
        when = _stamp(result, now)
        if cmd == c.CMD_MARK_READ:
            await self._store.mark_read(token, _text(args.get("chat")))
        elif cmd == c.CMD_REACT:
            await self._store.react(token, _text(args.get("message_id")), own, _text(args.get("emoji")), when)
        elif cmd == c.CMD_EDIT:
            await self._store.edit(token, _text(args.get("message_id")), _text(args.get("text")), when)
        elif cmd == c.CMD_REVOKE:
            await self._store.revoke(token, _text(args.get("message_id")), when)
        elif cmd in _SENDS:
            message = _outgoing(cmd, args, result, own, when)
            if message is not None:
                await self._store.add(token, [message], unread=False)


def _outgoing(
    cmd: str, args: Mapping[str, Any], result: Mapping[str, Any], own: str, when: float
) -> NewMessage | None:
    data: dict[str, Any] = {
        "id": result.get("id"),
        "chat": args.get("to"),
        "from": own,
        "fromMe": True,
        "timestamp": when,
        "replyTo": args.get("reply_to"),
        "mentions": args.get("mentions"),
        "ref": result.get("ref"),
    }
    if cmd == c.CMD_SEND_TEXT:
        data.update(type="text", text=args.get("text"))
    elif cmd == c.CMD_SEND_MEDIA:
        caption = args.get("caption")
        media = {"mimetype": args.get("mimetype"), "size": None, "filename": args.get("filename")}
        data.update(type=args.get("kind"), text=caption, caption=caption, media=media)
    else:
        data.update(type="poll", text=args.get("question"))
    return incoming(data, "sent", when)


_SENDS: Final = frozenset({c.CMD_SEND_TEXT, c.CMD_SEND_MEDIA, c.CMD_SEND_POLL})
_RECORDED: Final = _SENDS | {c.CMD_MARK_READ, c.CMD_REACT, c.CMD_EDIT, c.CMD_REVOKE}
# Command -> (the argument naming the stored message, the argument the store fills in, in the same chat only).
_LOOKUPS: Final = {
    c.CMD_REACT: ("message_id", "sender", True),
    c.CMD_EDIT: ("message_id", "ref", True),
    c.CMD_REVOKE: ("message_id", "ref", True),
    c.CMD_DOWNLOAD_MEDIA: ("message_id", "ref", False),
    c.CMD_SEND_TEXT: ("reply_to", "reply_ref", False),
    c.CMD_SEND_MEDIA: ("reply_to", "reply_ref", False),
}


class RecordingEngine:
    """The engine link the handlers use: each send is stored once the engine answered it, and a command on
    a stored message carries what the engine needs of it when its cache no longer holds it."""

    def __init__(self, engine: EngineLink, recorder: MessageRecorder, store: MessageStore) -> None:
        self._engine = engine
        self._recorder = recorder
        self._store = store

    async def _known(self, cmd: str, args: Mapping[str, Any]) -> Mapping[str, Any]:
        named, filled, same_chat = _LOOKUPS[cmd]
        token, message_id = _text(args.get("token")), _text(args.get(named))
        if not token or not message_id or args.get(filled):
            return args
        try:
            found = await self._store.get(token, message_id)
        except MessageStoreError as exc:
            log.error("message store lookup failed", extra={"cmd": cmd, "error": str(exc)})
            return args
        if found is None or (same_chat and found.chat != args.get("chat")):
            return args
        value = found.sender if filled == "sender" else found.ref
        return {**args, filled: value} if value else args

    async def request(
        self,
        cmd: str,
        args: Mapping[str, Any] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        if cmd in _LOOKUPS and args is not None:
            args = await self._known(cmd, args)
        result = await self._engine.request(cmd, args, timeout)
        if cmd in _RECORDED and args is not None:
            await self._recorder.record_sent(cmd, args, result)
        return result
