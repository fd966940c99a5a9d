"""What a neonize device asks and changes about WhatsApp channels (newsletters) (docs/channels.md).

Each command is one or two calls of neonize's async client (neonize/aioze/client.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from neonize.exc import NeonizeError  # type: ignore[import-untyped]

from wa_gateway.backends.neonize import channel_posts as posts
from wa_gateway.backends.neonize import events as translate
from wa_gateway.backends.neonize.channel_posts import refusal
from wa_gateway.backends.neonize.outbound import jid
from wa_gateway.backends.neonize.send_errors import failure
from wa_gateway.backends.neonize.session import DeviceSession
from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks
from wa_gateway.worker.handlers import handles

# waProto NewsletterRole and NewsletterMuteState values (Neonize.proto).
ROLES: Final = {1: "subscriber", 2: "guest", 3: "admin", 4: "owner"}
MUTE_ON: Final = 1


def channel_jid(text: str, field: str = "jid") -> Any:
    parsed = jid(text, field)
    if not posts.is_channel(parsed):
        raise checks.invalid(f"{field} must be a channel JID (…@newsletter)")
    return parsed


def channel_of(meta: Any) -> c.Newsletter:
    thread, viewer = meta.ThreadMeta, meta.ViewerMeta
    following = meta.HasField("ViewerMeta") and int(viewer.Role) in ROLES
    return {
        "jid": translate.jid_string(meta.ID),
        "name": str(thread.Name.Text),
        "description": str(thread.Description.Text),
        "subscribers": int(thread.SubscriberCount),
        "role": ROLES[int(viewer.Role)] if following else None,
        "muted": following and int(viewer.Mute) == MUTE_ON,
        "invite": str(thread.InviteCode),
    }


class NeonizeChannels:
    def __init__(self, session: Callable[[str], DeviceSession]) -> None:
        self._session = session

    @handles(c.CMD_LIST_NEWSLETTERS)
    async def list_newsletters(self, token: str) -> list[c.Newsletter]:
        session = self._session(token)
        client = session.connected_client()
        try:
            found = await client.get_subscribed_newletters()  # sic: neonize's name
        except NeonizeError as exc:
            raise failure(session, "Listing the channels", exc) from exc
        return [channel_of(meta) for meta in found]

    async def _info(self, session: DeviceSession, target: Any) -> c.Newsletter:
        return channel_of(await posts.metadata(session, target))

    @handles(c.CMD_NEWSLETTER_INFO)
    async def newsletter_info(self, token: str, newsletter: str) -> c.Newsletter:
        session = self._session(token)
        target = channel_jid(newsletter)
        session.connected_client()
        return await self._info(session, target)

    @handles(c.CMD_FOLLOW_NEWSLETTER)
    async def follow_newsletter(self, token: str, newsletter: str | None, invite: str | None) -> c.Newsletter:
        session = self._session(token)
        if (newsletter is None) == (invite is None):
            raise checks.invalid("give jid or invite, not both")
        client = session.connected_client()
        if invite is not None:
            try:
                found = await client.get_newsletter_info_with_invite(invite)
            except NeonizeError as exc:
                raise refusal(session, "Reading the invite", exc, c.E_INVITE_INVALID) from exc
            if not found.ID.User:
                raise c.EngineError(c.E_INVITE_INVALID, "the invite leads to no channel")
            target = found.ID
        else:
            target = channel_jid(newsletter or "")
        # An invite's answer never says whether the device follows (whatsmeow GetNewsletterInfoWithInvite
        # leaves ViewerMeta nil), so the channel itself is asked.
        # A guest sees a channel without following it (whatsmeow NewsletterRoleGuest).
        if channel_of(await posts.metadata(session, target))["role"] not in (None, "guest"):
            raise c.EngineError(c.E_ALREADY_MEMBER, "the device already follows the channel")
        try:
            await client.follow_newsletter(target)
        except NeonizeError as exc:
            raise refusal(session, "Following the channel", exc) from exc
        return await self._info(session, target)

    @handles(c.CMD_UNFOLLOW_NEWSLETTER)
    async def unfollow_newsletter(self, token: str, newsletter: str) -> None:
        session = self._session(token)
        target = channel_jid(newsletter)
        client = session.connected_client()
        try:
            await client.unfollow_newsletter(target)
        except NeonizeError as exc:
            raise refusal(session, "Unfollowing the channel", exc) from exc

    @handles(c.CMD_CREATE_NEWSLETTER)
    async def create_newsletter(self, token: str, name: str, description: str | None) -> c.Newsletter:
        session = self._session(token)
        if not name.strip() or len(name) > 100:
            raise checks.invalid("name must be 1 to 100 characters")
        client = session.connected_client()
        try:
            # No picture: neonize passes bytes through as they are (utils/iofile.py).
            meta = await client.create_newsletter(name, description or "", b"")
        except NeonizeError as exc:
            raise failure(session, "Creating the channel", exc) from exc
        return channel_of(meta)

    @handles(c.CMD_MUTE_NEWSLETTER)
    async def mute_newsletter(self, token: str, newsletter: str, muted: bool) -> None:
        session = self._session(token)
        target = channel_jid(newsletter)
        client = session.connected_client()
        try:
            await client.newsletter_toggle_mute(target, muted)
        except NeonizeError as exc:
            raise refusal(session, "Muting the channel", exc) from exc

    @handles(c.CMD_NEWSLETTER_MESSAGES)
    async def newsletter_messages(
        self, token: str, newsletter: str, count: int, before: int | None
    ) -> list[c.NewsletterPost]:
        session = self._session(token)
        target = channel_jid(newsletter)
        client = session.connected_client()
        try:
            # whatsmeow leaves out a zero before: the newest posts (newsletter.go GetNewsletterMessages).
            found = await client.get_newsletter_messages(target, count, before or 0)
        except NeonizeError as exc:
            raise refusal(session, "Reading the channel's posts", exc) from exc
        listed = sorted((posts.post_of(message) for message in found), key=lambda p: -p["serverId"])
        return listed[:count]
