"""Replying to, editing, revoking and downloading stored messages after the gateway restarted: the real
gateway process and its real sandbox worker, stopped with SIGTERM and killed with SIGKILL in between
(docs/messages.md "Acting on stored messages")."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ..conftest import API_KEY
from ..media_samples import png
from ..processes import api_call as call
from ..processes import sandbox_settings, start_gateway, stop, wait_exit, wait_healthy
from ..webhooks.webhook_harness import eventually

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
ALICE = "60100000001"
ALICE_JID = f"{ALICE}@s.whatsapp.net"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"


class Gateway:
    """One gateway process at a time on one DATA_DIR; ``restart`` ends it the way it is told."""

    def __init__(self, tmp_path: Path, port: int) -> None:
        self.port = port
        self._tmp = tmp_path
        self.env = sandbox_settings(tmp_path, port, AUTO_READ_RECEIPT="false")
        self.proc: subprocess.Popen[bytes] | None = None
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.proc = start_gateway(self.env, self._tmp)
        await wait_healthy(self.port, self.proc)

    async def restart(self, how: signal.Signals) -> None:
        assert self.proc is not None
        if how == signal.SIGKILL:
            # Killed, not stopped: the worker goes with it, and what was committed is on disk.
            os.killpg(self.proc.pid, signal.SIGKILL)
            await wait_exit(self.proc, 20)
        else:
            self.proc.send_signal(how)
            assert await wait_exit(self.proc, 20) == 0
        stop(self.proc)
        await self.start()
        await eventually(self.connected, within_s=20, what="the device restored")

    async def connected(self) -> bool:
        status, body = await self.request("GET", f"/devices/{TOKEN}")
        return status == 200 and body["data"]["status"] == "connected"

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        assert self.session is not None
        return await call(self.session, self.port, method, path, body)

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        assert self.session is not None
        async with self.session.request(
            method, f"http://127.0.0.1:{self.port}{path}", json=body, headers={"X-API-Key": API_KEY}
        ) as resp:
            return resp.status, await resp.json()

    async def download(self, message_id: str) -> tuple[int, bytes]:
        assert self.session is not None
        async with self.session.get(
            f"http://127.0.0.1:{self.port}/messages/{TOKEN}/{message_id}/media",
            headers={"X-API-Key": API_KEY},
        ) as resp:
            return resp.status, await resp.read()

    async def stored(self, message_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.call("GET", f"/messages/{TOKEN}/{message_id}")
        return found

    async def sent_log(self) -> list[dict[str, Any]]:
        log: list[dict[str, Any]] = (await self.call("GET", f"/sandbox/devices/{TOKEN}/sent"))["messages"]
        return log


@contextlib.asynccontextmanager
async def running(gateway: Gateway) -> AsyncIterator[Gateway]:
    """The gateway started with one linked sandbox device; stopped with SIGTERM at the end."""
    async with aiohttp.ClientSession() as session:
        gateway.session = session
        try:
            await gateway.start()
            await gateway.call("POST", "/devices", {"token": TOKEN})
            await gateway.call("POST", f"/sandbox/devices/{TOKEN}/link")
            yield gateway
        finally:
            if gateway.proc is not None:
                gateway.proc.send_signal(signal.SIGTERM)
                await wait_exit(gateway.proc, 20)
                stop(gateway.proc)


@pytest.fixture
async def gateway(tmp_path: Path, unused_tcp_port: int) -> AsyncIterator[Gateway]:
    async with running(Gateway(tmp_path, unused_tcp_port)) as started:
        yield started


async def conversation(gateway: Gateway) -> dict[str, str]:
    """Messages of every kind in one chat, all stored; returns their ids by name."""
    incoming = await gateway.call(
        "POST", f"/sandbox/devices/{TOKEN}/messages", {"from": ALICE, "text": "is the shop open?"}
    )
    photo = await gateway.call(
        "POST",
        f"/sandbox/devices/{TOKEN}/media-messages",
        {
            "from": ALICE,
            "kind": "image",
            "mimetype": "image/png",
            "caption": "this one",
            "base64": base64.b64encode(png(2, 2)).decode(),
        },
    )
    text = await gateway.call("POST", "/messages", {"token": TOKEN, "to": ALICE, "text": "open till 6"})
    document = await gateway.call(
        "POST",
        "/messages/media",
        {
            "token": TOKEN,
            "to": ALICE,
            "type": "document",
            "filename": "prices.pdf",
            "caption": "prices",
            "base64": base64.b64encode(PDF).decode(),
        },
    )
    ids = {
        "incoming": incoming["id"],
        "photo": photo["id"],
        "text": text["messageId"],
        "document": document["messageId"],
    }

    async def all_stored() -> bool:
        found = (await gateway.call("GET", f"/messages/{TOKEN}"))["messages"]
        return {m["id"] for m in found} == set(ids.values())

    await eventually(all_stored, within_s=20, what="the conversation stored")
    return ids


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_stored_messages_are_replied_to_edited_revoked_and_downloaded_after_a_restart(
    gateway: Gateway, how: signal.Signals
) -> None:
    ids = await conversation(gateway)
    await gateway.restart(how)
    before = len(await gateway.sent_log())

    reply = await gateway.call(
        "POST", "/messages", {"token": TOKEN, "to": ALICE, "text": "yes!", "replyTo": ids["incoming"]}
    )
    quoting = await gateway.call(
        "POST",
        "/messages/media",
        {
            "token": TOKEN,
            "to": ALICE,
            "type": "image",
            "base64": base64.b64encode(png(3, 3)).decode(),
            "replyTo": ids["photo"],
        },
    )
    await gateway.call("PATCH", f"/messages/{ids['text']}", {"token": TOKEN, "chat": ALICE, "text": "till 7"})
    await gateway.call(
        "PATCH", f"/messages/{ids['document']}", {"token": TOKEN, "chat": ALICE, "text": "prices, 2026"}
    )
    status, photo = await gateway.download(ids["photo"])
    assert (status, photo) == (200, png(2, 2))
    status, document = await gateway.download(ids["document"])
    assert (status, document) == (200, PDF)

    log = (await gateway.sent_log())[before:]
    assert [(m.get("kind", "text"), m.get("replyTo"), m.get("targetId")) for m in log] == [
        ("text", ids["incoming"], None),
        ("image", ids["photo"], None),
        ("edit", None, ids["text"]),
        ("edit", None, ids["document"]),
    ]
    assert log[3]["caption"] == "prices, 2026"
    assert (await gateway.stored(reply["messageId"]))["replyTo"] == ids["incoming"]
    assert (await gateway.stored(quoting["messageId"]))["replyTo"] == ids["photo"]
    assert (await gateway.stored(ids["text"]))["text"] == "till 7"

    # Once more after another restart: the revoke, and what a revoke leaves behind.
    await gateway.restart(how)
    await gateway.call("DELETE", f"/messages/{ids['text']}?token={TOKEN}&chat={ALICE}")
    await gateway.call("DELETE", f"/messages/{ids['document']}?token={TOKEN}&chat={ALICE}")
    log = (await gateway.sent_log())[before + 4 :]
    assert [(m["kind"], m["targetId"]) for m in log] == [("revoke", ids["text"]), ("revoke", ids["document"])]
    revoked = await gateway.stored(ids["document"])
    assert revoked["revokedAt"] is not None and revoked["media"] is None and revoked["text"] == ""
    await gateway.restart(how)
    # The store dropped the revoked message's reference: nothing of it is left to act on.
    status, body = await gateway.request(
        "PATCH", f"/messages/{ids['text']}", {"token": TOKEN, "chat": ALICE, "text": "again"}
    )
    assert (status, body["error"]["code"]) == (404, "MESSAGE_NOT_FOUND")


async def test_unknown_and_mismatched_messages_answer_not_found_and_change_nothing(
    gateway: Gateway,
) -> None:
    ids = await conversation(gateway)
    await gateway.restart(signal.SIGKILL)
    before = await gateway.sent_log()
    stored_before = await gateway.call("GET", f"/messages/{TOKEN}")
    other = "60100000002"
    attempts = [
        ("POST", "/messages", {"token": TOKEN, "to": ALICE, "text": "x", "replyTo": "NEVER-SEEN"}),
        ("PATCH", "/messages/NEVER-SEEN", {"token": TOKEN, "chat": ALICE, "text": "x"}),
        ("DELETE", f"/messages/NEVER-SEEN?token={TOKEN}&chat={ALICE}", None),
        # The right message in the wrong chat, and somebody else's message: not this device's to change.
        ("PATCH", f"/messages/{ids['text']}", {"token": TOKEN, "chat": other, "text": "x"}),
        ("DELETE", f"/messages/{ids['text']}?token={TOKEN}&chat={other}", None),
        ("PATCH", f"/messages/{ids['incoming']}", {"token": TOKEN, "chat": ALICE, "text": "x"}),
        ("DELETE", f"/messages/{ids['incoming']}?token={TOKEN}&chat={ALICE}", None),
    ]
    for method, path, body in attempts:
        status, answer = await gateway.request(method, path, body)
        assert (status, answer["error"]["code"]) == (404, "MESSAGE_NOT_FOUND"), (method, path, answer)
    status, _ = await gateway.download("NEVER-SEEN")
    assert status == 404
    status, answer = await gateway.request("GET", f"/messages/{TOKEN}/{ids['incoming']}/media")
    assert (status, answer["error"]["code"]) == (404, "MEDIA_NOT_FOUND")  # a text has no media
    # A message sent after them all shows nothing of the refused ones reached the network or the store.
    marker = await gateway.call("POST", "/messages", {"token": TOKEN, "to": ALICE, "text": "marker"})
    after = await gateway.sent_log()
    assert after[: len(before)] == before and [m["id"] for m in after[len(before) :]] == [marker["messageId"]]

    async def marker_stored() -> bool:
        return (await gateway.call("GET", f"/messages/{TOKEN}"))["messages"][0]["id"] == marker["messageId"]

    await eventually(marker_stored, within_s=20, what="the marker stored")
    assert (await gateway.call("GET", f"/messages/{TOKEN}"))["messages"][1:] == stored_before["messages"]


async def test_with_database_url_another_data_dir_acts_on_the_stored_messages(
    postgres_url: str, tmp_path: Path, unused_tcp_port: int
) -> None:
    """The store is in PostgreSQL: a gateway killed and replaced by one on an empty DATA_DIR (another
    machine) still replies to and edits its messages; the sandbox's media was on the first one's disk."""
    gateway = Gateway(tmp_path / "first", unused_tcp_port)
    (tmp_path / "first").mkdir()
    gateway.env.update(DATABASE_URL=postgres_url, NODE_ID="node-a", LEASE_TTL_SECONDS="3")
    async with running(gateway):
        ids = await conversation(gateway)
        (tmp_path / "second").mkdir()
        # Another machine: its own node, which takes the device once the killed node's lease expired.
        gateway.env.update(DATA_DIR=str(tmp_path / "second" / "data"), NODE_ID="node-b")
        await gateway.restart(signal.SIGKILL)
        assert not (tmp_path / "second" / "data" / "messages.db").exists()
        before = len(await gateway.sent_log())
        await gateway.call(
            "POST", "/messages", {"token": TOKEN, "to": ALICE, "text": "yes", "replyTo": ids["incoming"]}
        )
        await gateway.call(
            "PATCH", f"/messages/{ids['text']}", {"token": TOKEN, "chat": ALICE, "text": "till 8"}
        )
        log = (await gateway.sent_log())[before:]
        assert [(m.get("kind", "text"), m.get("replyTo"), m.get("targetId")) for m in log] == [
            ("text", ids["incoming"], None),
            ("edit", None, ids["text"]),
        ]
        status, body = await gateway.request("GET", f"/messages/{TOKEN}/{ids['photo']}/media")
        assert (status, body["error"]["code"]) == (404, "MESSAGE_NOT_FOUND")
