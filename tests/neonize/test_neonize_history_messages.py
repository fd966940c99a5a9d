"""History-sync messages through the neonize backend: whatsmeow's HistorySync blob, built from the real
protobuf classes neonize ships, becomes the ``messages`` of EV_HISTORY_SYNC (docs/messages.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from neonize.proto import Neonize_pb2 as P
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ExtendedTextMessage, ImageMessage, ReactionMessage
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.proto.waHistorySync.WAWebProtobufsHistorySync_pb2 import (
    Conversation,
    HistorySync,
    HistorySyncMsg,
)
from neonize.proto.waWeb.WAWebProtobufsWeb_pb2 import WebMessageInfo

from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession, Recorder, make_paired_db
from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize import session as neonize_session
from wa_gateway.backends.neonize.engine import NeonizeBackend

ALICE = "15557654321@s.whatsapp.net"
GROUP = "120363025246125486@g.us"
BOB_LID = "987654321012345@lid"


@pytest.fixture
async def online(
    backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder, session_db: Path
) -> AsyncIterator[FakeSession]:
    make_paired_db(session_db)
    fake_go.accounts[str(session_db)] = (TOKEN, "Shop")
    await backend.connect(TOKEN, "restore", "")
    session = await fake_go.next_session()
    await recorder.wait_for("connected")
    yield session


def entry(chat: str, mid: str, message: WAMessage, *, from_me: bool = False, participant: str = "",
          stamp: int = 1_700_000_000, push: str = "") -> HistorySyncMsg:  # fmt: skip
    key = MessageKey(remoteJID=chat, fromMe=from_me, ID=mid, participant=participant)
    info = WebMessageInfo(key=key, message=message, messageTimestamp=stamp, pushName=push)
    return HistorySyncMsg(message=info)


async def send(session: FakeSession, code: int, event: Any) -> None:
    await asyncio.to_thread(session.event, code, event)


async def test_history_messages_of_chats_and_groups_are_emitted(
    online: FakeSession, recorder: Recorder
) -> None:
    photo = WAMessage(imageMessage=ImageMessage(caption="look", mimetype="image/jpeg", fileLength=2048))
    quoted = WAMessage(extendedTextMessage=ExtendedTextMessage(text="and you?"))
    quoted.extendedTextMessage.contextInfo.stanzaID = "A1"
    data = HistorySync(
        syncType=HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
        conversations=[
            Conversation(
                ID=ALICE,
                name="Alice",
                messages=[
                    entry(ALICE, "A1", WAMessage(conversation="hi"), push="Ali"),
                    entry(ALICE, "A2", quoted, from_me=True, stamp=1_700_000_060),
                    # A reaction is not a message of its own.
                    entry(ALICE, "A3", WAMessage(reactionMessage=ReactionMessage(text="👍"))),
                ],
            ),
            Conversation(ID=GROUP, messages=[entry(GROUP, "G1", photo, participant=BOB_LID)]),
            Conversation(
                ID="status@broadcast", messages=[entry("status@broadcast", "S1", WAMessage(conversation="x"))]
            ),
        ],
    )
    await send(online, nc.HISTORY_SYNC, P.HistorySync(Data=data))
    sync = await recorder.wait_for("history_sync")
    assert sync["contacts"] == [{"phone": "15557654321", "name": "Alice"}]
    by_id = {m["id"]: m for m in sync["messages"]}
    assert list(by_id) == ["A1", "A2", "G1"]
    assert all(m.pop("ref") for m in by_id.values())  # test_neonize_stored_messages.py acts on them
    assert by_id["A1"] == {
        "id": "A1",
        "from": ALICE,
        "chat": ALICE,
        "pushName": "Ali",
        "text": "hi",
        "type": "text",
        "timestamp": 1_700_000_000.0,
        "isGroup": False,
        "fromMe": False,
        "senderPhone": "15557654321",
        "caption": None,
        "media": None,
        "replyTo": None,
        "mentions": [],
    }
    mine = by_id["A2"]
    assert mine["fromMe"] is True and mine["from"] == f"{TOKEN}@s.whatsapp.net" and mine["replyTo"] == "A1"
    group = by_id["G1"]
    assert group["isGroup"] is True and group["from"] == BOB_LID and group["chat"] == GROUP
    assert group["type"] == "image" and group["caption"] == "look"
    assert group["media"] == {"mimetype": "image/jpeg", "size": 2048, "filename": None}


async def test_a_long_history_goes_out_in_slices(
    online: FakeSession, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(neonize_session, "HISTORY_SLICE", 2)
    messages = [
        entry(ALICE, f"M{i}", WAMessage(conversation=str(i)), stamp=1_700_000_000 + i) for i in range(5)
    ]
    data = HistorySync(conversations=[Conversation(ID=ALICE, messages=messages)])
    await send(online, nc.HISTORY_SYNC, P.HistorySync(Data=data))
    await recorder.wait_for("history_sync", count=3)
    slices = [[m["id"] for m in sync["messages"]] for sync in recorder.of("history_sync")]
    assert slices == [["M0", "M1"], ["M2", "M3"], ["M4"]]
