"""Stored messages and chats outlive the gateway: the real process, killed and started again."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import aiohttp
import pytest

from ..conftest import API_KEY
from ..processes import api_call as call
from ..processes import sandbox_settings, start_gateway, stop, wait_exit, wait_healthy
from ..webhooks.webhook_harness import eventually

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
ALICE = "60100000001"


async def test_messages_and_chats_survive_a_killed_gateway(tmp_path: Path, unused_tcp_port: int) -> None:
    port = unused_tcp_port
    env = sandbox_settings(tmp_path, port)
    first = start_gateway(env, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_healthy(port, first)
            await call(session, port, "POST", "/devices", {"token": TOKEN})
            await call(session, port, "POST", f"/sandbox/devices/{TOKEN}/link")
            for i in range(3):
                await call(
                    session,
                    port,
                    "POST",
                    f"/sandbox/devices/{TOKEN}/messages",
                    {"from": ALICE, "text": f"in{i}"},
                )
            sent = await call(
                session, port, "POST", "/messages", {"token": TOKEN, "to": ALICE, "text": "out"}
            )

            async def all_stored() -> bool:
                return len((await call(session, port, "GET", f"/messages/{TOKEN}"))["messages"]) == 4

            await eventually(all_stored, within_s=20, what="four stored messages")
            before = await call(session, port, "GET", f"/messages/{TOKEN}")
            chats_before = await call(session, port, "GET", f"/chats/{TOKEN}")
        # Killed, not stopped: what was committed is on disk without a clean close (docs/messages.md).
        os.killpg(first.pid, signal.SIGKILL)
        await wait_exit(first, 20)
    finally:
        stop(first)

    second = start_gateway(env, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_healthy(port, second)

            async def restored() -> bool:
                async with session.get(
                    f"http://127.0.0.1:{port}/devices/{TOKEN}", headers={"X-API-Key": API_KEY}
                ) as resp:
                    return resp.status == 200 and (await resp.json())["data"]["status"] == "connected"

            await eventually(restored, within_s=20, what="the device restored")
            after = await call(session, port, "GET", f"/messages/{TOKEN}")
            assert after == before
            assert [m["text"] for m in after["messages"]] == ["out", "in2", "in1", "in0"]
            one = await call(session, port, "GET", f"/messages/{TOKEN}/{sent['messageId']}")
            assert one["fromMe"] is True and one["text"] == "out"
            assert await call(session, port, "GET", f"/chats/{TOKEN}") == chats_before
            # The new worker's cache is empty: the store knows who wrote the message to react to.
            oldest = after["messages"][-1]["id"]
            reaction = {"token": TOKEN, "chat": ALICE, "emoji": "👍"}
            await call(session, port, "POST", f"/messages/{oldest}/reaction", reaction)
            log = await call(session, port, "GET", f"/sandbox/devices/{TOKEN}/sent")
            assert [m["targetId"] for m in log["messages"] if m.get("kind") == "reaction"] == [oldest]
        second.send_signal(signal.SIGTERM)
        assert await wait_exit(second, 20) == 0
    finally:
        stop(second)
