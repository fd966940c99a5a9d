"""Words both processes use, defined once: device tokens, JID servers, device statuses and the layout of
DATA_DIR. Only the standard library is imported here, so the gateway and the engine worker can both
import it without pulling in the other's dependencies (aiohttp, neonize).
"""

from __future__ import annotations

import logging
import re
from pathlib import PurePath
from typing import Final, Literal

# --- device tokens ---------------------------------------------------------------------------------
# A token names files on disk (sessions/<token>.db), so it is 7-15 ASCII digits and nothing else:
# Python's \d matches other scripts' digits and $ matches before a trailing newline, hence [0-9] and
# fullmatch (docs/go-gateway.md §7).
TOKEN_DIGITS: Final = "[0-9]{7,15}"
TOKEN_RE: Final = re.compile(TOKEN_DIGITS)
TOKEN_PATTERN: Final = f"^{TOKEN_DIGITS}$"  # the same rule as a JSON Schema pattern
TOKEN_RULE: Final = "7-15 digits"


def is_valid_token(token: str) -> bool:
    return TOKEN_RE.fullmatch(token) is not None


# --- JID servers (whatsmeow types/jid.go) --------------------------------------------------------------
USER_SERVER: Final = "s.whatsapp.net"  # a phone number
LEGACY_USER_SERVER: Final = "c.us"  # the same, as older clients wrote it
LID_SERVER: Final = "lid"  # a hidden user id, not a phone number
GROUP_SERVER: Final = "g.us"
BROADCAST_SERVER: Final = "broadcast"  # broadcast lists, and status@broadcast
NEWSLETTER_SERVER: Final = "newsletter"  # channels
PHONE_SERVERS: Final = frozenset({USER_SERVER, LEGACY_USER_SERVER})
# Chats that are not one person.
NOT_A_PERSON_SERVERS: Final = frozenset({GROUP_SERVER, BROADCAST_SERVER, NEWSLETTER_SERVER})


def jid(user: str, server: str) -> str:
    return f"{user}@{server}"


# --- device statuses, as the gateway reports them --------------------------------------------------
DeviceStatus = Literal["disconnected", "connecting", "pairing", "connected", "logged_out", "banned"]
DEVICE_STATUSES: Final[tuple[DeviceStatus, ...]] = (
    "disconnected",
    "connecting",
    "pairing",
    "connected",
    "logged_out",
    "banned",
)
# Devices in these states are worth reconnecting after an engine restart or a gateway start.
LIVE_STATUSES: Final = frozenset({"connecting", "pairing", "connected"})
# States only a new pairing leaves.
ENDED_STATUSES: Final = frozenset({"logged_out", "banned"})

# --- DATA_DIR layout (docs/architecture.md "Storage layout") ----------------------------------------
SESSIONS_DIR: Final = "sessions"  # the engine's session per device: sessions/<token>.db
INCOMING_MEDIA_DIR: Final = PurePath("media", "incoming")  # downloaded media: media/incoming/<token>/<id>
OUTGOING_MEDIA_DIR: Final = PurePath("media", "outgoing")  # uploads on their way to the engine

# --- log levels (LOG_LEVEL, WHATSMEOW_LOG_LEVEL), named as both processes' loggers take them ----------
LOG_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
