"""Media pieces on their own: sniffing, kinds, base64 and upload spooling, URL fetching against real local
servers, the ffmpeg probe, incoming retention, reactions' emoji rule, recipients and download headers."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
import stat
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from wa_gateway import errors
from wa_gateway.clock import ManualClock
from wa_gateway.media import kinds
from wa_gateway.media.fetch import (
    UrlFetcher,
    UrlFetchFailed,
    UrlInvalid,
    UrlNotAllowed,
    any_address,
    public_only,
)
from wa_gateway.media.ffmpeg import RECHECK_SECONDS, FfmpegProbe
from wa_gateway.media.incoming import IncomingMedia
from wa_gateway.media.sniff import sniff
from wa_gateway.media.spool import (
    FLUSH_BYTES,
    InvalidBase64,
    MediaTooLarge,
    Spool,
    data_url_type,
    spool_base64,
)
from wa_gateway.messaging.download_api import content_disposition
from wa_gateway.messaging.emoji import is_single_emoji
from wa_gateway.messaging.recipients import Recipients, group_jid, with_mention_tags
from wa_gateway.phone import PhoneRules

from . import media_samples as samples
from .harness import wait_for


def test_sniffing_reads_signatures_not_names() -> None:
    assert sniff(samples.png()) == "image/png"
    assert sniff(samples.JPEG) == "image/jpeg"
    assert sniff(samples.WEBP) == "image/webp"
    assert sniff(samples.MP4) == "video/mp4"
    assert sniff(samples.M4A) == "audio/mp4"
    assert sniff(samples.OGG_OPUS) == "audio/ogg; codecs=opus"
    assert sniff(samples.OGG_VORBIS) == "audio/ogg"
    assert sniff(samples.MP3) == "audio/mpeg"
    assert sniff(b"\xff\xf1\x50\x80" + b"\x00" * 16) == "audio/aac"
    assert sniff(b"#!AMR\n" + b"\x00" * 8) == "audio/amr"
    assert sniff(b"\x00\x00\x00\x14ftyp3gp5\x00\x00\x00\x00") == "video/3gpp"
    assert sniff(samples.PDF) == "application/pdf"
    assert sniff(samples.ZIP) == "application/zip"
    assert sniff(b"hello, world") is None
    assert sniff(b"") is None


def api_error(call: object) -> errors.ApiError:
    with pytest.raises(errors.ApiError) as caught:
        assert callable(call)
        call()
    return caught.value


def test_outgoing_mimetype_follows_the_content() -> None:
    resolve = kinds.outgoing_mimetype
    assert resolve("image", "image/png", None, None, "text/html") == "image/png"
    assert resolve("voice", "audio/ogg; codecs=opus", "audio/ogg", None, None) == "audio/ogg; codecs=opus"
    # An audio-only MP4 with a generic brand is still sent as audio.
    assert resolve("audio", "video/mp4", None, None, None) == "audio/mp4"
    pdf_as_image = api_error(lambda: resolve("image", "application/pdf", None, None, None))
    assert (pdf_as_image.status, pdf_as_image.code) == (400, "INVALID_MEDIA")
    assert (
        "not a supported image format" in pdf_as_image.message and "application/pdf" in pdf_as_image.message
    )
    vorbis_voice = api_error(lambda: resolve("voice", "audio/ogg", None, None, None))
    assert "voice" in vorbis_voice.message
    unknown = api_error(lambda: resolve("sticker", None, None, None, None))
    assert "an unrecognised format" in unknown.message
    lying = api_error(lambda: resolve("image", "image/png", "image/jpeg", None, None))
    assert lying.message == errors.MIMETYPE_MISMATCH.message


def test_document_mimetype_and_name() -> None:
    resolve = kinds.outgoing_mimetype
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert resolve("document", "application/zip", None, "report.docx", None) == docx
    assert resolve("document", "application/pdf", None, "report.docx", None) == "application/pdf"
    assert resolve("document", None, "text/csv", None, None) == "text/csv"
    assert resolve("document", None, None, None, "text/plain; charset=utf-8") == "text/plain"
    assert resolve("document", None, None, None, None) == kinds.OCTET_STREAM
    assert kinds.default_filename("document", "application/pdf") == "document.pdf"
    assert kinds.default_filename("image", "image/png") is None


def test_filenames_and_mimetypes_are_checked() -> None:
    assert kinds.valid_filename("Résumé 2024.pdf") == "Résumé 2024.pdf"
    for bad in ("../etc/passwd", "a/b.pdf", "a\\b", "..", "x\ny", "evil\u202etxt.exe", "a" * 256, " x"):
        assert api_error(lambda bad=bad: kinds.valid_filename(bad)).code == "INVALID_MEDIA", bad
    assert kinds.safe_filename("C:\\Users\\me\\photo.jpg") == "photo.jpg"
    assert kinds.safe_filename("/") is None
    assert kinds.valid_mimetype("audio/ogg; codecs=opus") == "audio/ogg; codecs=opus"
    for bad in ("image", "image/", "/png", "image/png\r\nX-Evil: 1", "image/png; a"):
        assert api_error(lambda bad=bad: kinds.valid_mimetype(bad)).code == "INVALID_MEDIA", bad


def test_limits_per_kind() -> None:
    limits = kinds.MediaLimits(image=10, video=20, audio=30, document=40, sticker=5)
    assert [limits.for_kind(k) for k in ("image", "video", "audio", "voice", "document", "sticker")] == [
        10,
        20,
        30,
        30,
        40,
        5,
    ]
    assert limits.largest == 40
    error = kinds.too_large("image", 10)
    assert (error.status, error.code) == (413, "MEDIA_TOO_LARGE")
    assert error.message == "Media file is too large: image files may be at most 10 bytes"


async def test_base64_is_decoded_to_disk_with_a_cap(tmp_path: Path) -> None:
    data = samples.png(extra=3000)
    text = base64.b64encode(data).decode()
    media = await spool_base64(tmp_path, text, len(data))
    assert media.path.read_bytes() == data and media.size == len(data)
    assert media.head == data[:4096]
    # MIME-style line breaks are fine.
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert (await spool_base64(tmp_path, wrapped, len(data))).path.read_bytes() == data
    with pytest.raises(MediaTooLarge):
        await spool_base64(tmp_path / "never", text, len(data) - 1)
    assert not (tmp_path / "never").exists()
    for bad in ("not base64!", "abc", "ab=c", "é" * 4, text[:-1]):
        with pytest.raises(InvalidBase64):
            await spool_base64(tmp_path / "bad", bad, 10**6)
    assert not (tmp_path / "bad").exists()  # refused before a file was created
    assert data_url_type("data:image/png;base64,AAAA") == ("AAAA", "image/png")
    assert data_url_type("AAAA") == ("AAAA", None)


async def test_spool_flushes_in_chunks_and_enforces_its_cap(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "out", FLUSH_BYTES * 2 + 10)
    block = os.urandom(FLUSH_BYTES // 2 + 1)
    for _ in range(4):
        await spool.write(block)
    media = await spool.finish("a.bin", "application/octet-stream")
    assert media.path.read_bytes() == block * 4 and media.size == len(block) * 4
    assert (media.filename, media.content_type) == ("a.bin", "application/octet-stream")
    capped = Spool(tmp_path / "out", 10)
    await capped.write(b"12345")
    with pytest.raises(MediaTooLarge):
        await capped.write(b"123456")
    await capped.discard()
    assert not capped.path.exists()


def file_server(body: bytes = samples.PDF, **headers: str) -> web.Application:
    """Serves ``body`` at /file, redirects, errors and a request that never answers."""
    never = asyncio.Event()

    async def file(request: web.Request) -> web.StreamResponse:
        if request.query.get("chunked"):
            response = web.StreamResponse(headers=headers)
            await response.prepare(request)
            for start in range(0, len(body), 100):
                await response.write(body[start : start + 100])
            await response.write_eof()
            return response
        return web.Response(body=body, headers=headers)

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def missing(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    async def hang(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    app = web.Application()
    app.router.add_get("/file", file)
    app.router.add_get("/files/{name}", file)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/loop", loop)
    app.router.add_get("/missing", missing)
    app.router.add_get("/hang", hang)
    return app


async def test_fetch_refuses_loopback_and_private_addresses(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    server = await aiohttp_server(file_server())
    fetcher = UrlFetcher(timeout_s=5)
    for url in (
        f"http://127.0.0.1:{server.port}/file",
        f"http://localhost:{server.port}/file",  # a name: refused by the resolver's vetting
        f"http://[::1]:{server.port}/file",
        "http://10.1.2.3/file",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/file",
    ):
        with pytest.raises(UrlNotAllowed):
            await fetcher.fetch(url, tmp_path / "out", 10**6)
    for url in (
        "ftp://example.com/file",
        "file:///etc/passwd",
        "http://",
        "http://127.1/file",
        "http://[::1/",
    ):
        with pytest.raises(UrlInvalid):
            await fetcher.fetch(url, tmp_path / "out", 10**6)
    assert not (tmp_path / "out").exists()


def test_address_policy() -> None:
    allowed = ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"]
    refused = [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "fc00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",  # 6to4 wrapping 127.0.0.1
    ]
    assert all(public_only(ipaddress.ip_address(a)) for a in allowed)
    assert not any(public_only(ipaddress.ip_address(a)) for a in refused)


async def test_fetch_downloads_when_private_addresses_are_allowed(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    body = samples.png(extra=5000)
    server = await aiohttp_server(file_server(body, **{"Content-Type": "image/png"}))
    fetcher = UrlFetcher(timeout_s=5, policy=any_address)
    media = await fetcher.fetch(f"http://127.0.0.1:{server.port}/file", tmp_path, len(body))
    assert media.path.read_bytes() == body
    assert (media.size, media.filename, media.content_type) == (len(body), "file", "image/png")
    redirected = await fetcher.fetch(
        f"http://127.0.0.1:{server.port}/redirect?to=/files/report%2520final.pdf", tmp_path, len(body)
    )
    assert redirected.path.read_bytes() == body and redirected.filename == "report final.pdf"
    named = UrlFetcher(timeout_s=5, policy=any_address)
    disposition_server = await aiohttp_server(
        file_server(body, **{"Content-Disposition": 'attachment; filename="cat.png"'})
    )
    assert (
        await named.fetch(str(disposition_server.make_url("/file")), tmp_path, 10**6)
    ).filename == "cat.png"


async def test_fetch_checks_every_redirect(aiohttp_server: AiohttpServer, tmp_path: Path) -> None:
    server = await aiohttp_server(file_server())
    # The first hop is allowed; the redirect target is not, and is never contacted.
    only_first = UrlFetcher(timeout_s=5, policy=lambda a: a == ipaddress.ip_address("127.0.0.1"))
    with pytest.raises(UrlNotAllowed):
        await only_first.fetch(
            f"http://127.0.0.1:{server.port}/redirect?to=http://127.0.0.2:{server.port}/file", tmp_path, 10**6
        )
    fetcher = UrlFetcher(timeout_s=5, policy=any_address)
    with pytest.raises(UrlFetchFailed, match="too many redirects"):
        await fetcher.fetch(f"http://127.0.0.1:{server.port}/loop", tmp_path, 10**6)
    with pytest.raises(UrlFetchFailed, match="HTTP 404"):
        await fetcher.fetch(f"http://127.0.0.1:{server.port}/missing", tmp_path, 10**6)


async def test_fetch_caps_size_and_time(aiohttp_server: AiohttpServer, tmp_path: Path) -> None:
    body = b"x" * 1000
    server = await aiohttp_server(file_server(body))
    fetcher = UrlFetcher(timeout_s=5, policy=any_address)
    out = tmp_path / "out"
    with pytest.raises(MediaTooLarge):  # refused from Content-Length
        await fetcher.fetch(str(server.make_url("/file")), out, 999)
    with pytest.raises(MediaTooLarge):  # no Content-Length: refused while streaming
        await fetcher.fetch(str(server.make_url("/file?chunked=1")), out, 999)
    assert not out.exists()  # nothing reached the disk
    streamed = await fetcher.fetch(str(server.make_url("/file?chunked=1")), out, 1000)
    assert streamed.path.read_bytes() == body
    slow = UrlFetcher(timeout_s=0.3, policy=any_address)
    with pytest.raises(UrlFetchFailed, match="timed out"):
        await slow.fetch(str(server.make_url("/hang")), out, 1000)
    with pytest.raises(UrlFetchFailed, match="connection failed"):
        await fetcher.fetch(f"http://127.0.0.1:{_closed_port()}/file", out, 1000)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_tool(directory: Path, name: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tool = directory / name
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)


async def test_ffmpeg_probe_needs_both_tools_and_rechecks(tmp_path: Path) -> None:
    both, half = tmp_path / "both", tmp_path / "half"
    make_tool(both, "ffmpeg")
    make_tool(both, "ffprobe")
    make_tool(half, "ffmpeg")
    assert await FfmpegProbe(str(both)).available() is True
    assert await FfmpegProbe(str(half)).available() is False
    clock = ManualClock()
    later = tmp_path / "later"
    later.mkdir()
    probe = FfmpegProbe(str(later), clock=clock)
    assert await probe.available() is False
    make_tool(later, "ffmpeg")
    make_tool(later, "ffprobe")
    assert await probe.available() is False  # the answer is kept for a while
    clock.advance(RECHECK_SECONDS)
    assert await probe.available() is True


async def test_incoming_media_is_held_then_swept(tmp_path: Path) -> None:
    clock = ManualClock()
    incoming = IncomingMedia(tmp_path, retention_s=100, clock=clock)
    device_dir = incoming.root / "60123456789"
    device_dir.mkdir(parents=True)
    fresh, stale = device_dir / "FRESH", device_dir / "STALE"
    fresh.write_bytes(b"new")
    stale.write_bytes(b"old")
    os.utime(stale, (clock.time() - 101, clock.time() - 101))
    os.utime(fresh, (clock.time(), clock.time()))
    outside = tmp_path / "elsewhere"
    outside.write_bytes(b"x")

    result = {"path": str(fresh), "mimetype": "image/png", "filename": "../../x.png", "size": 3}
    held = await incoming.accept("60123456789", "FRESH", result)
    assert held is not None and (held.mimetype, held.filename, held.size) == ("image/png", "x.png", 3)
    assert await incoming.accept("60123456789", "X", {"path": str(outside)}) is None
    other_device = await incoming.accept("60111111111", "FRESH", result)
    assert other_device is None  # a path outside that device's own directory
    weird = await incoming.accept("60123456789", "W", {"path": str(fresh), "mimetype": "x\r\ny"})
    assert weird is not None and weird.mimetype == kinds.OCTET_STREAM
    assert await incoming.held("60123456789", "FRESH") == held

    assert await incoming.sweep() == 1
    assert fresh.exists() and not stale.exists()
    clock.advance(100)
    os.utime(fresh, (clock.time() - 100, clock.time() - 100))
    assert await incoming.held("60123456789", "FRESH") is None
    assert await incoming.sweep() == 1 and not fresh.exists()


async def test_cleanup_context_clears_outgoing_leftovers_and_stops(tmp_path: Path) -> None:
    clock = ManualClock()
    incoming = IncomingMedia(tmp_path, retention_s=10, clock=clock)
    incoming.outgoing.mkdir(parents=True)
    (incoming.outgoing / "left-by-a-crash").write_bytes(b"x")
    context = incoming.cleanup_ctx(web.Application())
    await anext(context)
    assert list(incoming.outgoing.iterdir()) == []

    async def sweeper_waiting() -> bool:  # it ran once and waits for its next round
        return clock.sleepers == 1

    await wait_for(sweeper_waiting, within=5, what="the sweeper's first round")
    with pytest.raises(StopAsyncIteration):
        await anext(context)
    assert clock.sleepers == 0


def test_one_emoji_per_reaction() -> None:
    good = ["👍", "❤️", "❤", "😂", "🏳️‍🌈", "👨‍👩‍👧‍👦", "👍🏽", "#️⃣", "🇲🇾", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "❤️‍🔥", "🧑🏻‍❤️‍💋‍🧑🏼", "🫠"]
    bad = ["a", "ok", "👍👍", "👍 ", " 👍", "1", "🇲", "👍a", "\u200d", "👍\u200d", "🏽", "🇲🇾🇲🇾", "<3"]
    assert [g for g in good if not is_single_emoji(g)] == []
    assert [b for b in bad if is_single_emoji(b)] == []


def test_recipients_accept_phones_and_jids() -> None:
    recipients = Recipients(PhoneRules("60", 11, 12))
    assert recipients.to("0198765432") == "60198765432@s.whatsapp.net"
    assert recipients.to("60198765432@s.whatsapp.net") == "60198765432@s.whatsapp.net"
    assert recipients.to("123456789012345@lid") == "123456789012345@lid"
    assert recipients.to("120363012345678901@g.us") == "120363012345678901@g.us"
    assert recipients.to("60123456789-1600000000@g.us") == "60123456789-1600000000@g.us"
    for bad, code_message in (
        ("12345", errors.INVALID_PHONE.message),
        ("60198765432@s.whatsapp.net\n", errors.INVALID_RECIPIENT.message),
        ("٦٠١٩٨٧٦٥٤٣٢@s.whatsapp.net", errors.INVALID_RECIPIENT.message),
        ("abc@g.us", errors.INVALID_RECIPIENT.message),
        ("60198765432@S.WHATSAPP.NET", errors.INVALID_RECIPIENT.message),
        ("1@broadcast", errors.INVALID_RECIPIENT.message),
    ):
        error = api_error(lambda bad=bad: recipients.to(bad))
        assert (error.code, error.message) == ("INVALID_PHONE", code_message), bad
    assert recipients.mentions(["0198765432", "60198765432", "777@lid"]) == [
        "60198765432@s.whatsapp.net",
        "777@lid",
    ]
    for bad_mentions in ("60198765432", ["120363012345678901@g.us"], [5], ["1"] * 1025):
        error = api_error(lambda m=bad_mentions: recipients.mentions(m))
        assert error.code == "INVALID_MENTIONS"
    assert group_jid("120363012345678901") == "120363012345678901@g.us"
    assert group_jid("x@g.us") is None


def test_mention_tags_are_added_once() -> None:
    jids = ["60198765432@s.whatsapp.net", "777@lid"]
    assert with_mention_tags("hi @60198765432", jids) == "hi @60198765432 @777"
    assert with_mention_tags("hi @601987654321", jids[:1]) == "hi @601987654321 @60198765432"
    assert with_mention_tags("hi", []) == "hi"


def test_content_disposition_is_safe() -> None:
    assert content_disposition("report.pdf") == (
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
    )
    header = content_disposition('Résumé "final";\r\n.pdf')
    assert "\r" not in header and "\n" not in header
    assert header.startswith('attachment; filename="R_sum_')
    assert "filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%3B%0D%0A.pdf" in header
