"""What others do to a device's messages, and calls, reach webhooks and WebSocket subscribers:
message.reaction, message.edited, message.revoked, message.poll_vote, call.offer and automatic rejection."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from .conftest import SettingsFactory
from .harness import WsListener, api
from .messaging_harness import GROUP, PEER, PEER_JID, TOKEN, incoming, linked_gateway, send_text, sent_log
from .webhooks.webhook_harness import Receiver, eventually

pytestmark = pytest.mark.slow

ACTION_EVENTS = ["message.reaction", "message.edited", "message.revoked", "message.poll_vote"]


def events(receiver: Receiver, name: str) -> list[dict[str, Any]]:
    return [r.payload for r in receiver.delivered() if r.payload["event"] == name]


async def test_reactions_edits_revokes_and_votes_arrive(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, aiohttp_server)
    client, receiver = linked.client, linked.receiver
    assert receiver is not None
    subscriber = await WsListener.open(client, subscribe={"events": ACTION_EVENTS})
    mine = await send_text(client)
    theirs = await incoming(client, {"text": "typo hre"})
    status, body = await api(
        client,
        "POST",
        "/polls",
        {"token": TOKEN, "to": GROUP, "question": "When?", "options": ["Mon", "Tue"]},
    )
    assert status == 200, body
    poll_id = body["data"]["messageId"]

    control = f"/sandbox/devices/{TOKEN}"
    steps = [
        (f"{control}/reactions", {"from": PEER, "targetId": mine, "emoji": "❤️"}),
        (f"{control}/reactions", {"from": PEER, "targetId": mine, "emoji": ""}),
        (f"{control}/edits", {"from": PEER, "targetId": theirs, "text": "typo here"}),
        (f"{control}/revokes", {"from": PEER, "targetId": theirs}),
        (f"{control}/poll-votes", {"from": PEER, "pollId": poll_id, "options": ["Tue"], "chat": GROUP}),
    ]
    for path, body_in in steps:
        status, body = await api(client, "POST", path, body_in)
        assert status == 200, (path, body)
    status, body = await api(
        client, "POST", f"{control}/reactions", {"from": PEER, "targetId": mine, "emoji": "a b"}
    )
    assert (status, body["error"]["code"]) == (400, "INVALID_REQUEST")

    await eventually(lambda: len(events(receiver, "message.poll_vote")) == 1, what="the poll vote webhook")
    reactions = [e["data"] for e in events(receiver, "message.reaction")]
    assert [(r["targetId"], r["emoji"]) for r in reactions] == [(mine, "❤️"), (mine, "")]
    assert set(reactions[0]) == {
        "id",
        "chat",
        "from",
        "targetId",
        "emoji",
        "isGroup",
        "isNewsletter",
        "timestamp",
    }
    assert reactions[0]["isNewsletter"] is False
    assert (reactions[0]["from"], reactions[0]["chat"], reactions[0]["isGroup"]) == (
        PEER_JID,
        PEER_JID,
        False,
    )
    assert reactions[0]["timestamp"].endswith("Z")
    (edited,) = [e["data"] for e in events(receiver, "message.edited")]
    assert (edited["id"], edited["text"], edited["from"]) == (theirs, "typo here", PEER_JID)
    (revoked,) = [e["data"] for e in events(receiver, "message.revoked")]
    assert (revoked["id"], revoked["from"]) == (theirs, PEER_JID)
    (vote,) = [e["data"] for e in events(receiver, "message.poll_vote")]
    assert (vote["pollId"], vote["options"], vote["chat"], vote["isGroup"]) == (poll_id, ["Tue"], GROUP, True)

    # WebSocket subscribers get the same events, with the same ids, in order.
    webhook_ids = [r.payload["id"] for r in receiver.delivered() if r.payload["event"] in ACTION_EVENTS]
    order = ["message.reaction", "message.reaction", "message.edited", "message.revoked", "message.poll_vote"]
    seen = [await subscriber.next(name, TOKEN) for name in order]
    assert [e["id"] for e in seen] == webhook_ids
    await subscriber.close()
    await linked.close()


async def test_calls_are_reported_and_rejected_when_asked(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(
        aiohttp_client,
        make_settings,
        aiohttp_server,
        AUTO_REJECT_CALLS="true",
        AUTO_REJECT_CALLS_MESSAGE="I can't take calls here, please write.",
    )
    client, receiver = linked.client, linked.receiver
    assert receiver is not None
    status, body = await api(client, "POST", f"/sandbox/devices/{TOKEN}/calls", {"from": PEER, "video": True})
    assert status == 200, body
    call_id = body["data"]["callId"]
    await eventually(lambda: events(receiver, "call.offer"), what="call.offer")
    (offer,) = [e["data"] for e in events(receiver, "call.offer")]
    assert offer["from"] == PEER_JID and offer["callId"] == call_id
    assert (offer["isVideo"], offer["isGroup"], offer["rejected"]) == (True, False, True)

    async def replied() -> bool:
        return bool((await sent_log(client))["messages"])

    await eventually(replied, what="the reply to the caller")
    log = await sent_log(client)
    assert [(c["from"], c["callId"]) for c in log["rejectedCalls"]] == [(PEER_JID, call_id)]
    (reply,) = log["messages"]
    assert (reply["to"], reply["text"]) == (PEER_JID, "I can't take calls here, please write.")
    await linked.close()


async def test_calls_ring_through_by_default(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, aiohttp_server)
    client, receiver = linked.client, linked.receiver
    assert receiver is not None
    status, body = await api(client, "POST", f"/sandbox/devices/{TOKEN}/calls", {"from": PEER})
    assert status == 200, body
    await eventually(lambda: events(receiver, "call.offer"), what="call.offer")
    (offer,) = [e["data"] for e in events(receiver, "call.offer")]
    assert (offer["isVideo"], offer["rejected"]) == (False, False)
    log = await sent_log(client)
    assert (log["rejectedCalls"], log["messages"]) == ([], [])
    await linked.close()
