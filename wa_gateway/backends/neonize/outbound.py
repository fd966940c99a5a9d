"""What a neonize device sends and asks: messages of every kind, reactions, edits, revokes, polls,
presence, media downloads and call rejections, each built by neonize's own builders."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final

from neonize.builder import build_edit, build_revoke  # type: ignore[import-untyped]
from neonize.exc import DownloadError, NeonizeError  # type: ignore[import-untyped]
from neonize.proto import Neonize_pb2 as proto  # type: ignore[import-untyped]
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (  # type: ignore[import-untyped]
    ContextInfo,
    ExtendedTextMessage,
)
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    Message as WAMessage,
)
from neonize.utils.enum import (  # type: ignore[import-untyped]
    ChatPresence,
    ChatPresenceMedia,
    Presence,
    VoteType,
)

from wa_gateway import vocabulary as v
from wa_gateway.backends.neonize import channel_posts, incoming
from wa_gateway.backends.neonize import events as translate
from wa_gateway.backends.neonize.cached import payload_ref, recaptioned, target
from wa_gateway.backends.neonize.context import EngineContext, mask
from wa_gateway.backends.neonize.media import build_media_message, needs_ffmpeg
from wa_gateway.backends.neonize.send_errors import REACHOUT_ERROR, failure
from wa_gateway.backends.neonize.session import DeviceSession
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks
from wa_gateway.worker.handlers import handles
from wa_gateway.worker.message_cache import CachedMessage, MessageCache

log = logging.getLogger(__name__)

MAX_TYPING_MS: Final = 600_000
GROUP_SERVER: Final = v.GROUP_SERVER
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
# whatsmeow's errors for media WhatsApp no longer keeps (ErrMediaDownloadFailedWith404/410).
EXPIRED_MEDIA_ERRORS: Final = ("status code 404", "status code 410")
_CHAT_STATES: Final = {
    "composing": (ChatPresence.CHAT_PRESENCE_COMPOSING, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT),
    "recording": (ChatPresence.CHAT_PRESENCE_COMPOSING, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_AUDIO),
    "paused": (ChatPresence.CHAT_PRESENCE_PAUSED, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT),
}

Build = Callable[[Any], Awaitable[Any]]


def jid(text: str, field: str) -> Any:
    try:
        return translate.parse_jid(text)
    except (ValueError, AttributeError) as exc:
        raise checks.invalid(f"{field} is not a valid JID") from exc


def check_typing(typing_ms: int) -> None:
    if isinstance(typing_ms, bool) or not isinstance(typing_ms, int) or not 0 <= typing_ms <= MAX_TYPING_MS:
        raise checks.invalid(f"typing_ms must be from 0 to {MAX_TYPING_MS}")


class NeonizeMessaging:
    def __init__(self, ctx: EngineContext, session: Callable[[str], DeviceSession]) -> None:
        self._ctx = ctx
        self._session = session

    def session_of(self, token: str) -> DeviceSession:
        return self._session(token)

    @property
    def data_dir(self) -> Path:
        return self._ctx.settings.data_dir

    async def send_built(self, session: DeviceSession, recipient: Any, build: Build) -> tuple[Any, float]:
        """One message without a typing simulation (status posts); (SendResponse, unix time)."""
        return await self._send(session, recipient, build)

    def _cache(self, session: DeviceSession) -> MessageCache:
        return self._ctx.caches.of(session.token)

    def _quoted(self, session: DeviceSession, message_id: str | None, ref: str | None) -> Any | None:
        if message_id is None:
            return None
        held = self._cache(session).find(message_id, ref=ref, restore=session.restore)
        quoted = proto.Message.FromString(held.payload)
        source = quoted.Info.MessageSource
        if not source.SenderAlt.User:
            # neonize quotes a LID author by SenderAlt whenever the field is present, even empty.
            source.ClearField("SenderAlt")
        return quoted

    async def _chat_presence(self, session: DeviceSession, recipient: Any, state: str) -> None:
        presence, medium = _CHAT_STATES[state]
        try:
            client = session.connected_client()
            await client.send_chat_presence(recipient, presence, medium)
        except (NeonizeError, c.EngineError) as exc:
            log.info("typing indicator for %s not sent: %s", mask(session.token), exc)

    async def _send(
        self,
        session: DeviceSession,
        recipient: Any,
        build: Build,
        *,
        typing_ms: int | None = None,
        typing_state: str = "composing",
    ) -> tuple[Any, float]:
        """Builds and sends one message after the typing simulation; (SendResponse, unix time)."""
        # Sends of one device go out in request order: asyncio.Lock wakes its waiters FIFO.
        async with session.send_lock:
            try:
                message = await build(session.connected_client())
                if typing_ms is not None:
                    await self._chat_presence(session, recipient, typing_state)
                    if typing_ms:
                        await self._ctx.clock.sleep(typing_ms / 1000)
                    await self._chat_presence(session, recipient, "paused")
                response = await session.connected_client().send_message(recipient, message)
            except NeonizeError as exc:
                session.send_answered(REACHOUT_ERROR in str(exc))
                raise failure(session, "Sending the message", exc) from exc
        session.send_answered(True)
        timestamp = translate.seconds(response.Timestamp) if response.Timestamp else self._ctx.clock.time()
        return response, timestamp

    def _remember(
        self, session: DeviceSession, recipient: Any, response: Any, timestamp: float, kind: str, **extra: Any
    ) -> dict[str, Any]:
        """A sent message enters the cache the way an incoming one would, so it can be quoted or edited;
        the send's reply, with the ``ref`` the message store keeps of it."""
        me = jid(translate.bare_jid_string(session.jid), "jid") if session.jid else proto.JID()
        source = proto.MessageSource(
            Chat=recipient, Sender=me, IsFromMe=True, IsGroup=recipient.Server == GROUP_SERVER
        )
        info = proto.MessageInfo(MessageSource=source, ID=response.ID, Timestamp=int(timestamp * 1000))
        sent = translate.fill_required(proto.Message(Info=info, Message=response.Message))
        payload = sent.SerializePartialToString()
        self._cache(session).put(
            CachedMessage(
                id=str(response.ID),
                chat=translate.jid_string(recipient),
                sender=translate.jid_string(me),
                from_me=True,
                kind=kind,
                timestamp=timestamp,
                payload=payload,
                **extra,
            )
        )
        return {"id": str(response.ID), "timestamp": timestamp, "ref": payload_ref(payload)}

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
        session = self._session(token)
        recipient = jid(to, "to")
        if not isinstance(text, str) or not text:
            raise checks.invalid("text must be a non-empty string")
        check_typing(typing_ms)
        mentioned = [translate.jid_string(jid(mention, "mentions")) for mention in mentions]
        session.connected_client()
        quoted = self._quoted(session, reply_to, reply_ref)
        channel = channel_posts.is_channel(recipient)
        if channel:
            await channel_posts.require_admin(session, recipient)

        async def build(client: Any) -> Any:
            # Without mentions given, neonize mentions the @<digits> it finds in the text itself.
            content: Any = text
            if mentioned:
                content = ExtendedTextMessage(text=text, contextInfo=ContextInfo(mentionedJID=mentioned))
            if quoted is not None:
                return await client.build_reply_message(content, quoted)
            return WAMessage(extendedTextMessage=content) if mentioned else content

        typing = None if channel else typing_ms  # nobody sees anyone typing in a channel
        response, timestamp = await self._send(session, recipient, build, typing_ms=typing)
        return self._remember(session, recipient, response, timestamp, "text", text=text)

    @handles(c.CMD_SEND_MEDIA)
    async def send_media(self, token: str, to: str, media: c.OutgoingMedia, typing_ms: int) -> dict[str, Any]:
        session = self._session(token)
        recipient = jid(to, "to")
        media = dataclasses.replace(
            media, caption=checks.media_caption(media.kind, media.mimetype, media.caption)
        )
        check_typing(typing_ms)
        session.connected_client()
        if needs_ffmpeg(media) and not await asyncio.to_thread(checks.ffmpeg_available):
            raise c.EngineError(
                c.E_FFMPEG_UNAVAILABLE,
                f"sending {media.kind} needs ffmpeg and ffprobe, which are not installed",
            )
        quoted = self._quoted(session, media.reply_to, media.reply_ref)
        channel = channel_posts.is_channel(recipient)
        if channel:
            await channel_posts.require_admin(session, recipient)
        file = await asyncio.to_thread(checks.read_outgoing_media, self._ctx.settings.data_dir, media.path)

        async def build(client: Any) -> Any:
            return await build_media_message(client, media, file.data, quoted, newsletter=channel)

        state = "recording" if media.kind == "voice" else "composing"
        typing = None if channel else typing_ms
        response, timestamp = await self._send(
            session, recipient, build, typing_ms=typing, typing_state=state
        )
        info: c.MediaInfo = {"mimetype": media.mimetype, "size": len(file.data), "filename": media.filename}
        return self._remember(
            session, recipient, response, timestamp, media.kind, text=media.caption or "", media=info
        )

    @handles(c.CMD_REACT)
    async def react(
        self, token: str, chat: str, message_id: str, emoji: str, sender: str | None
    ) -> dict[str, Any]:
        session = self._session(token)
        chat_jid = jid(chat, "chat")
        checks.check_emoji(emoji)
        session.connected_client()
        cached = self._cache(session).get(message_id)
        if cached is not None and cached.in_chat(chat):
            target_chat, author = target(cached)
        elif sender:
            target_chat, author = chat_jid, jid(sender, "sender")  # told who wrote it: any message will do
        else:
            raise checks.not_found(message_id)

        async def build(client: Any) -> Any:
            return await client.build_reaction(target_chat, author, message_id, emoji)

        response, timestamp = await self._send(session, target_chat, build)
        return {"id": str(response.ID), "timestamp": timestamp}

    @handles(c.CMD_EDIT)
    async def edit(
        self, token: str, chat: str, message_id: str, text: str, ref: str | None = None
    ) -> dict[str, Any]:
        session = self._session(token)
        jid(chat, "chat")
        if not text:
            raise checks.invalid("text must be a non-empty string")
        session.connected_client()
        cache = self._cache(session)
        cached = cache.find_own(message_id, chat, ref=ref, restore=session.restore)
        checks.check_editable(cached.kind)
        target_chat, _ = target(cached)
        edited = WAMessage(conversation=text) if cached.kind == "text" else recaptioned(cached, text)

        async def build(_client: Any) -> Any:
            return build_edit(target_chat, message_id, edited)

        response, timestamp = await self._send(session, target_chat, build)
        cache.replace_text(message_id, text)
        return {"id": str(response.ID), "timestamp": timestamp}

    @handles(c.CMD_REVOKE)
    async def revoke(self, token: str, chat: str, message_id: str, ref: str | None = None) -> dict[str, Any]:
        session = self._session(token)
        jid(chat, "chat")
        session.connected_client()
        cache = self._cache(session)
        target_chat, author = target(cache.find_own(message_id, chat, ref=ref, restore=session.restore))

        async def build(_client: Any) -> Any:
            # neonize.builder's revoke, not the client's: that one asks Go for get_me(), which crashes the
            # process on a client that is not connected (docs/neonize.md §0.2). The message is known to be
            # ours, so its author is "me" even when it is our LID.
            return build_revoke(target_chat, author, message_id, author)

        response, timestamp = await self._send(session, target_chat, build)
        cache.discard(message_id)
        return {"id": str(response.ID), "timestamp": timestamp}

    @handles(c.CMD_SEND_POLL)
    async def send_poll(
        self, token: str, to: str, question: str, options: list[str], multiple: bool
    ) -> dict[str, Any]:
        session = self._session(token)
        recipient = jid(to, "to")
        checks.check_poll(question, options)
        session.connected_client()
        votes = VoteType.MULTIPLE if multiple else VoteType.SINGLE

        async def build(client: Any) -> Any:
            return await client.build_poll_vote_creation(question, list(options), votes)

        response, timestamp = await self._send(session, recipient, build)
        return self._remember(
            session,
            recipient,
            response,
            timestamp,
            "poll",
            text=question,
            poll_options=tuple(options),
            poll_multiple=multiple,
        )

    @handles(c.CMD_SET_PRESENCE)
    async def set_presence(self, token: str, to: str | None, state: str) -> None:
        session = self._session(token)
        checks.check_presence(to, state)
        client = session.connected_client()
        try:
            if to is None:
                await client.send_presence(
                    Presence.AVAILABLE if state == "available" else Presence.UNAVAILABLE
                )
            else:
                presence, medium = _CHAT_STATES[state]
                await client.send_chat_presence(jid(to, "to"), presence, medium)
        except NeonizeError as exc:
            raise failure(session, "Setting the presence", exc) from exc

    @handles(c.CMD_DOWNLOAD_MEDIA)
    async def download_media(self, token: str, message_id: str, ref: str | None = None) -> dict[str, Any]:
        session = self._session(token)
        client = session.connected_client()
        cached = self._cache(session).find(message_id, ref=ref, restore=session.restore)
        if cached.media is None:
            raise checks.invalid(f"message {message_id} has no media")
        message = incoming.downloadable(proto.Message.FromString(cached.payload).Message)
        try:
            data = await client.download_any(message)
        except DownloadError as exc:
            if any(marker in str(exc) for marker in EXPIRED_MEDIA_ERRORS):
                raise c.EngineError(
                    c.E_MESSAGE_NOT_FOUND, f"the media of message {message_id} is no longer on WhatsApp"
                ) from exc
            raise failure(session, "Downloading the media", exc) from exc
        except NeonizeError as exc:
            raise failure(session, "Downloading the media", exc) from exc
        path = checks.incoming_media_path(self._ctx.settings.data_dir, token, message_id)
        await asyncio.to_thread(checks.write_incoming_media, path, data)
        return {
            "path": str(path),
            "mimetype": cached.media["mimetype"],
            "filename": cached.media["filename"],
            "size": len(data),
        }

    @handles(c.CMD_REJECT_CALL)
    async def reject_call(self, token: str, caller: str, call_id: str) -> None:
        session = self._session(token)
        # whatsmeow must be given the caller exactly as the offer named it, which may be a LID.
        caller_jid = session.callers.get(call_id) or jid(caller, "from")
        client = session.connected_client()
        try:
            await client.reject_call(caller_jid, call_id)
        except NeonizeError as exc:
            raise failure(session, "Rejecting the call", exc) from exc
