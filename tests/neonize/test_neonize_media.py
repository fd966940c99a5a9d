"""Media goes out through neonize's own builders (upload included) and incoming media comes back down."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import FutureProofMessage, ImageMessage, VideoMessage
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message as WAMessage
from neonize.utils import build_jid
from PIL import Image

from tests.neonize.neonize_fakes import (
    TOKEN,
    FakeGo,
    FakeSession,
    Recorder,
    make_paired_db,
    text_message,
    wait_until,
)
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.engine import contract as c

ALICE_JID = "15557654321@s.whatsapp.net"
ALICE = build_jid("15557654321")
FAKE_THUMBNAIL = b"\xff\xd8\xff\xe0 a video frame"


def outgoing(settings: NeonizeSettings, name: str, data: bytes) -> Path:
    path = settings.data_dir / "media" / "outgoing" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def png(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def sent_message(fake_go: FakeGo) -> Any:
    (call,) = fake_go.called("SendMessage")
    return WAMessage.FromString(call.args[3])


async def engine_error(awaitable: Any) -> c.EngineError:
    with pytest.raises(c.EngineError) as info:
        await awaitable
    return info.value


@pytest.fixture
def fake_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ffprobe and ffmpeg stand-ins first on PATH: a 3.5 s stream, and one video frame as thumbnail."""
    tools = tmp_path / "bin"
    tools.mkdir()
    probe = {
        "streams": [{"index": 0, "codec_type": "video"}],
        "format": {"filename": "in", "nb_streams": 1, "duration": "3.5", "size": "100", "tags": {}},
    }
    scripts = {
        "ffprobe": f"import sys; sys.stdout.write({json.dumps(probe)!r})",
        "ffmpeg": f"import sys; sys.stdout.buffer.write({FAKE_THUMBNAIL!r})",
    }
    for name, body in scripts.items():
        script = tools / name
        script.write_text(f"#!{sys.executable}\n{body}\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")


async def test_an_image_with_a_caption_replying_to_a_message(
    backend: NeonizeBackend,
    connected: FakeSession,
    fake_go: FakeGo,
    recorder: Recorder,
    settings: NeonizeSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded_on: list[threading.Thread] = []
    real_open = Image.open

    def recording_open(*args: Any, **kwargs: Any) -> Any:
        decoded_on.append(threading.current_thread())
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", recording_open)
    await asyncio.to_thread(connected.event, 17, text_message("a photo please", ALICE, message_id="IN1"))
    await recorder.wait_for("message")
    data = png()
    path = outgoing(settings, "photo.png", data)
    media = c.OutgoingMedia("image", path, "image/png", caption="here it is", reply_to="IN1")
    reply = await backend.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE_JID, media, 0)
    assert reply.pop("ref")  # what the message store keeps (test_neonize_stored_messages.py)
    assert reply == {"id": "3EB0FAKE0001", "timestamp": 1_700_000_123.0}
    (upload,) = fake_go.called("Upload")
    assert upload.args[1] == data and upload.args[2] == len(data) and upload.args[3] == 0  # MediaImage
    assert upload.readers >= 1 and not upload.writer, "the upload shares the Go lock like every call"
    image = sent_message(fake_go).imageMessage
    assert (image.caption, image.mimetype, image.fileLength) == ("here it is", "image/png", len(data))
    assert image.fileSHA256 == hashlib.sha256(data).digest()
    assert image.directPath.startswith("/v/t62/") and image.URL.startswith("https://")
    assert fake_go.uploads == [(0, data)]
    assert image.mediaKey == hashlib.sha256(b"keys-for-type-0").digest()
    assert image.JPEGThumbnail.startswith(b"\xff\xd8")
    assert (image.contextInfo.stanzaID, image.contextInfo.participant) == ("IN1", ALICE_JID)
    assert await asyncio.to_thread(path.exists), "the gateway removes the file, not the engine"
    assert decoded_on and threading.main_thread() not in decoded_on, "Pillow must not run on the loop"


