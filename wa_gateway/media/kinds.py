"""Media kinds: their size limits, the formats WhatsApp plays for each, and the mimetype that is sent.

Accepted formats follow WhatsApp's published list (Business Platform, "Supported media types"): images
JPEG/PNG, video MP4/3GPP (H.264 + AAC), audio AAC/AMR/MP3/M4A/Ogg-Opus, stickers WebP; voice notes are
Ogg Opus (push-to-talk). WebP images and PNG/JPEG stickers are converted by the engine, so they pass too.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from wa_gateway import errors
from wa_gateway.config import Settings
from wa_gateway.engine import contract as c

OCTET_STREAM: Final = "application/octet-stream"
MIMETYPE_RE: Final = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
    r"(?:\s*;\s*[A-Za-z0-9!#$&^_.+-]{1,64}=(?:[A-Za-z0-9!#$&^_.+-]{1,64}|\"[^\"\\\r\n]{0,64}\"))*"
)
MAX_FILENAME_CHARS: Final = 255

# Sniffed format -> the mimetype WhatsApp gets, per kind (a missing kind takes any file).
ACCEPTED: Final[Mapping[str, Mapping[str, str]]] = {
    "image": {"image/jpeg": "image/jpeg", "image/png": "image/png", "image/webp": "image/webp"},
    "video": {"video/mp4": "video/mp4", "video/3gpp": "video/3gpp", "video/quicktime": "video/quicktime"},
    "audio": {
        "audio/aac": "audio/aac",
        "audio/amr": "audio/amr",
        "audio/mpeg": "audio/mpeg",
        "audio/mp4": "audio/mp4",
        # An audio-only MP4 often carries a generic brand that sniffs as video.
        "video/mp4": "audio/mp4",
        "audio/ogg; codecs=opus": "audio/ogg; codecs=opus",
    },
    "voice": {"audio/ogg; codecs=opus": "audio/ogg; codecs=opus"},
    "sticker": {"image/webp": "image/webp", "image/png": "image/png", "image/jpeg": "image/jpeg"},
}
_GENERIC: Final = frozenset({OCTET_STREAM, "application/zip", "application/x-ole-storage"})
# Read once at import, never on the event loop (mimetypes loads the system's type files lazily).
_TYPES: Final = mimetypes.MimeTypes()
# Documents people send most, for hosts without /etc/mime.types (Python's own table lacks them).
_OFFICE_TYPES: Final = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".csv": "text/csv",
    ".apk": "application/vnd.android.package-archive",
}
for _extension, _type in _OFFICE_TYPES.items():
    _TYPES.add_type(_type, _extension)


@dataclass(frozen=True, slots=True)
class MediaLimits:
    image: int
    video: int
    audio: int
    document: int
    sticker: int

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        return cls(
            image=settings.media_max_image_bytes,
            video=settings.media_max_video_bytes,
            audio=settings.media_max_audio_bytes,
            document=settings.media_max_document_bytes,
            sticker=settings.media_max_sticker_bytes,
        )

    def for_kind(self, kind: str) -> int:
        return self.audio if kind == "voice" else int(getattr(self, kind))

    @property
    def largest(self) -> int:
        return max(self.image, self.video, self.audio, self.document, self.sticker)


def too_large(kind: str, limit: int) -> errors.ApiError:
    spec = errors.MEDIA_TOO_LARGE
    return errors.ApiError(spec, spec.message.format(kind=kind, limit=limit))


def base_type(mimetype: str) -> str:
    return mimetype.split(";", 1)[0].strip().lower()


def valid_mimetype(raw: str) -> str:
    if not MIMETYPE_RE.fullmatch(raw):
        raise errors.ApiError(errors.INVALID_MIMETYPE)
    return raw


def valid_filename(raw: str) -> str:
    """A filename the client chose: shown to the recipient, so it must be a plain name."""
    if not safe_filename(raw) == raw:
        raise errors.ApiError(errors.INVALID_FILENAME)
    return raw


def safe_filename(raw: str | None) -> str | None:
    """A filename from an upload or a URL, reduced to a plain name (None when nothing is left)."""
    if not raw:
        return None
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")).strip()
    if name in ("", ".", "..") or len(name) > MAX_FILENAME_CHARS:
        return None
    return name


def outgoing_mimetype(
    kind: str, sniffed: str | None, declared: str | None, filename: str | None, hint: str | None
) -> str:
    """The mimetype sent with the file; raises when the content does not fit the kind."""
    accepted = ACCEPTED.get(kind)
    if accepted is None:
        return _document_mimetype(sniffed, declared, filename, hint)
    sent = accepted.get(sniffed or "")
    if sent is None:
        spec = errors.MEDIA_CONTENT_MISMATCH
        names = ", ".join(sorted({base_type(m) for m in accepted.values()}))
        got = sniffed or "an unrecognised format"
        raise errors.ApiError(spec, spec.message.format(kind=kind, accepted=names, got=got))
    if declared is not None and base_type(declared) not in (base_type(sent), base_type(sniffed or "")):
        raise errors.ApiError(errors.MIMETYPE_MISMATCH)
    return sent


def _document_mimetype(
    sniffed: str | None, declared: str | None, filename: str | None, hint: str | None
) -> str:
    if declared:
        return declared
    if sniffed and sniffed not in _GENERIC:
        return sniffed
    if filename:
        guessed, _ = _TYPES.guess_type(filename, strict=False)
        if guessed:
            return guessed
    if sniffed:
        return sniffed
    if hint and MIMETYPE_RE.fullmatch(hint) and base_type(hint) != OCTET_STREAM:
        return base_type(hint)
    return OCTET_STREAM


def default_filename(kind: str, mimetype: str) -> str | None:
    """Documents always travel with a name (WhatsApp shows it); other kinds need none."""
    if kind != "document":
        return None
    extension = _TYPES.guess_extension(base_type(mimetype), strict=False) or ""
    return f"document{extension}"


def needs_ffmpeg(kind: str) -> bool:
    return kind in c.FFMPEG_KINDS


def takes_caption(kind: str) -> bool:
    return kind not in c.CAPTIONLESS_KINDS
