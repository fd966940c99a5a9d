"""Identifiers shaped like WhatsApp's (QR payloads, pairing codes, message ids) for the sandbox engine."""

from __future__ import annotations

import base64
import secrets
from typing import Final

# whatsmeow's pairing-code alphabet (pair-code.go): no 0, O, I or U, so codes read back unambiguously.
PAIRING_CODE_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"


def _b64(size: int) -> str:
    return base64.b64encode(secrets.token_bytes(size)).decode("ascii")


def qr_payload() -> str:
    """``2@<ref>,<noise key>,<identity key>,<adv secret>`` as whatsmeow hands QR codes out."""
    return f"2@{_b64(48)},{_b64(32)},{_b64(32)},{_b64(32)}"


def pairing_code() -> str:
    chars = "".join(secrets.choice(PAIRING_CODE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def message_id() -> str:
    """``3EB0`` + 18 upper-case hex digits, the shape of ids whatsmeow generates."""
    return "3EB0" + secrets.token_hex(9).upper()