async def test_a_document_keeps_its_name_and_type(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, settings: NeonizeSettings
) -> None:
    data = b"%PDF-1.4\n%fake report\n"
    path = outgoing(settings, "f1", data)
    media = c.OutgoingMedia("document", path, "application/pdf", filename="report.pdf", caption="Q3")
    await backend.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE_JID, media, 0)
    (upload,) = fake_go.called("Upload")
    assert upload.args[3] == 3  # MediaDocument
    document = sent_message(fake_go).documentMessage
    assert (document.fileName, document.title, document.mimetype, document.caption) == (
        "report.pdf",
        "report.pdf",
        "application/pdf",
        "Q3",
    )


async def test_a_sticker_is_sent_as_webp(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, settings: NeonizeSettings
) -> None:
    path = outgoing(settings, "s1", png(100, 100))
    await backend.handler(c.CMD_SEND_MEDIA)(
        TOKEN, ALICE_JID, c.OutgoingMedia("sticker", path, "image/png"), 0
    )
    (upload,) = fake_go.called("Upload")
    assert upload.args[1][:4] == b"RIFF" and upload.args[1][8:12] == b"WEBP"
    sticker = sent_message(fake_go).stickerMessage
    assert sticker.mimetype == "image/webp" and sticker.fileLength == len(upload.args[1])


@pytest.mark.usefixtures("fake_ffmpeg")
async def test_a_voice_note_is_push_to_talk_opus_and_shows_recording(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, settings: NeonizeSettings
) -> None:
    path = outgoing(settings, "v1", b"OggS\x00\x02fake opus")
    await backend.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE_JID, c.OutgoingMedia("voice", path, "audio/ogg"), 0)
    audio = sent_message(fake_go).audioMessage
    assert (audio.PTT, audio.seconds, audio.mimetype) == (True, 3, "audio/ogg; codecs=opus")
    recording, paused = (call.args[3:] for call in fake_go.called("SendChatPresence"))
    assert recording == (0, 1) and paused == (1, 0)  # composing audio, then paused


@pytest.mark.usefixtures("fake_ffmpeg")
async def test_a_video_gets_its_duration_and_a_frame_as_thumbnail(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, settings: NeonizeSettings
) -> None:
    path = outgoing(settings, "m1", b"\x00\x00\x00\x18ftypmp42 fake video")
    await backend.handler(c.CMD_SEND_MEDIA)(
        TOKEN, ALICE_JID, c.OutgoingMedia("video", path, "video/mp4", caption="clip"), 0
    )
    video = sent_message(fake_go).videoMessage
    assert (video.seconds, video.caption, video.mimetype) == (3, "clip", "video/mp4")
    assert video.JPEGThumbnail == FAKE_THUMBNAIL


async def test_audio_and_video_need_ffmpeg(
    backend: NeonizeBackend,
    connected: FakeSession,
    fake_go: FakeGo,
    settings: NeonizeSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    for kind, mimetype in (("audio", "audio/mpeg"), ("voice", "audio/ogg"), ("video", "video/mp4")):
        media = c.OutgoingMedia(kind, outgoing(settings, kind, b"data"), mimetype)  # type: ignore[arg-type]
        assert (await engine_error(backend.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE_JID, media, 0))).code == (
            c.E_FFMPEG_UNAVAILABLE
        )
    image = c.OutgoingMedia("image", outgoing(settings, "i", png()), "image/png")
    await backend.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE_JID, image, 0)  # images do not need it
    assert len(fake_go.called("Upload")) == 1


