"""The sandbox beyond text: everything a device sends lands in its sent log and its message cache."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from wa_gateway.backends.sandbox.engine import SandboxBackend
from wa_gateway.clock import ManualClock
from wa_gateway.engine import contract as c

from .conftest import EventRecorder, advance
from .sandbox_helpers import ALICE, GROUP, NOW, TOKEN, code_of, linked, media_file, sent_log


@pytest.fixture
async def device(sandbox: SandboxBackend) -> SandboxBackend:
    await linked(sandbox)
    return sandbox


async def test_replies_and_mentions_are_recorded(device: SandboxBackend, recorder: EventRecorder) -> None:
    incoming = await device.control("message", {"token": TOKEN, "from": "628111", "text": "lunch?"})
    first = await device.handler(c.CMD_SEND_TEXT)(
        TOKEN, ALICE, "yes @628222", 0, reply_to=incoming["id"], mentions=["628222@s.whatsapp.net"]
    )
    await device.handler(c.CMD_SEND_TEXT)(
        TOKEN, ALICE, "see above", 0, reply_to=first["id"]
    )  # own messages can be quoted
    messages = (await sent_log(device))["messages"]
    assert [(m["kind"], m.get("replyTo"), m.get("mentions")) for m in messages] == [
        ("text", incoming["id"], ["628222@s.whatsapp.net"]),
        ("text", first["id"], None),
    ]
    assert (
        await code_of(device.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "x", 0, reply_to="NOPE"))
        == c.E_MESSAGE_NOT_FOUND
    )
    assert (
        await code_of(device.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "x", 0, mentions=["628222"]))
        == c.E_INVALID_ARGUMENT
    )
    assert await code_of(device.handler(c.CMD_SEND_TEXT)(TOKEN, "not a jid", "x", 0)) == c.E_INVALID_ARGUMENT
    assert len((await sent_log(device))["messages"]) == 2


async def test_media_is_recorded_with_its_hash_after_typing(
    device: SandboxBackend, clock: ManualClock, tmp_path: Path
) -> None:
    data = b"\x89PNG fake image"
    path = media_file(tmp_path, "up1", data)
    media = c.OutgoingMedia("image", path, "image/png", filename="cat.png", caption="my cat")
    sending = asyncio.create_task(device.handler(c.CMD_SEND_MEDIA)(TOKEN, GROUP, media, 1500))
    await advance(clock, 1.5)
    result = await sending
    voice = c.OutgoingMedia("voice", media_file(tmp_path, "up2", b"OggS voice"), "audio/ogg; codecs=opus")
    await device.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE, voice, 0)
    image_entry, voice_entry = (await sent_log(device))["messages"]
    assert image_entry["id"] == result["id"]
    assert {
        key: image_entry[key] for key in ("to", "kind", "mimetype", "filename", "caption", "size", "sha256")
    } == {
        "to": GROUP,
        "kind": "image",
        "mimetype": "image/png",
        "filename": "cat.png",
        "caption": "my cat",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert image_entry["text"] == "my cat" and image_entry["presence"] == ["composing", "paused"]
    assert image_entry["presenceAt"][1] - image_entry["presenceAt"][0] == pytest.approx(1.5)
    assert (voice_entry["kind"], voice_entry["caption"], voice_entry["presence"]) == (
        "voice",
        None,
        ["recording", "paused"],
    )
    assert path.exists(), "the gateway removes the file, not the engine"


async def test_media_that_cannot_be_sent(device: SandboxBackend, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"secret")
    good = media_file(tmp_path, "ok", b"data")
    cases = [
        (
            c.OutgoingMedia("image", tmp_path / "data/media/outgoing/missing", "image/png"),
            c.E_INVALID_ARGUMENT,
        ),
        (c.OutgoingMedia("image", outside, "image/png"), c.E_INVALID_ARGUMENT),
        (
            c.OutgoingMedia("image", tmp_path / "data/media/outgoing/../../secret.txt", "image/png"),
            c.E_INVALID_ARGUMENT,
        ),
        (c.OutgoingMedia("gif", good, "image/gif"), c.E_INVALID_ARGUMENT),  # type: ignore[arg-type]
        (c.OutgoingMedia("image", good, "png"), c.E_INVALID_ARGUMENT),
        (c.OutgoingMedia("sticker", good, "image/webp", caption="no"), c.E_INVALID_ARGUMENT),
        (c.OutgoingMedia("voice", good, "audio/mpeg"), c.E_INVALID_ARGUMENT),
        (c.OutgoingMedia("image", media_file(tmp_path, "empty", b""), "image/png"), c.E_INVALID_ARGUMENT),
        (c.OutgoingMedia("image", good, "image/png", reply_to="NOPE"), c.E_MESSAGE_NOT_FOUND),
    ]
    for media, code in cases:
        assert await code_of(device.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE, media, 0)) == code, media
    assert (await sent_log(device))["messages"] == []


async def test_reactions_edits_and_revokes(device: SandboxBackend) -> None:
    own = await device.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "see you at 2", 0)
    theirs = await device.control("message", {"token": TOKEN, "from": "628111", "text": "ok"})
    await device.handler(c.CMD_REACT)(TOKEN, ALICE, theirs["id"], "👍", None)
    await device.handler(c.CMD_REACT)(TOKEN, ALICE, own["id"], "", None)
    await device.handler(c.CMD_REACT)(
        TOKEN, ALICE, "OLD", "🎉", ALICE
    )  # told its author: a message before the cache
    edited = await device.handler(c.CMD_EDIT)(TOKEN, ALICE, own["id"], "see you at 3")
    revoked = await device.handler(c.CMD_REVOKE)(TOKEN, ALICE, own["id"])
    assert edited["id"] != revoked["id"]
    entries = (await sent_log(device))["messages"][1:]
    assert [(m["kind"], m.get("targetId"), m.get("emoji"), m["text"]) for m in entries] == [
        ("reaction", theirs["id"], "👍", ""),
        ("reaction", own["id"], "", ""),
        ("reaction", "OLD", "🎉", ""),
        ("edit", own["id"], None, "see you at 3"),
        ("revoke", own["id"], None, ""),
    ]
    assert all(m["to"] == ALICE for m in entries)

    refused = [
        device.handler(c.CMD_REACT)(TOKEN, ALICE, "OLD", "👍", None),  # unknown and no author
        device.handler(c.CMD_REACT)(TOKEN, GROUP, theirs["id"], "👍", None),  # not in that chat
        device.handler(c.CMD_EDIT)(TOKEN, ALICE, theirs["id"], "mine now"),  # not ours
        device.handler(c.CMD_EDIT)(TOKEN, ALICE, own["id"], "again"),  # revoked
        device.handler(c.CMD_REVOKE)(TOKEN, ALICE, theirs["id"]),
        device.handler(c.CMD_REVOKE)(TOKEN, ALICE, "NOPE"),
    ]
    for attempt in refused:
        assert await code_of(attempt) == c.E_MESSAGE_NOT_FOUND
    assert (
        await code_of(device.handler(c.CMD_REACT)(TOKEN, ALICE, theirs["id"], "two words", None))
        == c.E_INVALID_ARGUMENT
    )
    assert len((await sent_log(device))["messages"]) == 6


async def test_texts_and_captions_can_be_edited_other_kinds_not(
    device: SandboxBackend, tmp_path: Path
) -> None:
    media = c.OutgoingMedia("document", media_file(tmp_path, "d", b"%PDF"), "application/pdf")
    sent = await device.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE, media, 0)
    await device.handler(c.CMD_EDIT)(TOKEN, ALICE, sent["id"], "caption")
    edit = (await sent_log(device))["messages"][-1]
    assert (edit["kind"], edit["targetId"], edit["caption"]) == ("edit", sent["id"], "caption")
    poll = await device.handler(c.CMD_SEND_POLL)(TOKEN, ALICE, "Lunch?", ["Pizza", "Sushi"], False)
    assert (
        await code_of(device.handler(c.CMD_EDIT)(TOKEN, ALICE, poll["id"], "Dinner?")) == c.E_INVALID_ARGUMENT
    )


async def test_polls_and_their_votes(device: SandboxBackend, recorder: EventRecorder) -> None:
    poll = await device.handler(c.CMD_SEND_POLL)(TOKEN, GROUP, "Lunch?", ["Pizza", "Sushi", "Salad"], False)
    [entry] = (await sent_log(device))["messages"]
    assert {k: entry[k] for k in ("kind", "question", "options", "multiple", "text", "to")} == {
        "kind": "poll",
        "question": "Lunch?",
        "options": ["Pizza", "Sushi", "Salad"],
        "multiple": False,
        "text": "Lunch?",
        "to": GROUP,
    }
    await device.control(
        "poll_vote", {"token": TOKEN, "from": "628111", "pollId": poll["id"], "options": ["Sushi"]}
    )
    assert recorder.of(c.EV_POLL_VOTE) == [
        {
            "pollId": poll["id"],
            "options": ["Sushi"],
            "chat": GROUP,
            "from": ALICE,
            "timestamp": NOW,
            "isGroup": True,
            "senderPhone": "628111",
        }
    ]
    vote = {"token": TOKEN, "from": "628111", "pollId": poll["id"]}
    assert (
        await code_of(device.control("poll_vote", {**vote, "options": ["Pizza", "Sushi"]}))
        == c.E_INVALID_ARGUMENT
    )
    assert await code_of(device.control("poll_vote", {**vote, "options": ["Tacos"]})) == c.E_INVALID_ARGUMENT
    assert (
        await code_of(device.control("poll_vote", {**vote, "pollId": "NOPE", "options": []}))
        == c.E_MESSAGE_NOT_FOUND
    )
    for question, options in (
        ("Q", ["only"]),
        ("Q", ["a", "a"]),
        (" ", ["a", "b"]),
        ("Q", list("abcdefghijklm")),
    ):
        assert (
            await code_of(device.handler(c.CMD_SEND_POLL)(TOKEN, GROUP, question, options, True))
            == c.E_INVALID_ARGUMENT
        )


async def test_presence_is_logged(device: SandboxBackend, clock: ManualClock) -> None:
    await device.handler(c.CMD_SET_PRESENCE)(TOKEN, None, "available")
    clock.advance(2)
    await device.handler(c.CMD_SET_PRESENCE)(TOKEN, ALICE, "recording")
    assert (await sent_log(device))["presence"] == [
        {"to": None, "state": "available", "at": NOW},
        {"to": ALICE, "state": "recording", "at": NOW + 2},
    ]
    for to, state in ((None, "composing"), (ALICE, "unavailable"), (None, "sleeping"), ("bad jid", "paused")):
        assert await code_of(device.handler(c.CMD_SET_PRESENCE)(TOKEN, to, state)) == c.E_INVALID_ARGUMENT  # type: ignore[arg-type]


async def test_every_command_needs_a_connected_device(sandbox: SandboxBackend, tmp_path: Path) -> None:
    media = c.OutgoingMedia("image", media_file(tmp_path, "i", b"x"), "image/png")
    commands: list[Callable[[], Any]] = [
        lambda: sandbox.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE, media, 0),
        lambda: sandbox.handler(c.CMD_REACT)(TOKEN, ALICE, "M", "👍", ALICE),
        lambda: sandbox.handler(c.CMD_EDIT)(TOKEN, ALICE, "M", "t"),
        lambda: sandbox.handler(c.CMD_REVOKE)(TOKEN, ALICE, "M"),
        lambda: sandbox.handler(c.CMD_SEND_POLL)(TOKEN, ALICE, "Q", ["a", "b"], False),
        lambda: sandbox.handler(c.CMD_SET_PRESENCE)(TOKEN, None, "available"),
        lambda: sandbox.handler(c.CMD_LIST_GROUPS)(TOKEN),
        lambda: sandbox.handler(c.CMD_GROUP_INFO)(TOKEN, GROUP),
        lambda: sandbox.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, "M"),
        lambda: sandbox.handler(c.CMD_REJECT_CALL)(TOKEN, ALICE, "C"),
    ]
    for command in commands:
        assert await code_of(command()) == c.E_DEVICE_NOT_CONNECTED
    for op in ("media_message", "reaction", "edit", "revoke", "poll_vote", "call", "groups"):
        assert (
            await code_of(sandbox.control(op, {"token": TOKEN, "from": "628111"})) == c.E_DEVICE_NOT_FOUND
        ), op


async def test_the_cache_goes_with_the_session(device: SandboxBackend) -> None:
    sent = await device.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "before", 0)
    await device.logout(TOKEN)
    await linked(device)
    assert (
        await code_of(device.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "x", 0, reply_to=sent["id"]))
        == c.E_MESSAGE_NOT_FOUND
    )


async def test_the_cache_keeps_the_most_recent_messages(make_sandbox: Callable[..., Any]) -> None:
    backend: SandboxBackend = await make_sandbox(message_cache_size=2)
    await linked(backend)
    ids = [(await backend.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, str(n), 0))["id"] for n in range(3)]
    assert await code_of(backend.handler(c.CMD_EDIT)(TOKEN, ALICE, ids[0], "x")) == c.E_MESSAGE_NOT_FOUND
    await backend.handler(c.CMD_EDIT)(TOKEN, ALICE, ids[1], "still here")


async def test_a_sent_log_from_before_the_details_column(
    make_sandbox: Callable[..., Any], tmp_path: Path
) -> None:
    sessions = tmp_path / "data" / "sessions"
    sessions.mkdir(parents=True)
    with closing(sqlite3.connect(sessions / f"{TOKEN}.db")) as db:
        db.executescript(
            """
            CREATE TABLE device (id INTEGER PRIMARY KEY CHECK (id = 1), jid TEXT NOT NULL DEFAULT '',
                push_name TEXT NOT NULL DEFAULT '', paired_at REAL);
            INSERT INTO device (id, jid, push_name) VALUES (1, '6281234567890@s.whatsapp.net', 'Old');
            CREATE TABLE sent (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL,
                recipient TEXT NOT NULL, text TEXT NOT NULL, timestamp REAL NOT NULL, presence TEXT NOT NULL);
            INSERT INTO sent (id, recipient, text, timestamp, presence)
                VALUES ('OLD1', 'x@s.whatsapp.net', 'hi', 1, '[]');
            """
        )
        db.commit()
    backend: SandboxBackend = await make_sandbox()
    assert await backend.connect(TOKEN, "restore", "Chrome (Linux)") == {"paired": True}
    await backend.handler(c.CMD_SEND_POLL)(TOKEN, ALICE, "Q?", ["a", "b"], True)
    messages = (await backend.control("sent", {"token": TOKEN}))["messages"]
    assert (messages[0]["id"], messages[0]["kind"]) == ("OLD1", "text")
    assert messages[1]["kind"] == "poll" and messages[1]["multiple"] is True


async def test_concurrent_sends_share_one_commit_and_keep_their_order(
    device: SandboxBackend, tmp_path: Path
) -> None:
    # A commit in WAL mode appends at least one page frame to the -wal file, so twenty sends with a
    # commit each would grow it by twenty pages; one shared commit by a page or two (sqlite docs, "WAL").
    await device.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "warm-up", 0)
    wal = tmp_path / "data" / "sessions" / f"{TOKEN}.db-wal"
    before = wal.stat().st_size
    sent = await asyncio.gather(
        *(device.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, f"m{i}", 0) for i in range(20))
    )
    pages = (wal.stat().st_size - before) / 4096
    assert pages < 5, f"{pages:.1f} pages written for 20 sends"
    messages = (await sent_log(device))["messages"][1:]
    assert [m["text"] for m in messages] == [f"m{i}" for i in range(20)]
    assert [m["id"] for m in messages] == [s["id"] for s in sent]
