"""What a file is, from its first bytes (the signatures of the WHATWG MIME Sniffing standard, §6, plus the
audio and video containers WhatsApp takes). Never trusts a name or a declared type."""

from __future__ import annotations

from typing import Final

# How much of a file ``sniff`` needs: an Ogg page header with the codec id, an MP4 ``ftyp`` box with
# brands, a WebM EBML header with its DocType.
SNIFF_BYTES: Final = 4096

_MP4_AUDIO_BRANDS: Final = frozenset({b"M4A ", b"M4B ", b"M4P "})
_3GPP_BRANDS: Final = (b"3gp", b"3g2")


def sniff(head: bytes) -> str | None:
    """A mimetype, or None when the format is not one we recognise."""
    for check in (_image, _audio_video, _document):
        found = check(head)
        if found is not None:
            return found
    return None


# Formats a fixed first few bytes identify, by kind; no prefix in one table starts another's.
_IMAGE_PREFIXES: Final = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_AUDIO_PREFIXES: Final = ((b"#!AMR", "audio/amr"), (b"ID3", "audio/mpeg"))
_DOCUMENT_PREFIXES: Final = (
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "application/x-ole-storage",
    ),  # legacy .doc/.xls/.ppt; the name tells which
)


def _by_prefix(head: bytes, prefixes: tuple[tuple[bytes, str], ...]) -> str | None:
    return next((mimetype for prefix, mimetype in prefixes if head.startswith(prefix)), None)


def _riff(head: bytes, form: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == form


def _image(head: bytes) -> str | None:
    return _by_prefix(head, _IMAGE_PREFIXES) or ("image/webp" if _riff(head, b"WEBP") else None)


def _audio_video(head: bytes) -> str | None:
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head.startswith(b"OggS"):
        # The first page holds the codec's identification header (RFC 7845 §5.1: "OpusHead").
        return "audio/ogg; codecs=opus" if b"OpusHead" in head[:512] else "audio/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    found = _by_prefix(head, _AUDIO_PREFIXES)
    if found is not None:
        return found
    if _riff(head, b"WAVE"):
        return "audio/wav"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "audio/aac"  # ADTS sync word, layer 0
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return "audio/mpeg"  # MPEG audio frame sync with a layer set
    return None


def _iso_media(head: bytes) -> str:
    major_brand = head[8:12]
    if major_brand == b"qt  ":
        return "video/quicktime"
    if major_brand.startswith(_3GPP_BRANDS):
        return "video/3gpp"
    if major_brand in _MP4_AUDIO_BRANDS:
        return "audio/mp4"
    return "video/mp4"


def _document(head: bytes) -> str | None:
    return _by_prefix(head, _DOCUMENT_PREFIXES)