async def test_media_that_cannot_be_sent(
    backend: NeonizeBackend,
    connected: FakeSession,
    fake_go: FakeGo,
    settings: NeonizeSettings,
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "secret.png"
    elsewhere.write_bytes(png())
    cases = [
        (c.OutgoingMedia("image", elsewhere, "image/png"), c.E_INVALID_ARGUMENT),
        (
            c.OutgoingMedia("image", settings.data_dir / "media/outgoing/gone", "image/png"),
            c.E_INVALID_ARGUMENT,
        ),
        (
            c.OutgoingMedia("image", outgoing(settings, "t", b"not an image"), "image/png"),
            c.E_INVALID_ARGUMENT,
        ),
        (
            c.OutgoingMedia("sticker", outgoing(settings, "s", png()), "image/png", caption="x"),
            c.E_INVALID_ARGUMENT,
        ),
        (c.OutgoingMedia("voice", outgoing(settings, "v", b"ID3"), "audio/mpeg"), c.E_INVALID_ARGUMENT),
        (
            c.OutgoingMedia("image", outgoing(settings, "r", png()), "image/png", reply_to="NOPE"),
            c.E_MESSAGE_NOT_FOUND,
        ),
    ]
    for media, code in cases:
        assert (
            await engine_error(backend.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE_JID, media, 0))
        ).code == code, media
    assert fake_go.called("SendMessage") == []


def image_event(message_id: str, direct_path: str, **fields: Any) -> Any:
    event = text_message("", ALICE, message_id=message_id)
    image = ImageMessage(
        directPath=direct_path, mimetype="image/jpeg", fileLength=5, mediaKey=b"k" * 32, **fields
    )
    event.Message.CopyFrom(WAMessage(imageMessage=image))
    return event


async def test_incoming_media_is_downloaded_next_to_the_others(
    backend: NeonizeBackend,
    connected: FakeSession,
    fake_go: FakeGo,
    recorder: Recorder,
    settings: NeonizeSettings,
) -> None:
    fake_go.downloads["/v/t62/abc"] = b"JPEG!"
    await asyncio.to_thread(connected.event, 17, image_event("IMG/1", "/v/t62/abc", caption="look"))
    await asyncio.to_thread(connected.event, 17, image_event("IMG2", "/v/t62/expired"))
    await asyncio.to_thread(connected.event, 17, text_message("just text", ALICE, message_id="TXT1"))
    await recorder.wait_for("message", count=3)
    result = await backend.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, "IMG/1")
    path = Path(result["path"])
    assert path.parent == settings.data_dir / "media" / "incoming" / TOKEN
    assert "/" not in path.name and path.name.startswith("IMG_1-")
    assert result == {"path": str(path), "mimetype": "image/jpeg", "filename": None, "size": 5}
    assert await asyncio.to_thread(path.read_bytes) == b"JPEG!"
    (download,) = fake_go.called("DownloadAny")
    assert WAMessage.FromString(download.args[1]).imageMessage.mediaKey == b"k" * 32
    assert (
        await engine_error(backend.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, "IMG2"))
    ).code == c.E_MESSAGE_NOT_FOUND  # 404
    assert (
        await engine_error(backend.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, "TXT1"))
    ).code == c.E_INVALID_ARGUMENT
    assert (
        await engine_error(backend.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, "NEVER"))
    ).code == c.E_MESSAGE_NOT_FOUND
    fake_go.download_error = "failed to download: connection reset"
    assert (
        await engine_error(backend.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, "IMG/1"))
    ).code == c.E_ENGINE_FAILURE


async def test_the_cache_of_a_device_goes_with_its_session(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder
) -> None:
    fake_go.downloads["/v/t62/abc"] = b"JPEG!"
    await asyncio.to_thread(connected.event, 17, image_event("IMG1", "/v/t62/abc"))
    await recorder.wait_for("message")
    assert len(backend.context.caches.of(TOKEN)) == 1
    await backend.logout(TOKEN)
    assert len(backend.context.caches.of(TOKEN)) == 0


