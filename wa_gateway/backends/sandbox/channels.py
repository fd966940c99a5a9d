"""Channels (newsletters) in the sandbox: one simulated set of channels, kept in
``DATA_DIR/sandbox/newsletters.json`` so they outlive a restart like sessions do (docs/channels.md).

WhatsApp's rules hold: anyone follows a channel by its id or its invite; its owner cannot unfollow it; only
followers mute it; only its owner and admins post; a post reaches every connected follower as a message
with ``isNewsletter``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from wa_gateway.backends.sandbox import channel_posts as posts
from wa_gateway.backends.sandbox import media_server, refs
from wa_gateway.backends.sandbox.args import arg_text, check_jid, optional_text
from wa_gateway.backends.sandbox.device import SandboxHost
from wa_gateway.backends.sandbox.ids import message_id
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks
from wa_gateway.worker.handlers import handles
from wa_gateway.worker.message_cache import CachedMessage

ControlOp = Callable[[dict[str, Any]], Awaitable[Any]]
FILE: Final = Path("sandbox", "newsletters.json")
SERVER: Final = "@newsletter"
MAX_NAME_CHARS: Final = 100
MAX_DESCRIPTION_CHARS: Final = 2048

ADMIN_ROLES: Final = frozenset({"owner", "admin"})

Channel = posts.Channel


def _not_found(jid: str) -> c.EngineError:
    return c.EngineError(c.E_NEWSLETTER_NOT_FOUND, f"no channel {jid}")


def _check_channel(jid: str, key: str = "jid") -> str:
    check_jid(jid, key)
    if not jid.endswith(SERVER):
        raise checks.invalid(f"{key} must be a channel JID (…@newsletter)")
    return jid


def _check_name(name: str, description: str | None) -> None:
    if not name.strip() or len(name) > MAX_NAME_CHARS:
        raise checks.invalid(f"name must be 1 to {MAX_NAME_CHARS} characters")
    if description is not None and len(description) > MAX_DESCRIPTION_CHARS:
        raise checks.invalid(f"description must be at most {MAX_DESCRIPTION_CHARS} characters")


def _read(path: Path) -> dict[str, Channel]:
    try:
        loaded = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _write(path: Path, channels: dict[str, Channel]) -> None:
    """Written to a temporary file, then renamed: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(channels))
    os.replace(temporary, path)


