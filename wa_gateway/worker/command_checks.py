"""Checks both backends apply to the messaging commands, and the media files those commands read and write.

The worker checks the *shape* of a request (``engine/commands.py``); these check what the arguments mean, so a
backend called directly refuses the same things. File functions block: call them through a thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from wa_gateway import vocabulary as v
from wa_gateway.engine import contract as c

OUTGOING_MEDIA_DIR: Final = v.OUTGOING_MEDIA_DIR
INCOMING_MEDIA_DIR: Final = v.INCOMING_MEDIA_DIR
# A reaction is one emoji; a flag or family sequence can be a dozen code points.
MAX_EMOJI_CHARS: Final = 32
MAX_POLL_TEXT_CHARS: Final = 255
_SAFE_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
_UNSAFE_CHARS: Final = re.compile(r"[^A-Za-z0-9_-]")


def invalid(message: str) -> c.EngineError:
    return c.EngineError(c.E_INVALID_ARGUMENT, message)


def not_found(message_id: str) -> c.EngineError:
    return c.EngineError(c.E_MESSAGE_NOT_FOUND, f"message {message_id} is not known to this device")


def check_poll(question: str, options: list[str]) -> None:
    if not question.strip():
        raise invalid("question must not be empty")
    if len(question) > MAX_POLL_TEXT_CHARS:
        raise invalid(f"question must be at most {MAX_POLL_TEXT_CHARS} characters")
    if not c.POLL_MIN_OPTIONS <= len(options) <= c.POLL_MAX_OPTIONS:
        raise invalid(f"a poll needs {c.POLL_MIN_OPTIONS} to {c.POLL_MAX_OPTIONS} options")
    if any(not option.strip() or len(option) > MAX_POLL_TEXT_CHARS for option in options):
        raise invalid(f"each option must be 1 to {MAX_POLL_TEXT_CHARS} characters")
    # Votes name options by the hash of their text, so two equal options could not be told apart.
    if len(set(options)) != len(options):
        raise invalid("options must be unique")


def check_presence(to: str | None, state: str) -> None:
    if state not in c.PRESENCE_STATES:
        raise invalid(f"state must be one of {', '.join(c.PRESENCE_STATES)}")
    if state in c.CHAT_PRESENCE_STATES and not to:
        raise invalid(f"{state} is shown in one chat: to is required")
    if state not in c.CHAT_PRESENCE_STATES and to:
        raise invalid(f"{state} is the account's own presence: to must be omitted")


def check_emoji(emoji: str) -> None:
    if len(emoji) > MAX_EMOJI_CHARS or any(ch.isspace() for ch in emoji):
        raise invalid("emoji must be a single emoji, or empty to remove the reaction")


def media_caption(kind: str, mimetype: str, caption: str | None) -> str | None:
    """The caption to send, ``None`` when empty; refused for kinds WhatsApp shows no caption with."""
    if kind not in c.MEDIA_KINDS:
        raise invalid(f"kind must be one of {', '.join(c.MEDIA_KINDS)}")
    if "/" not in mimetype.strip("/"):
        raise invalid("mimetype must be a media type such as image/jpeg")
    if kind == "voice" and not mimetype.lower().startswith(("audio/ogg", "audio/opus")):
        raise invalid("a voice note must be Opus audio in Ogg (audio/ogg)")
    if caption and kind in c.CAPTIONLESS_KINDS:
        raise invalid(f"a {kind} message has no caption")
    return caption or None


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


@dataclass(frozen=True, slots=True)
class MediaFile:
    data: bytes
    sha256: str


def read_outgoing_media(data_dir: Path, path: Path) -> MediaFile:
    """The file the gateway wrote for a send; only files under ``DATA_DIR/media/outgoing/`` are read."""
    root = (data_dir / OUTGOING_MEDIA_DIR).resolve()
    try:
        resolved = path.resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        raise invalid("path: the media file does not exist") from None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        raise invalid(f"path must be a file under {OUTGOING_MEDIA_DIR}/ in the data directory")
    try:
        data = resolved.read_bytes()
    except OSError as exc:
        raise invalid(f"path: the media file cannot be read ({exc.strerror})") from None
    if not data:
        raise invalid("path: the media file is empty")
    return MediaFile(data, hashlib.sha256(data).hexdigest())


def safe_file_name(message_id: str) -> str:
    """A file name for a message id; ids are the sender's choice, so anything unusual is replaced."""
    if _SAFE_NAME.fullmatch(message_id):
        return message_id
    digest = hashlib.sha256(message_id.encode()).hexdigest()[:12]
    return f"{_UNSAFE_CHARS.sub('_', message_id)[:100]}-{digest}"


def incoming_media_path(data_dir: Path, token: str, message_id: str) -> Path:
    return data_dir / INCOMING_MEDIA_DIR / token / safe_file_name(message_id)


def write_incoming_media(path: Path, data: bytes) -> None:
    """Written to a temporary file, then renamed: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".download-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


# What PATCH /messages/{id} can change: a text, or the caption of a media kind WhatsApp captions.
EDITABLE_KINDS: Final = frozenset({"text", "image", "video", "document"})


def check_editable(kind: str) -> None:
    if kind not in EDITABLE_KINDS:
        raise invalid("only text messages and the captions of images, videos and documents can be edited")


MAX_ARGB: Final = 0xFFFFFFFF


def check_status(text: str, background_argb: int | None, font: int | None) -> None:
    if not text.strip():
        raise invalid("text must not be empty")
    if background_argb is not None and not 0 <= background_argb <= MAX_ARGB:
        raise invalid("background_argb must be a 32-bit ARGB colour")
    if font is not None and font not in c.STATUS_FONTS:
        raise invalid(f"font must be one of {', '.join(map(str, c.STATUS_FONTS))}")