@pytest.mark.usefixtures("fake_ffmpeg")
@pytest.mark.parametrize(
    ("kind", "mimetype", "media_type"),
    [("audio", "audio/mp4", 2), ("voice", "audio/ogg", 2), ("video", "video/mp4", 1)],
)
async def test_the_upload_uses_the_keys_of_the_kind_the_message_declares(
    backend: NeonizeBackend,
    connected: FakeSession,
    fake_go: FakeGo,
    settings: NeonizeSettings,
    kind: str,
    mimetype: str,
    media_type: int,
) -> None:
    # An MP4 container: libmagic says video/mp4 even for AAC audio, so a guessed type would be video.
    path = outgoing(settings, f"{kind}.m4a", b"\x00\x00\x00\x18ftypmp42 an mp4 container")
    await backend.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE_JID, c.OutgoingMedia(kind, path, mimetype), 0)  # type: ignore[arg-type]
    assert [uploaded_as for uploaded_as, _ in fake_go.uploads] == [media_type]
    content = getattr(sent_message(fake_go), "videoMessage" if kind == "video" else "audioMessage")
    assert content.mediaKey == hashlib.sha256(b"keys-for-type-%d" % media_type).digest()


def wrapped_media_event(message_id: str, direct_path: str, wrap: str) -> Any:
    event = text_message("", ALICE, message_id=message_id)
    video = VideoMessage(directPath=direct_path, mimetype="video/mp4", fileLength=5, mediaKey=b"v" * 32)
    if wrap == "ptv":
        event.Message.CopyFrom(WAMessage(ptvMessage=video))
    else:
        inner = WAMessage(videoMessage=video)
        event.Message.CopyFrom(WAMessage(**{wrap: FutureProofMessage(message=inner)}))
    return event


@pytest.mark.parametrize("wrap", ["ptv", "associatedChildMessage", "groupStatusMessageV2", "viewOnceMessage"])
async def test_round_videos_album_items_and_wrapped_media_arrive_and_download(
    backend: NeonizeBackend, connected: FakeSession, fake_go: FakeGo, recorder: Recorder, wrap: str
) -> None:
    fake_go.downloads["/v/t62/clip"] = b"MP4!"
    await asyncio.to_thread(connected.event, 17, wrapped_media_event("VID1", "/v/t62/clip", wrap))
    message = await recorder.wait_for("message")
    assert (message["type"], message["media"]) == (
        "video",
        {"mimetype": "video/mp4", "size": 5, "filename": None},
    )
    result = await backend.handler(c.CMD_DOWNLOAD_MEDIA)(TOKEN, "VID1")
    assert result["size"] == 4
    (download,) = fake_go.called("DownloadAny")
    assert WAMessage.FromString(download.args[1]).videoMessage.mediaKey == b"v" * 32


async def test_a_slow_upload_does_not_hold_back_other_devices(
    backend: NeonizeBackend,
    connected: FakeSession,
    fake_go: FakeGo,
    recorder: Recorder,
    settings: NeonizeSettings,
) -> None:
    gate = fake_go.transfer_gate = threading.Event()
    try:
        media = c.OutgoingMedia("image", outgoing(settings, "big.png", png()), "image/png")
        sending = asyncio.create_task(backend.handler(c.CMD_SEND_MEDIA)(TOKEN, ALICE_JID, media, 0))
        await wait_until(lambda: bool(fake_go.called("Upload")), what="the upload started")
        other = "15550000002"
        other_db = settings.sessions_dir / f"{other}.db"
        make_paired_db(other_db, f"{other}:7@s.whatsapp.net")
        fake_go.accounts[str(other_db)] = (other, "Other")
        # Connecting takes the Go lock exclusively; then the other device sends.
        await asyncio.wait_for(backend.connect(other, "restore", ""), 5)
        await recorder.wait_for("connected", other)
        await asyncio.wait_for(backend.handler(c.CMD_SEND_TEXT)(other, ALICE_JID, "not stuck", 0), 5)
        assert not sending.done(), "the upload is still in progress"
    finally:
        gate.set()
    assert (await sending)["id"]
