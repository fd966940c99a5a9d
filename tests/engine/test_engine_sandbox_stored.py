"""The sandbox acting on messages a previous worker received or sent, from the ``ref`` the message store
kept: a second backend on the same DATA_DIR is a restarted worker (docs/messages.md "Acting on stored
messages"). Media bytes live on the sandbox's media server on disk, never in a ref."""

from __future__ import annotations

import asyncio
import base64
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wa_gateway.backends.sandbox.engine import SandboxBackend
from wa_gateway.backends.sandbox.media_server import MEDIA_DIR
from wa_gateway.engine import contract as c

from .conftest import EventRecorder
from .sandbox_helpers import ALICE, TOKEN, code_of, linked, media_file, sent_log

PDF = b"%PDF-1.4 the report"


async def restarted(first: SandboxBackend, make_sandbox: Callable[..., Any]) -> SandboxBackend:
    await first.close()
    second: SandboxBackend = await make_sandbox()
    await second.connect(TOKEN, "restore", None)
    return second


async def test_incoming_media_downloads_after_a_restart_from_the_media_server(
    sandbox: SandboxBackend, make_sandbox: Callable[..., Any], recorder: EventRecorder, tmp_path: Path
) -> None:
    await linked(sandbox)
    args = {
        "token": TOKEN,
        "from": "628111",
        "kind": "document",
        "mimetype": "application/pdf",
        "filename": "q3.pdf",
        "caption": "Q3",
        "base64": base64.b64encode(PDF).decode(),
        "id": "DOC1",
    }
    await sandbox.control("media_message", args)
    [message] = recorder.of(c.EV_MESSAGE)
    assert base64.b64encode(PDF).decode() not in message["ref"] and len(message["ref"]) < 1000
    backend = await restarted(sandbox, make_sandbox)
    download = backend.handler(c.CMD_DOWNLOAD_MEDIA)
    assert await code_of(download(TOKEN, "DOC1")) == c.E_MESSAGE_NOT_FOUND, "without its ref it is unknown"

    result = await download(TOKEN, "DOC1", ref=message["ref"])
    assert (result["mimetype"], result["filename"], result["size"]) == ("application/pdf", "q3.pdf", len(PDF))
    assert await asyncio.to_thread(Path(result["path"]).read_bytes) == PDF

    # Another node's disk (or a wiped one) has no copy: the download says so, like expired WhatsApp media.
    await asyncio.to_thread(shutil.rmtree, tmp_path / "data" / MEDIA_DIR)
    backend.caches.drop(TOKEN)
    try:
        await download(TOKEN, "DOC1", ref=message["ref"])
        raise AssertionError("downloaded media that is gone")
    except c.EngineError as exc:
        assert exc.code == c.E_MESSAGE_NOT_FOUND and "no longer" in exc.message


async def test_own_messages_are_edited_revoked_and_quoted_after_a_restart(
    sandbox: SandboxBackend, make_sandbox: Callable[..., Any], recorder: EventRecorder, tmp_path: Path
) -> None:
    await linked(sandbox)
    text = await sandbox.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "open till 6", 0)
    document = c.OutgoingMedia(
        "document", media_file(tmp_path, "p.pdf", PDF), "application/pdf", filename="p.pdf", caption="prices"
    )
    sent_document = await sandbox.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE, document, 0)
    await sandbox.control(
        "history_sync", {"token": TOKEN, "messages": [{"id": "H1", "from": "628111", "text": "old"}]}
    )
    [sync] = recorder.of(c.EV_HISTORY_SYNC)
    backend = await restarted(sandbox, make_sandbox)
    edit, revoke = backend.handler(c.CMD_EDIT), backend.handler(c.CMD_REVOKE)
    before = len((await sent_log(backend))["messages"])

    await edit(TOKEN, ALICE, text["id"], "open till 7", ref=text["ref"])
    await edit(TOKEN, ALICE, sent_document["id"], "prices, 2026", ref=sent_document["ref"])
    await backend.handler(c.CMD_SEND_TEXT)(
        TOKEN, ALICE, "we remember", 0, reply_to="H1", reply_ref=sync["messages"][0]["ref"]
    )
    backend.caches.drop(TOKEN)
    await revoke(TOKEN, ALICE, text["id"], ref=text["ref"])
    result = await backend.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, sent_document["id"], ref=sent_document["ref"])
    assert await asyncio.to_thread(Path(result["path"]).read_bytes) == PDF

    log = (await sent_log(backend))["messages"][before:]
    assert [(m.get("kind", "text"), m.get("targetId"), m.get("replyTo")) for m in log] == [
        ("edit", text["id"], None),
        ("edit", sent_document["id"], None),
        ("text", None, "H1"),
        ("revoke", text["id"], None),
    ]
    assert log[1]["caption"] == "prices, 2026"


async def test_a_ref_is_refused_for_another_message_another_chat_or_someone_elses(
    sandbox: SandboxBackend, make_sandbox: Callable[..., Any], recorder: EventRecorder
) -> None:
    await linked(sandbox)
    own = await sandbox.handler(c.CMD_SEND_TEXT)(TOKEN, ALICE, "hello", 0)
    await sandbox.control("message", {"token": TOKEN, "from": "628111", "text": "hi", "id": "IN1"})
    [incoming] = recorder.of(c.EV_MESSAGE)
    backend = await restarted(sandbox, make_sandbox)
    before = await sent_log(backend)
    edit, revoke = backend.handler(c.CMD_EDIT), backend.handler(c.CMD_REVOKE)
    attempts = [
        edit(TOKEN, ALICE, "OTHER", "x", ref=own["ref"]),
        edit(TOKEN, "628999@s.whatsapp.net", own["id"], "x", ref=own["ref"]),
        edit(TOKEN, ALICE, "IN1", "x", ref=incoming["ref"]),
        revoke(TOKEN, ALICE, "IN1", ref=incoming["ref"]),
        edit(TOKEN, ALICE, own["id"], "x", ref="{not json"),
        edit(TOKEN, ALICE, own["id"], "x", ref='{"id": 1}'),
    ]
    for attempt in attempts:
        assert await code_of(attempt) == c.E_MESSAGE_NOT_FOUND
    assert await sent_log(backend) == before
    assert backend.caches.of(TOKEN).get(own["id"]) is None, "a ref refused for its chat is not held either"


async def test_logging_out_removes_the_devices_media(sandbox: SandboxBackend, tmp_path: Path) -> None:
    await linked(sandbox)
    args = {"token": TOKEN, "from": "628111", "kind": "image", "mimetype": "image/png", "base64": "iVBORw=="}
    await sandbox.control("media_message", args)
    media = tmp_path / "data" / MEDIA_DIR / TOKEN
    assert await asyncio.to_thread(lambda: len(list(media.iterdir()))) == 1
    await sandbox.logout(TOKEN)
    assert not await asyncio.to_thread(media.exists)
