"""The worker's command dispatch: wire arguments checked for shape, then handed to the backend typed."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from wa_gateway.backends.sandbox.engine import SandboxBackend
from wa_gateway.clock import ManualClock
from wa_gateway.engine import contract as c
from wa_gateway.engine import send_ids
from wa_gateway.engine.ipc import open_stream, read_frame
from wa_gateway.worker.commands import dispatch
from wa_gateway.worker.main import EXIT_OK, WorkerServer

TOKEN = "6281234567890"
ALICE = "628111@s.whatsapp.net"


class RecordingBackend:
    """Answers every declared command with the keyword arguments its handler was given."""

    name = "recording"

    def handler(self, cmd: str) -> Any:
        async def call(**kwargs: Any) -> Any:
            return {"cmd": cmd, "kwargs": kwargs}

        return call


async def run(cmd: str, args: dict[str, Any]) -> Any:
    return await dispatch(RecordingBackend(), cmd, args, {})  # type: ignore[arg-type]


async def refused(cmd: str, args: dict[str, Any], code: str = c.E_INVALID_ARGUMENT) -> str:
    with pytest.raises(c.EngineError) as info:
        await run(cmd, args)
    assert info.value.code == code
    return info.value.message


async def test_send_text_gains_reply_and_mentions() -> None:
    plain = await run(c.CMD_SEND_TEXT, {"token": TOKEN, "to": ALICE, "text": "hi", "typing_ms": 5})
    assert plain["kwargs"] == {
        "token": TOKEN,
        "to": ALICE,
        "text": "hi",
        "typing_ms": 5,
        "reply_to": None,
        "mentions": [],
        "reply_ref": None,
    }
    full = await run(
        c.CMD_SEND_TEXT,
        {"token": TOKEN, "to": ALICE, "text": "hi", "reply_to": "M1", "mentions": [ALICE], "reply_ref": "R"},
    )
    assert (full["kwargs"]["reply_to"], full["kwargs"]["mentions"]) == ("M1", [ALICE])
    assert full["kwargs"]["reply_ref"] == "R"
    await refused(c.CMD_SEND_TEXT, {"token": TOKEN, "to": ALICE, "text": "hi", "mentions": "x"})
    await refused(c.CMD_SEND_TEXT, {"token": TOKEN, "to": ALICE, "text": "hi", "reply_to": 7})
    await refused(c.CMD_SEND_TEXT, {"token": TOKEN, "to": ALICE, "text": "hi", "reply_ref": 7})


async def test_send_media_becomes_outgoing_media() -> None:
    args = {
        "token": TOKEN,
        "to": ALICE,
        "kind": "document",
        "path": "/data/media/outgoing/f1",
        "mimetype": "application/pdf",
        "filename": "q3.pdf",
        "caption": "",
        "reply_to": None,
        "typing_ms": 0,
    }
    result = await run(c.CMD_SEND_MEDIA, args)
    assert result["cmd"] == c.CMD_SEND_MEDIA
    assert result["kwargs"] == {
        "token": TOKEN,
        "to": ALICE,
        "media": c.OutgoingMedia(
            "document", Path("/data/media/outgoing/f1"), "application/pdf", "q3.pdf", None, None
        ),
        "typing_ms": 0,
    }
    quoting = await run(c.CMD_SEND_MEDIA, {**args, "reply_to": "M1", "reply_ref": "R"})
    assert (quoting["kwargs"]["media"].reply_to, quoting["kwargs"]["media"].reply_ref) == ("M1", "R")
    for bad in ({"kind": "gif"}, {"path": ""}, {"mimetype": None}, {"typing_ms": -1}, {"caption": 3}):
        await refused(c.CMD_SEND_MEDIA, {**args, **bad})
    await refused(c.CMD_SEND_MEDIA, {**args, "reply_ref": 3})


async def test_connect_defaults_to_qr_and_the_configured_device_name() -> None:
    result = await run(c.CMD_CONNECT, {"token": TOKEN})
    assert result["kwargs"] == {"token": TOKEN, "method": "qr", "device_name": None, "jid": None}
    configured = await dispatch(
        RecordingBackend(), c.CMD_CONNECT, {"token": TOKEN}, {"device_name": "Edge (Mac OS)"}
    )  # type: ignore[arg-type]
    assert configured["kwargs"]["device_name"] == "Edge (Mac OS)"
    given = {"token": TOKEN, "device_name": "Safari (Mac OS)"}
    assert (await dispatch(RecordingBackend(), c.CMD_CONNECT, given, {"device_name": "Edge (Mac OS)"}))[  # type: ignore[arg-type]
        "kwargs"
    ]["device_name"] == "Safari (Mac OS)"
    await refused(c.CMD_CONNECT, {"token": TOKEN, "method": "sms"})


async def test_actions_polls_presence_groups_downloads_and_calls() -> None:
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        (
            c.CMD_REACT,
            {"chat": ALICE, "message_id": "M1", "emoji": ""},
            {"chat": ALICE, "message_id": "M1", "emoji": "", "sender": None},
        ),
        (
            c.CMD_EDIT,
            {"chat": ALICE, "message_id": "M1", "text": "fixed"},
            {"chat": ALICE, "message_id": "M1", "text": "fixed", "ref": None},
        ),
        (
            c.CMD_REVOKE,
            {"chat": ALICE, "message_id": "M1", "ref": "R"},
            {"chat": ALICE, "message_id": "M1", "ref": "R"},
        ),
        (
            c.CMD_SEND_POLL,
            {"to": ALICE, "question": "Q?", "options": ["a", "b"], "multiple": True},
            {"to": ALICE, "question": "Q?", "options": ["a", "b"], "multiple": True},
        ),
        (c.CMD_SET_PRESENCE, {"state": "available"}, {"to": None, "state": "available"}),
        (c.CMD_SET_PRESENCE, {"to": ALICE, "state": "recording"}, {"to": ALICE, "state": "recording"}),
        (c.CMD_GROUP_INFO, {"jid": "1203@g.us"}, {"group": "1203@g.us"}),
        (c.CMD_DOWNLOAD_MEDIA, {"message_id": "M1"}, {"message_id": "M1", "ref": None}),
        (c.CMD_REJECT_CALL, {"from": ALICE, "call_id": "C1"}, {"caller": ALICE, "call_id": "C1"}),
    ]
    for cmd, args, expected in cases:
        result = await run(cmd, {"token": TOKEN, **args})
        assert (result["cmd"], result["kwargs"]) == (cmd, {"token": TOKEN, **expected}), cmd
    groups = await run(c.CMD_LIST_GROUPS, {"token": TOKEN})
    assert groups == {"groups": {"cmd": c.CMD_LIST_GROUPS, "kwargs": {"token": TOKEN}}}


@pytest.mark.parametrize(
    ("cmd", "args"),
    [
        (c.CMD_REACT, {"chat": ALICE, "message_id": "M1"}),  # no emoji at all
        (c.CMD_EDIT, {"chat": ALICE, "message_id": "M1", "text": ""}),
        (c.CMD_REVOKE, {"chat": ALICE}),
        (c.CMD_SEND_POLL, {"to": ALICE, "question": "Q?", "options": "a,b"}),
        (c.CMD_SEND_POLL, {"to": ALICE, "question": "Q?", "options": ["a", "b"], "multiple": "yes"}),
        (c.CMD_SET_PRESENCE, {"state": "typing"}),
        (c.CMD_GROUP_INFO, {}),
        (c.CMD_DOWNLOAD_MEDIA, {"message_id": 5}),
        (c.CMD_DOWNLOAD_MEDIA, {"message_id": "M1", "ref": ["R"]}),
        (c.CMD_REJECT_CALL, {"from": ALICE}),
        (c.CMD_LIST_GROUPS, {"token": ""}),
    ],
)
async def test_malformed_requests_never_reach_the_backend(cmd: str, args: dict[str, Any]) -> None:
    await refused(cmd, {"token": TOKEN, **args})


async def test_unknown_commands() -> None:
    await refused("teleport", {}, c.E_UNKNOWN_COMMAND)


async def test_a_poll_over_the_wire_lands_in_the_sandbox_sent_log(tmp_path: Path) -> None:
    backend = SandboxBackend(tmp_path, clock=ManualClock())

    async def factory(config: dict[str, Any]) -> c.EngineBackend:
        return backend

    gateway_end, worker_end = socket.socketpair()
    worker_reader, worker_writer = await open_stream(worker_end)
    server = WorkerServer(worker_reader, worker_writer, {"engine": "sandbox"}, factory)
    task = asyncio.create_task(server.run())
    reader, writer = await open_stream(gateway_end)

    async def call(request_id: int, cmd: str, args: dict[str, Any]) -> dict[str, Any]:
        await writer.send({"type": "request", "id": request_id, "cmd": cmd, "args": args})
        while True:
            frame = await asyncio.wait_for(read_frame(reader), 5)
            assert frame is not None
            if frame.get("type") == "reply" and frame["id"] == request_id:
                return frame

    try:
        assert (await asyncio.wait_for(read_frame(reader), 5) or {})["type"] == "hello"
        await call(1, c.CMD_CONNECT, {"token": TOKEN, "method": "code"})
        await call(2, c.CMD_SANDBOX, {"op": "link", "token": TOKEN})
        poll = {
            "token": TOKEN,
            "to": ALICE,
            "question": "Lunch?",
            "options": ["Pizza", "Sushi"],
            "multiple": False,
        }
        reply = await call(3, c.CMD_SEND_POLL, poll)
        assert reply["ok"] is True
        short = await call(4, c.CMD_SEND_POLL, {**poll, "options": ["Pizza"]})
        assert short["error"]["code"] == c.E_INVALID_ARGUMENT
        log = (await call(5, c.CMD_SANDBOX, {"op": "sent", "token": TOKEN}))["result"]
        assert [(m["id"], m["kind"], m["options"]) for m in log["messages"]] == [
            (reply["result"]["id"], "poll", ["Pizza", "Sushi"])
        ]
    finally:
        await writer.close()
        assert await asyncio.wait_for(task, 5) == EXIT_OK


async def test_a_chosen_send_id_is_the_message_id_and_a_repeat_is_the_same_message(tmp_path: Path) -> None:
    backend = SandboxBackend(tmp_path, clock=ManualClock())

    async def factory(config: dict[str, Any]) -> c.EngineBackend:
        return backend

    gateway_end, worker_end = socket.socketpair()
    worker_reader, worker_writer = await open_stream(worker_end)
    server = WorkerServer(worker_reader, worker_writer, {"engine": "sandbox"}, factory)
    task = asyncio.create_task(server.run())
    reader, writer = await open_stream(gateway_end)
    ids = iter(range(1, 100))

    async def call(cmd: str, args: dict[str, Any]) -> dict[str, Any]:
        request_id = next(ids)
        await writer.send({"type": "request", "id": request_id, "cmd": cmd, "args": args})
        while True:
            frame = await asyncio.wait_for(read_frame(reader), 5)
            assert frame is not None
            if frame.get("type") == "reply" and frame["id"] == request_id:
                return frame

    chosen = send_ids.derive("scope", "order-1")
    text = {"token": TOKEN, "to": ALICE, "text": "hi"}
    try:
        assert (await asyncio.wait_for(read_frame(reader), 5) or {})["type"] == "hello"
        await call(c.CMD_CONNECT, {"token": TOKEN, "method": "code"})
        await call(c.CMD_SANDBOX, {"op": "link", "token": TOKEN})
        # Two at once: the second waits behind the first's commit on the device's send lock.
        for request_id in (50, 51):
            request = {**text, send_ids.ARG_SEND_ID: chosen}
            await writer.send({"type": "request", "id": request_id, "cmd": c.CMD_SEND_TEXT, "args": request})
        replies: dict[int, dict[str, Any]] = {}
        while len(replies) < 2:
            frame = await asyncio.wait_for(read_frame(reader), 5)
            assert frame is not None
            if frame.get("type") == "reply":
                replies[frame["id"]] = frame
        first, again = replies[50], replies[51]
        later = await call(c.CMD_SEND_TEXT, {**text, send_ids.ARG_SEND_ID: chosen})
        assert first["result"]["id"] == again["result"]["id"] == later["result"]["id"] == chosen
        assert first["result"]["timestamp"] == later["result"]["timestamp"]
        plain = await call(c.CMD_SEND_TEXT, text)
        assert plain["result"]["id"] != chosen
        for bad in ("3eb0" + "0" * 18, "3EB0ABC", 7):
            refused_reply = await call(c.CMD_SEND_TEXT, {**text, send_ids.ARG_SEND_ID: bad})
            assert refused_reply["error"]["code"] == c.E_INVALID_ARGUMENT, bad
        log = (await call(c.CMD_SANDBOX, {"op": "sent", "token": TOKEN}))["result"]
        assert [m["id"] for m in log["messages"]] == [chosen, plain["result"]["id"]]
    finally:
        await writer.close()
        assert await asyncio.wait_for(task, 5) == EXIT_OK


def test_derived_ids_have_whatsmeows_shape_and_depend_on_scope_key_and_ordinal() -> None:
    first = send_ids.derive("apikey:6281234567890", "k")
    assert send_ids.is_valid(first)
    assert first == send_ids.derive("apikey:6281234567890", "k")
    others = {
        send_ids.derive("apikey:6281234567891", "k"),
        send_ids.derive("apikey:6281234567890", "k2"),
        send_ids.derive("apikey:6281234567890", "k", 1),
    }
    assert first not in others and len(others) == 3
