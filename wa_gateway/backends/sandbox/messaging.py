"""What a sandbox device sends: every command lands in its sent log, every message in its message cache."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Final

from wa_gateway.backends.sandbox import media_server, refs
from wa_gateway.backends.sandbox.args import check_jid
from wa_gateway.backends.sandbox.device import SandboxDevice, SandboxHost
from wa_gateway.backends.sandbox.ids import message_id
from wa_gateway.backends.sandbox.store import SentMessage
from wa_gateway.engine import contract as c
from wa_gateway.engine import send_ids
from wa_gateway.worker import command_checks as checks
from wa_gateway.worker.handlers import handles
from wa_gateway.worker.message_cache import CachedMessage, MessageCache

CHANNEL_SERVER: Final = "@newsletter"


class SandboxMessaging:
    def __init__(self, host: SandboxHost) -> None:
        self._host = host

    def _cache(self, device: SandboxDevice) -> MessageCache:
        return self._host.caches.of(device.token)

    async def _send(
        self,
        device: SandboxDevice,
        to: str,
        text: str,
        details: Mapping[str, Any],
        *,
        typing_ms: int | None = None,
        typing_state: str = "composing",
    ) -> SentMessage:
        """Records one outgoing message, after the typing simulation when ``typing_ms`` is given."""
        host = self._host
        chosen = send_ids.chosen()
        async with device.sends:
            host.require_still_connected(device)
            if chosen is not None:
                # Like WhatsApp, the sandbox keeps one message per id: a retry under the same id is
                # the message already sent (docs/durability.md, "Sends").
                already = await host.store.find_sent(device.token, chosen)
                if already is not None:
                    return already
            presence: tuple[tuple[str, float], ...] = ()
            if typing_ms is not None:
                started_at = host.clock.time()
                if typing_ms > 0:
                    await host.clock.sleep(typing_ms / 1000)
                presence = ((typing_state, started_at), ("paused", host.clock.time()))
                host.require_still_connected(device)
            sent = SentMessage(
                id=chosen or message_id(),
                to=to,
                text=text,
                timestamp=host.clock.time(),
                presence=presence,
                details=details,
            )
            # Queued under the lock, so the sent log keeps the order of the sends; committed outside it,
            # so the sends waiting behind this one join its commit instead of each paying one.
            committed = host.store.queue_sent(device.token, sent)
        await committed
        return sent

    async def record(
        self, device: SandboxDevice, to: str, text: str, details: Mapping[str, Any]
    ) -> SentMessage:
        """One outgoing message without a typing simulation (status posts)."""
        return await self._send(device, to, text, details)

    def _remember(self, device: SandboxDevice, sent: SentMessage, kind: str, **extra: Any) -> CachedMessage:
        message = CachedMessage(
            id=sent.id,
            chat=sent.to,
            sender=device.jid,
            from_me=True,
            kind=kind,
            timestamp=sent.timestamp,
            text=sent.text,
            **extra,
        )
        self._cache(device).put(message)
        return message

    @staticmethod
    def _reply(sent: SentMessage, message: CachedMessage) -> dict[str, Any]:
        """The send's answer, with the ``ref`` the message store keeps (docs/messages.md)."""
        return {"id": sent.id, "timestamp": sent.timestamp, "ref": refs.ref_of(message)}

    @handles(c.CMD_SEND_TEXT)
    async def send_text(
        self,
        token: str,
        to: str,
        text: str,
        typing_ms: int,
        reply_to: str | None = None,
        mentions: Sequence[str] = (),
        reply_ref: str | None = None,
    ) -> dict[str, Any]:
        device = self._host.connected(token)
        check_jid(to, "to")
        channel = to.endswith(CHANNEL_SERVER)
        if channel:
            await self._host.require_channel_admin(token, to)
        for mention in mentions:
            check_jid(mention, "mentions")
        details: dict[str, Any] = {}
        if reply_to:
            self._cache(device).find(reply_to, ref=reply_ref, restore=refs.restore)
            details["replyTo"] = reply_to
        if mentions:
            details["mentions"] = list(mentions)
        # Nobody sees anyone typing in a channel.
        sent = await self._send(device, to, text, details, typing_ms=None if channel else typing_ms)
        message = self._remember(device, sent, "text")
        if channel:
            await self._host.publish_channel_post(token, message)
        return self._reply(sent, message)

    @handles(c.CMD_SEND_MEDIA)
    async def send_media(self, token: str, to: str, media: c.OutgoingMedia, typing_ms: int) -> dict[str, Any]:
        device = self._host.connected(token)
        check_jid(to, "to")
        channel = to.endswith(CHANNEL_SERVER)
        if channel:
            await self._host.require_channel_admin(token, to)
        caption = checks.media_caption(media.kind, media.mimetype, media.caption)
        if media.reply_to:
            self._cache(device).find(media.reply_to, ref=media.reply_ref, restore=refs.restore)
        file = await asyncio.to_thread(checks.read_outgoing_media, self._host.data_dir, media.path)
        await asyncio.to_thread(media_server.keep, self._host.data_dir, token, file.sha256, file.data)
        details: dict[str, Any] = {
            "kind": media.kind,
            "mimetype": media.mimetype,
            "filename": media.filename,
            "caption": caption,
            "size": len(file.data),
            "sha256": file.sha256,
        }
        if media.reply_to:
            details["replyTo"] = media.reply_to
        typing_state = "recording" if media.kind == "voice" else "composing"
        typing = None if channel else typing_ms
        sent = await self._send(
            device, to, caption or "", details, typing_ms=typing, typing_state=typing_state
        )
        info: c.MediaInfo = {"mimetype": media.mimetype, "size": len(file.data), "filename": media.filename}
        message = self._remember(device, sent, media.kind, media=info, payload=file.sha256.encode())
        if channel:
            await self._host.publish_channel_post(token, message)
        return self._reply(sent, message)

    @handles(c.CMD_REACT)
    async def react(
        self, token: str, chat: str, message_id: str, emoji: str, sender: str | None
    ) -> dict[str, Any]:
        device = self._host.connected(token)
        check_jid(chat, "chat")
        checks.check_emoji(emoji)
        if sender is None:
            self._cache(device).find(message_id, chat)  # with its author given, any message will do
        else:
            check_jid(sender, "sender")
        sent = await self._send(
            device, chat, "", {"kind": "reaction", "emoji": emoji, "targetId": message_id}
        )
        return {"id": sent.id, "timestamp": sent.timestamp}

    @handles(c.CMD_EDIT)
    async def edit(
        self, token: str, chat: str, message_id: str, text: str, ref: str | None = None
    ) -> dict[str, Any]:
        device = self._host.connected(token)
        check_jid(chat, "chat")
        cache = self._cache(device)
        target = cache.find_own(message_id, chat, ref=ref, restore=refs.restore)
        checks.check_editable(target.kind)
        details = {"kind": "edit", "targetId": message_id}
        if target.kind != "text":
            details["caption"] = text
        sent = await self._send(device, chat, text, details)
        cache.replace_text(message_id, text)
        return {"id": sent.id, "timestamp": sent.timestamp}

    @handles(c.CMD_REVOKE)
    async def revoke(self, token: str, chat: str, message_id: str, ref: str | None = None) -> dict[str, Any]:
        device = self._host.connected(token)
        check_jid(chat, "chat")
        cache = self._cache(device)
        cache.find_own(message_id, chat, ref=ref, restore=refs.restore)
        sent = await self._send(device, chat, "", {"kind": "revoke", "targetId": message_id})
        cache.discard(message_id)
        return {"id": sent.id, "timestamp": sent.timestamp}

    @handles(c.CMD_SEND_POLL)
    async def send_poll(
        self, token: str, to: str, question: str, options: list[str], multiple: bool
    ) -> dict[str, Any]:
        device = self._host.connected(token)
        check_jid(to, "to")
        checks.check_poll(question, options)
        details = {"kind": "poll", "question": question, "options": list(options), "multiple": multiple}
        sent = await self._send(device, to, question, details)
        message = self._remember(device, sent, "poll", poll_options=tuple(options), poll_multiple=multiple)
        return self._reply(sent, message)

    @handles(c.CMD_SET_PRESENCE)
    async def set_presence(self, token: str, to: str | None, state: str) -> None:
        self._host.connected(token)
        checks.check_presence(to, state)
        if to is not None:
            check_jid(to, "to")
        await self._host.store.add_presence(token, to, state, self._host.clock.time())

    @handles(c.CMD_DOWNLOAD_MEDIA)
    async def download_media(self, token: str, message_id: str, ref: str | None = None) -> dict[str, Any]:
        self._host.connected(token)
        message = self._host.caches.of(token).find(message_id, ref=ref, restore=refs.restore)
        if message.media is None or not message.payload:
            raise checks.invalid(f"message {message_id} has no media")
        data_dir = self._host.data_dir
        data = await asyncio.to_thread(media_server.fetch, data_dir, token, message.payload.decode())
        if data is None:
            raise c.EngineError(
                c.E_MESSAGE_NOT_FOUND, f"the media of message {message_id} is no longer on the sandbox"
            )
        path = checks.incoming_media_path(data_dir, token, message_id)
        await asyncio.to_thread(checks.write_incoming_media, path, data)
        return {
            "path": str(path),
            "mimetype": message.media["mimetype"],
            "filename": message.media["filename"],
            "size": len(data),
        }

    @handles(c.CMD_REJECT_CALL)
    async def reject_call(self, token: str, caller: str, call_id: str) -> None:
        self._host.connected(token)
        check_jid(caller, "from")
        await self._host.store.add_rejected_call(token, caller, call_id, self._host.clock.time())
