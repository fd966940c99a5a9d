"""PATCH /messages/{id} edits the caption of an image, video or document the device sent, end to end."""

from __future__ import annotations

import base64

import pytest
from pytest_aiohttp import AiohttpClient

from .conftest import SettingsFactory
from .harness import api
from .media_samples import PDF, WEBP, png
from .messaging_harness import PEER, TOKEN, last_sent, linked_gateway, sent_log

pytestmark = pytest.mark.slow


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_captions_of_sent_media_can_be_edited_and_other_kinds_cannot(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    ids = {}
    for kind, data in (("image", png()), ("document", PDF), ("sticker", WEBP)):
        media = {"token": TOKEN, "to": PEER, "type": kind, "base64": b64(data)}
        if kind != "sticker":
            media["caption"] = "first"
        status, body = await api(client, "POST", "/messages/media", media)
        assert status == 200, body
        ids[kind] = body["data"]["messageId"]

    for kind in ("image", "document"):
        status, body = await api(
            client, "PATCH", f"/messages/{ids[kind]}", {"token": TOKEN, "chat": PEER, "text": f"new {kind}"}
        )
        assert status == 200 and body["message"] == "Message edited", body
        assert body["data"]["messageId"] == ids[kind]
        sent = await last_sent(client)
        assert (sent["kind"], sent["targetId"], sent["caption"]) == ("edit", ids[kind], f"new {kind}")

    sends = len((await sent_log(client))["messages"])
    status, body = await api(
        client, "PATCH", f"/messages/{ids['sticker']}", {"token": TOKEN, "chat": PEER, "text": "x"}
    )
    assert (status, body["error"]["code"]) == (400, "INVALID_REQUEST"), body
    assert "captions of images, videos and documents" in body["error"]["message"]
    status, body = await api(
        client,
        "POST",
        "/polls",
        {"token": TOKEN, "to": PEER, "question": "When?", "options": ["Mon", "Tue"]},
    )
    assert status == 200
    poll = body["data"]["messageId"]
    status, body = await api(
        client, "PATCH", f"/messages/{poll}", {"token": TOKEN, "chat": PEER, "text": "x"}
    )
    assert (status, body["error"]["code"]) == (400, "INVALID_REQUEST"), body
    # Refused edits sent nothing (the poll itself is the one new message).
    assert len((await sent_log(client))["messages"]) == sends + 1
    await linked.close()
