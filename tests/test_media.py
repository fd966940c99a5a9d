"""Media end to end: POST /messages/media (upload, base64, url) and downloading incoming media, through the
real gateway and the sandbox engine worker."""

from __future__ import annotations

import base64
import io
import stat
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient, AiohttpServer

from .conftest import AUTH, SettingsFactory
from .harness import api, wait_for
from .media_samples import JPEG, MP4, OGG_OPUS, PDF, png, sha256
from .messaging_harness import (
    PEER,
    PEER_JID,
    TOKEN,
    incoming,
    incoming_media,
    last_sent,
    linked_gateway,
    post_form,
    sent_log,
)
from .webhooks.webhook_harness import eventually

pytestmark = pytest.mark.slow


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def outgoing_files(data_dir: Path) -> list[Path]:
    directory = data_dir / "media" / "outgoing"
    return list(directory.iterdir()) if directory.exists() else []


def fake_ffmpeg_path(directory: Path) -> str:
    """A PATH holding stand-ins for ffmpeg and ffprobe: the sandbox never runs them, the gateway only
    looks them up."""
    directory.mkdir()
    for name in ("ffmpeg", "ffprobe"):
        tool = directory / name
        tool.write_text("#!/bin/sh\nexit 0\n")
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return str(directory)


async def test_send_image_upload_and_document_base64(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    image = png(extra=200_000)  # more than one read chunk, streamed to disk
    form = aiohttp.FormData()
    form.add_field("token", TOKEN)
    form.add_field("to", "0198765432")
    form.add_field("type", "image")
    form.add_field("caption", "a red dot")
    form.add_field("file", image, filename="dot.png", content_type="application/octet-stream")
    status, body = await post_form(client, "/messages/media", form)
    assert status == 200, body
    assert body["message"] == "Media sent"
    data = body["data"]
    assert (data["type"], data["mimetype"], data["size"]) == ("image", "image/png", len(image))
    sent = await last_sent(client)
    assert sent["id"] == data["messageId"] and sent["to"] == PEER_JID
    assert (sent["kind"], sent["mimetype"], sent["caption"]) == ("image", "image/png", "a red dot")
    assert (sent["size"], sent["sha256"]) == (len(image), sha256(image))
    assert sent["filename"] is None  # only documents carry a name

    quoted = await incoming(client, {"text": "send me the report"})
    status, body = await api(
        client,
        "POST",
        "/messages/media",
        {"token": TOKEN, "to": PEER, "type": "document", "base64": b64(PDF), "replyTo": quoted},
    )
    assert status == 200, body
    assert (body["data"]["mimetype"], body["data"]["filename"]) == ("application/pdf", "document.pdf")
    sent = await last_sent(client)
    assert (sent["kind"], sent["mimetype"], sent["filename"]) == (
        "document",
        "application/pdf",
        "document.pdf",
    )
    assert (sent["replyTo"], sent["sha256"]) == (quoted, sha256(PDF))

    # A data: URL and a chosen name; a document's declared type is kept.
    status, body = await api(
        client,
        "POST",
        "/messages/media",
        {
            "token": TOKEN,
            "to": PEER,
            "type": "document",
            "base64": "data:text/csv;base64," + b64(b"a,b\n1,2\n"),
            "filename": "numbers.csv",
            "mimetype": "text/csv",
            "caption": "the numbers",
        },
    )
    assert status == 200, body
    sent = await last_sent(client)
    assert (sent["mimetype"], sent["filename"], sent["caption"]) == ("text/csv", "numbers.csv", "the numbers")
    # Every temporary file is gone once the engine answered.
    assert outgoing_files(linked.settings.data_dir) == []
    await linked.close()


def media_server(files: dict[str, bytes]) -> web.Application:
    async def serve(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in files:
            raise web.HTTPNotFound()
        return web.Response(body=files[name])

    app = web.Application()
    app.router.add_get("/media/{name}", serve)
    return app


async def test_send_by_url_when_private_urls_are_allowed(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    server = await aiohttp_server(media_server({"cat.jpg": JPEG, "big.png": png(extra=2000)}))
    linked = await linked_gateway(
        aiohttp_client, make_settings, MEDIA_ALLOW_PRIVATE_URLS="true", MEDIA_MAX_STICKER_BYTES=1000
    )
    client = linked.client
    url = str(server.make_url("/media/cat.jpg"))
    status, body = await api(
        client, "POST", "/messages/media", {"token": TOKEN, "to": PEER, "type": "sticker", "url": url}
    )
    assert status == 200, body
    sent = await last_sent(client)
    assert (sent["kind"], sent["mimetype"], sent["sha256"]) == ("sticker", "image/jpeg", sha256(JPEG))
    status, body = await api(
        client,
        "POST",
        "/messages/media",
        {"token": TOKEN, "to": PEER, "type": "sticker", "url": str(server.make_url("/media/big.png"))},
    )
    assert (status, body["error"]["code"]) == (413, "MEDIA_TOO_LARGE"), body
    assert body["error"]["message"] == "Media file is too large: sticker files may be at most 1000 bytes"
    status, body = await api(
        client,
        "POST",
        "/messages/media",
        {"token": TOKEN, "to": PEER, "type": "image", "url": str(server.make_url("/media/none.png"))},
    )
    assert (status, body["error"]["code"]) == (422, "MEDIA_FETCH_FAILED"), body
    assert body["error"]["message"] == "Could not download the media url: HTTP 404"
    await linked.close()


async def test_media_validation_errors(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    server = await aiohttp_server(media_server({"cat.jpg": JPEG}))
    small_limits = {f"MEDIA_MAX_{kind}_BYTES": 100_000 for kind in ("VIDEO", "AUDIO", "DOCUMENT", "STICKER")}
    linked = await linked_gateway(aiohttp_client, make_settings, MEDIA_MAX_IMAGE_BYTES=100, **small_limits)
    client = linked.client
    base = {"token": TOKEN, "to": PEER}
    small_png = png()
    cases = [
        ({"to": PEER, "type": "image", "base64": b64(small_png)}, 400, "MISSING_TOKEN"),
        ({**base, "type": "gif", "base64": b64(small_png)}, 400, "INVALID_MEDIA_TYPE"),
        ({**base, "base64": b64(small_png)}, 400, "INVALID_MEDIA_TYPE"),
        ({**base, "type": "image"}, 400, "INVALID_MEDIA"),
        (
            {**base, "type": "image", "base64": b64(small_png), "url": "https://example.com/x.png"},
            400,
            "INVALID_MEDIA",
        ),
        ({**base, "type": "image", "base64": "not base64!"}, 400, "INVALID_MEDIA"),
        ({**base, "type": "image", "base64": b64(PDF)}, 400, "INVALID_MEDIA"),  # a PDF is not an image
        ({**base, "type": "image", "base64": b64(png(extra=200))}, 413, "MEDIA_TOO_LARGE"),
        ({**base, "type": "image", "url": "ftp://example.com/x.png"}, 400, "INVALID_MEDIA_URL"),
        ({**base, "type": "image", "url": "http://"}, 400, "INVALID_MEDIA_URL"),
        (
            {**base, "type": "image", "url": str(server.make_url("/media/cat.jpg"))},
            400,
            "MEDIA_URL_NOT_ALLOWED",
        ),
        (
            {**base, "type": "image", "url": f"http://localhost:{server.port}/media/cat.jpg"},
            400,
            "MEDIA_URL_NOT_ALLOWED",
        ),
        ({**base, "type": "sticker", "base64": b64(small_png), "caption": "x"}, 400, "INVALID_MEDIA"),
        ({**base, "type": "document", "base64": b64(PDF), "filename": "../x.pdf"}, 400, "INVALID_MEDIA"),
        ({**base, "type": "document", "base64": b64(PDF), "mimetype": "pdf"}, 400, "INVALID_MEDIA"),
        ({**base, "type": "image", "base64": b64(small_png), "mimetype": "image/jpeg"}, 400, "INVALID_MEDIA"),
        ({**base, "type": "image", "base64": ""}, 400, "INVALID_MEDIA"),
        (
            {**base, "type": "image", "base64": b64(small_png), "replyTo": "no such/id"},
            400,
            "INVALID_MESSAGE_ID",
        ),
        (
            {**base, "type": "image", "base64": b64(small_png), "replyTo": "3EB0UNKNOWN"},
            404,
            "MESSAGE_NOT_FOUND",
        ),
        ({**base, "to": "bogus@g.us", "type": "image", "base64": b64(small_png)}, 400, "INVALID_PHONE"),
        (
            {**base, "token": "60111111111", "type": "image", "base64": b64(small_png)},
            404,
            "DEVICE_NOT_FOUND",
        ),
    ]
    for body_in, status, code in cases:
        status_out, body = await api(client, "POST", "/messages/media", body_in)
        assert (status_out, body["error"]["code"]) == (status, code), (body_in, body)
    status, body = await api(client, "POST", "/messages/media", {**base, "type": "image", "base64": b64(PDF)})
    assert body["error"]["message"] == (
        "The file is not a supported image format (accepted: image/jpeg, image/png, image/webp; "
        "got application/pdf)"
    )

    # An upload over its kind's limit is cut off while it streams (type sent before the file).
    form = aiohttp.FormData()
    form.add_field("token", TOKEN)
    form.add_field("to", PEER)
    form.add_field("type", "image")
    form.add_field("file", png(extra=5000), filename="big.png")
    status, body = await post_form(client, "/messages/media", form)
    assert (status, body["error"]["code"]) == (413, "MEDIA_TOO_LARGE"), body
    # Two files, or a file under another name, are refused.
    form = aiohttp.FormData()
    form.add_field("token", TOKEN)
    form.add_field("type", "image")
    form.add_field("photo", png(), filename="a.png")
    status, body = await post_form(client, "/messages/media", form)
    assert (status, body["error"]["code"]) == (400, "INVALID_MEDIA"), body
    # Broken multipart framing is a client error, never a server error.
    for content_type, raw in (
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="\x15\xc2"\r\n',
        ),
        ("multipart/form-data", b"no boundary at all"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nbroken header line\r\n\r\nx\r\n--xyz--\r\n"),
    ):
        resp = await client.post("/messages/media", data=raw, headers={**AUTH, "Content-Type": content_type})
        assert resp.status == 400, (content_type, raw)
        assert (await resp.json())["error"]["code"] in ("INVALID_MEDIA", "INVALID_REQUEST")
    # A JSON body larger than any media could be is refused before it is read.
    huge = b'{"token":"' + b"1" * (1024 * 1024) + b'"}'
    resp = await client.post(
        "/messages/media", data=io.BytesIO(huge), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert resp.status == 413 and (await resp.json())["error"]["code"] == "PAYLOAD_TOO_LARGE"
    # Nothing the refused requests spooled is left behind.
    assert outgoing_files(linked.settings.data_dir) == []

    await api(client, "POST", "/devices", {"token": "60111111111"})
    status, body = await api(
        client,
        "POST",
        "/messages/media",
        {**base, "token": "60111111111", "type": "image", "base64": b64(small_png)},
    )
    assert (status, body["error"]["code"]) == (409, "DEVICE_NOT_CONNECTED")
    assert sent_log_kinds(await sent_log(client)) == []
    await linked.close()


def sent_log_kinds(log: dict) -> list[str]:
    return [m["kind"] for m in log["messages"]]


async def test_audio_and_video_need_ffmpeg(
    aiohttp_client: AiohttpClient,
    make_settings: SettingsFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    empty = tmp_path / "no-ffmpeg"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    for kind, data in (("voice", OGG_OPUS), ("audio", OGG_OPUS), ("video", MP4)):
        status, body = await api(
            client, "POST", "/messages/media", {"token": TOKEN, "to": PEER, "type": kind, "base64": b64(data)}
        )
        assert (status, body["error"]["code"]) == (422, "FFMPEG_UNAVAILABLE"), (kind, body)
        assert "ffmpeg" in body["error"]["message"]
    # Images and documents do not need it.
    for kind, data in (("image", png()), ("document", PDF)):
        status, body = await api(
            client, "POST", "/messages/media", {"token": TOKEN, "to": PEER, "type": kind, "base64": b64(data)}
        )
        assert status == 200, body
    assert sent_log_kinds(await sent_log(client)) == ["image", "document"]
    await linked.close()


async def test_voice_and_video_with_ffmpeg(
    aiohttp_client: AiohttpClient,
    make_settings: SettingsFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("PATH", fake_ffmpeg_path(tmp_path / "bin"))
    linked = await linked_gateway(aiohttp_client, make_settings, TYPING_DELAY_MS=50)
    client = linked.client
    status, body = await api(
        client,
        "POST",
        "/messages/media",
        {"token": TOKEN, "to": PEER, "type": "voice", "base64": b64(OGG_OPUS)},
    )
    assert status == 200, body
    sent = await last_sent(client)
    assert (sent["kind"], sent["mimetype"]) == ("voice", "audio/ogg; codecs=opus")
    assert sent["presence"] == ["recording", "paused"]
    status, body = await api(
        client,
        "POST",
        "/messages/media",
        {"token": TOKEN, "to": PEER, "type": "video", "base64": b64(MP4), "caption": "clip"},
    )
    assert status == 200, body
    sent = await last_sent(client)
    assert (sent["kind"], sent["mimetype"], sent["caption"]) == ("video", "video/mp4", "clip")
    await linked.close()


async def test_download_incoming_media(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, aiohttp_server, SANDBOX_RECONNECT_MS=60000)
    client, receiver = linked.client, linked.receiver
    assert receiver is not None
    photo = png(extra=3000)
    replied = await incoming(client, {"text": "earlier"})
    photo_id = await incoming_media(
        client,
        photo,
        kind="image",
        mimetype="image/png",
        filename='holiday "best".png',
        caption="look",
        replyTo=replied,
        mentions=[f"{TOKEN}@s.whatsapp.net"],
    )
    text_id = await incoming(client, {"text": "no media here"})

    def received() -> list[dict]:
        return [r.payload["data"] for r in receiver.delivered() if r.payload["event"] == "message.received"]

    await eventually(lambda: len(received()) == 3, what="three message.received webhooks")
    event = next(e for e in received() if e["id"] == photo_id)
    assert (event["type"], event["caption"], event["replyTo"]) == ("image", "look", replied)
    assert event["media"] == {"mimetype": "image/png", "size": len(photo), "filename": 'holiday "best".png'}
    assert event["mentions"] == [f"{TOKEN}@s.whatsapp.net"]
    plain = next(e for e in received() if e["id"] == text_id)
    assert (plain["type"], plain["media"], plain["caption"], plain["mentions"]) == ("text", None, None, [])

    resp = await client.get(f"/messages/{TOKEN}/{photo_id}/media", headers=AUTH)
    assert resp.status == 200
    assert await resp.read() == photo
    assert resp.headers["Content-Type"] == "image/png"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="holiday__best_.png"')
    assert "filename*=UTF-8''holiday%20%22best%22.png" in disposition
    stored = linked.settings.data_dir / "media" / "incoming" / TOKEN
    assert [p.read_bytes() for p in stored.iterdir()] == [photo]

    # While it is held, the file is served even when the device is offline.
    await api(client, "POST", f"/sandbox/devices/{TOKEN}/disconnect")
    await linked.listener.next("connection-error", TOKEN)
    again = await client.get(f"/messages/{TOKEN}/{photo_id}/media", headers=AUTH)
    assert again.status == 200 and await again.read() == photo
    status, body = await api(client, "GET", f"/messages/{TOKEN}/{text_id}/media")
    assert (status, body["error"]["code"]) == (409, "DEVICE_NOT_CONNECTED")
    await api(client, "POST", "/devices", {"token": TOKEN})
    await linked.listener.next("connection-success", TOKEN)

    for path, status, code in (
        (f"/messages/{TOKEN}/{text_id}/media", 404, "MEDIA_NOT_FOUND"),
        (f"/messages/{TOKEN}/3EB0FFFFFFFFFFFFFFFFFF/media", 404, "MESSAGE_NOT_FOUND"),
        (f"/messages/{TOKEN}/..%2F..%2Fetc/media", 400, "INVALID_MESSAGE_ID"),
        (f"/messages/abc/{photo_id}/media", 400, "INVALID_TOKEN"),
        (f"/messages/60111111111/{photo_id}/media", 404, "DEVICE_NOT_FOUND"),
    ):
        status_out, body = await api(client, "GET", path)
        assert (status_out, body["error"]["code"]) == (status, code), path
    await linked.close()


async def test_downloaded_media_expires(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings, MEDIA_RETENTION_SECONDS=1)
    client = linked.client
    message_id = await incoming_media(client, PDF, kind="document", mimetype="application/pdf")
    resp = await client.get(f"/messages/{TOKEN}/{message_id}/media", headers=AUTH)
    assert resp.status == 200 and await resp.read() == PDF
    assert resp.headers["Content-Disposition"].startswith(f'attachment; filename="{message_id}.pdf"')
    stored = linked.settings.data_dir / "media" / "incoming" / TOKEN

    async def swept() -> bool:
        return not any(stored.iterdir())

    await wait_for(swept, within=10, what="the retention sweep")
    # The engine still holds the message: asking again downloads it again.
    resp = await client.get(f"/messages/{TOKEN}/{message_id}/media", headers=AUTH)
    assert resp.status == 200 and await resp.read() == PDF
    await linked.close()