class SandboxChannels:
    def __init__(self, host: SandboxHost) -> None:
        self._host = host
        self._path = host.data_dir / FILE
        self._lock = asyncio.Lock()

    def operations(self) -> dict[str, ControlOp]:
        return {
            "newsletter_create": self._op_create,
            "newsletter_post": self._op_post,
            "newsletter_reaction": self._op_reaction,
        }

    async def _load(self) -> dict[str, Channel]:
        return await asyncio.to_thread(_read, self._path)

    async def _save(self, channels: dict[str, Channel]) -> None:
        await asyncio.to_thread(_write, self._path, channels)

    @staticmethod
    def _view(jid: str, channel: Channel, token: str) -> c.Newsletter:
        mine = channel["followers"].get(token)
        return {
            "jid": jid,
            "name": channel["name"],
            "description": channel["description"],
            "subscribers": len(channel["followers"]),
            "role": mine["role"] if mine else None,
            "muted": bool(mine and mine["muted"]),
            "invite": channel["invite"],
        }

    def _new(self, channels: dict[str, Channel], name: str, description: str, owner: str | None) -> str:
        jid = f"120363{secrets.randbelow(10**12):012d}{SERVER}"
        followers = {owner: {"role": "owner", "muted": False}} if owner else {}
        invite = secrets.token_urlsafe(16)[:22]
        channels[jid] = {"name": name, "description": description, "invite": invite, "followers": followers}
        return jid

    async def require_admin(self, token: str, jid: str) -> None:
        self._admin_of(await self._load(), token, jid)

    @staticmethod
    def _admin_of(channels: dict[str, Channel], token: str, jid: str) -> Channel:
        channel = channels.get(jid)
        if channel is None:
            raise _not_found(jid)
        mine = channel["followers"].get(token)
        if mine is None or mine["role"] not in ADMIN_ROLES:
            raise c.EngineError(c.E_NOT_CHANNEL_ADMIN, "only the channel's owner and admins can post")
        return channel

    async def publish(self, token: str, message: CachedMessage) -> None:
        """A post the device sent to its channel (``message.chat``), kept and delivered to the others."""
        async with self._lock:
            channels = await self._load()
            post = posts.new_post(self._admin_of(channels, token, message.chat), message)
            await self._deliver(channels, message.chat, post, message.payload, author=token)

    async def _deliver(
        self, channels: dict[str, Channel], jid: str, post: posts.Post, payload: bytes, author: str = ""
    ) -> list[str]:
        """Every connected follower but the author receives the post; each counts as a view."""
        delivered = []
        # A media post's payload is the file's SHA-256 on the media server, kept per device (media_server.py):
        # each follower gets its own copy there, so its download works like any received media.
        data_dir, sha256 = self._host.data_dir, payload.decode()
        data = await asyncio.to_thread(media_server.fetch, data_dir, author, sha256) if author else None
        for token in sorted(channels[jid]["followers"]):
            if token == author or not self._is_connected(token):
                continue
            if data is not None:
                await asyncio.to_thread(media_server.keep, data_dir, token, sha256, data)
            held = posts.cached(jid, post, payload)
            self._host.caches.of(token).put(held)
            self._host.emit(token, c.EV_MESSAGE, dict(posts.received(jid, post, refs.ref_of(held))))
            delivered.append(token)
        post["views"] += len(delivered)
        await self._save(channels)
        return delivered

    def _is_connected(self, token: str) -> bool:
        try:
            self._host.connected(token)
        except c.EngineError:
            return False
        return True

    @handles(c.CMD_LIST_NEWSLETTERS)
    async def list_newsletters(self, token: str) -> list[c.Newsletter]:
        self._host.connected(token)
        channels = await self._load()
        return [self._view(jid, ch, token) for jid, ch in channels.items() if token in ch["followers"]]

    @handles(c.CMD_NEWSLETTER_INFO)
    async def newsletter_info(self, token: str, newsletter: str) -> c.Newsletter:
        self._host.connected(token)
        channel = (await self._load()).get(_check_channel(newsletter))
        if channel is None:
            raise _not_found(newsletter)
        return self._view(newsletter, channel, token)

    @handles(c.CMD_FOLLOW_NEWSLETTER)
    async def follow_newsletter(self, token: str, newsletter: str | None, invite: str | None) -> c.Newsletter:
        self._host.connected(token)
        if (newsletter is None) == (invite is None):
            raise checks.invalid("give jid or invite, not both")
        async with self._lock:
            channels = await self._load()
            if newsletter is not None:
                jid = _check_channel(newsletter)
                if jid not in channels:
                    raise _not_found(jid)
            else:
                jid = next((j for j, ch in channels.items() if ch["invite"] == invite), "")
                if not jid:
                    raise c.EngineError(c.E_INVITE_INVALID, "no channel has this invite (any more)")
            channel = channels[jid]
            if token in channel["followers"]:
                raise c.EngineError(c.E_ALREADY_MEMBER, f"the device already follows {jid}")
            channel["followers"][token] = {"role": "subscriber", "muted": False}
            await self._save(channels)
        return self._view(jid, channel, token)

    @handles(c.CMD_UNFOLLOW_NEWSLETTER)
    async def unfollow_newsletter(self, token: str, newsletter: str) -> None:
        self._host.connected(token)
        async with self._lock:
            channels = await self._load()
            channel = channels.get(_check_channel(newsletter))
            mine = channel["followers"].get(token) if channel is not None else None
            if channel is None or mine is None:
                raise _not_found(newsletter)
            if mine["role"] == "owner":
                raise checks.invalid("the owner of a channel cannot unfollow it")
            del channel["followers"][token]
            await self._save(channels)

    @handles(c.CMD_CREATE_NEWSLETTER)
    async def create_newsletter(self, token: str, name: str, description: str | None) -> c.Newsletter:
        self._host.connected(token)
        _check_name(name, description)
        async with self._lock:
            channels = await self._load()
            jid = self._new(channels, name, description or "", token)
            await self._save(channels)
        return self._view(jid, channels[jid], token)

    @handles(c.CMD_MUTE_NEWSLETTER)
    async def mute_newsletter(self, token: str, newsletter: str, muted: bool) -> None:
        self._host.connected(token)
        async with self._lock:
            channels = await self._load()
            channel = channels.get(_check_channel(newsletter))
            mine = channel["followers"].get(token) if channel is not None else None
            if mine is None:
                raise _not_found(newsletter)
            mine["muted"] = muted
            await self._save(channels)

    @handles(c.CMD_NEWSLETTER_MESSAGES)
    async def newsletter_messages(
        self, token: str, newsletter: str, count: int, before: int | None
    ) -> list[c.NewsletterPost]:
        self._host.connected(token)
        channel = (await self._load()).get(_check_channel(newsletter))
        if channel is None:
            raise _not_found(newsletter)
        return posts.page(channel, count, before)

    # --- control operations ------------------------------------------------------------------------

    async def _op_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = arg_text(args, "name")
        description = optional_text(args, "description") or ""
        _check_name(name, description)
        async with self._lock:
            channels = await self._load()
            jid = self._new(channels, name, description, None)
            await self._save(channels)
        return {"jid": jid, "invite": channels[jid]["invite"]}

    async def _op_post(self, args: dict[str, Any]) -> dict[str, Any]:
        """A post in the channel by its (simulated) owner: each connected follower receives it."""
        jid = _check_channel(arg_text(args, "jid"))
        text = arg_text(args, "text")
        message = CachedMessage(
            id=optional_text(args, "id") or message_id(),
            chat=jid,
            sender=jid,
            from_me=False,
            kind="text",
            timestamp=self._host.clock.time(),
            text=text,
        )
        async with self._lock:
            channels = await self._load()
            if jid not in channels:
                raise _not_found(jid)
            post = posts.new_post(channels[jid], message)
            delivered = await self._deliver(channels, jid, post, b"")
        return {"id": post["id"], "serverId": post["serverId"], "delivered": delivered}

    async def _op_reaction(self, args: dict[str, Any]) -> dict[str, Any]:
        """Someone reacts to a post: its count changes, and each connected follower hears of it."""
        jid = _check_channel(arg_text(args, "jid"))
        server_id = args.get("serverId")
        if not isinstance(server_id, int) or isinstance(server_id, bool):
            raise checks.invalid("serverId must be the serverId of a post")
        emoji = arg_text(args, "emoji")
        checks.check_emoji(emoji)
        async with self._lock:
            channels = await self._load()
            channel = channels.get(jid)
            post = posts.find_post(channel, server_id) if channel is not None else None
            if channel is None or post is None:
                raise _not_found(f"{jid} post {server_id}")
            post["reactions"][emoji] = post["reactions"].get(emoji, 0) + 1
            await self._save(channels)
            followers = sorted(channel["followers"])
        reaction: c.Reaction = {
            "id": message_id(),
            "chat": jid,
            "from": jid,
            "targetId": post["id"],
            "emoji": emoji,
            "timestamp": self._host.clock.time(),
            "isGroup": False,
            "senderPhone": "",
            "isNewsletter": True,
        }
        delivered = [token for token in followers if self._is_connected(token)]
        for token in delivered:
            self._host.emit(token, c.EV_REACTION, dict(reaction))
        return {"id": reaction["id"], "delivered": delivered}
