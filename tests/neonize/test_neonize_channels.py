"""Channels through the neonize backend, against the fake Go functions (channel_fakes.py)."""

from __future__ import annotations

from typing import Any

import pytest
from neonize.proto import Neonize_pb2 as P

from tests.neonize.channel_fakes import channel
from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.engine import contract as c

DAILY = "120363111111111111@newsletter"


async def code_of(awaitable: Any) -> str:
    with pytest.raises(c.EngineError) as info:
        await awaitable
    return info.value.code


async def test_follow_by_invite_mute_and_unfollow(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo
) -> None:
    fake_go.channels["120363111111111111"] = channel(
        "120363111111111111", "Daily", "DailyInvite1", subscribers=42
    )
    info = await backend.handler(c.CMD_NEWSLETTER_INFO)(TOKEN, DAILY)
    assert info == {
        "jid": DAILY,
        "name": "Daily",
        "description": "About Daily",
        "subscribers": 42,
        "role": None,
        "muted": False,
        "invite": "DailyInvite1",
    }
    followed = await backend.handler(c.CMD_FOLLOW_NEWSLETTER)(TOKEN, None, "DailyInvite1")
    assert (followed["jid"], followed["role"]) == (DAILY, "subscriber")
    (follow,) = fake_go.called("FollowNewsletter")
    assert P.JID.FromString(follow.args[1]).User == "120363111111111111"
    assert [n["jid"] for n in await backend.handler(c.CMD_LIST_NEWSLETTERS)(TOKEN)] == [DAILY]

    await backend.handler(c.CMD_MUTE_NEWSLETTER)(TOKEN, DAILY, True)
    assert fake_go.called("NewsletterToggleMute")[0].args[3] is True
    assert (await backend.handler(c.CMD_NEWSLETTER_INFO)(TOKEN, DAILY))["muted"] is True

    # Following again is refused before anything is asked of WhatsApp, by the invite or by the jid: the
    # invite's answer has no ViewerMeta, so the channel itself says the device follows it.
    follow = backend.handler(c.CMD_FOLLOW_NEWSLETTER)
    assert await code_of(follow(TOKEN, None, "DailyInvite1")) == c.E_ALREADY_MEMBER
    assert await code_of(follow(TOKEN, DAILY, None)) == c.E_ALREADY_MEMBER
    assert len(fake_go.called("FollowNewsletter")) == 1

    await backend.handler(c.CMD_UNFOLLOW_NEWSLETTER)(TOKEN, DAILY)
    assert await backend.handler(c.CMD_LIST_NEWSLETTERS)(TOKEN) == []


async def test_create_and_refusals(backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo) -> None:
    created = await backend.handler(c.CMD_CREATE_NEWSLETTER)(TOKEN, "Shop", "Deals")
    assert (created["name"], created["description"], created["role"]) == ("Shop", "Deals", "owner")
    (create,) = fake_go.called("CreateNewsletter")
    params = P.CreateNewsletterParams.FromString(create.args[1])
    assert (params.Name, params.Description, params.Picture) == ("Shop", "Deals", b"")
    unknown = "120363999999999999@newsletter"
    assert await code_of(backend.handler(c.CMD_NEWSLETTER_INFO)(TOKEN, unknown)) == c.E_NEWSLETTER_NOT_FOUND
    assert (
        await code_of(backend.handler(c.CMD_FOLLOW_NEWSLETTER)(TOKEN, unknown, None))
        == c.E_NEWSLETTER_NOT_FOUND
    )
    # An invite that leads nowhere: reset by the owner, or never made.
    assert (
        await code_of(backend.handler(c.CMD_FOLLOW_NEWSLETTER)(TOKEN, None, "Nope123")) == c.E_INVITE_INVALID
    )
    follow = backend.handler(c.CMD_FOLLOW_NEWSLETTER)
    assert await code_of(follow(TOKEN, DAILY, "DailyInvite1")) == c.E_INVALID_ARGUMENT
    assert await code_of(follow(TOKEN, "120363025246125486@g.us", None)) == c.E_INVALID_ARGUMENT
    assert await code_of(backend.handler(c.CMD_CREATE_NEWSLETTER)(TOKEN, " ", None)) == c.E_INVALID_ARGUMENT
