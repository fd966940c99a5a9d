"""WhatsApp message ids derived from an Idempotency-Key, so a retried send cannot make a second message.

whatsmeow sends a message under a caller-chosen id (``SendRequestExtra.ID``) and otherwise generates
one: ``3EB0`` + the first 9 bytes of a SHA-256, upper-case hex (whatsmeow ``send.go``,
``GenerateMessageID``). A request with an ``Idempotency-Key`` gets an id of that shape derived from the
key and its scope (API key and device), the same on every retry; WhatsApp and its clients treat a second
message with an id they already have as the same message. The gateway passes it to the worker as the
``send_id`` argument of a sending command, and the worker hands it to the backend for the duration of
that command (docs/durability.md, "Sends").

Imported by both processes: only the standard library.
"""

from __future__ import annotations

import contextvars
import hashlib
import re
from typing import Final

ARG_SEND_ID: Final = "send_id"
SEND_ID_RE: Final = re.compile(r"3EB0[0-9A-F]{18}")
_DOMAIN: Final = b"wa-gateway send id\0"

# Gateway side: the Idempotency-Key of the request being handled; worker side: the id to send under.
_request_seed: contextvars.ContextVar[_Seed | None] = contextvars.ContextVar("send_id_seed", default=None)
_chosen: contextvars.ContextVar[str | None] = contextvars.ContextVar("chosen_send_id", default=None)


class _Seed:
    __slots__ = ("key", "scope", "used")

    def __init__(self, scope: str, key: str) -> None:
        self.scope = scope
        self.key = key
        self.used = 0  # a request that sends several messages gives each its own id


def derive(scope: str, key: str, ordinal: int = 0) -> str:
    """The id of the ``ordinal``-th message one request with ``key`` sends (``3EB0`` + 18 hex digits)."""
    material = b"\0".join(
        (_DOMAIN, scope.encode("utf-8", "surrogateescape"), key.encode("utf-8", "surrogateescape"))
    )
    digest = hashlib.sha256(material + b"\0" + str(ordinal).encode()).digest()
    return "3EB0" + digest[:9].hex().upper()


def bind_request(scope: str, key: str) -> contextvars.Token[_Seed | None]:
    """Sends made while handling this request (in this task) get ids derived from ``key``."""
    return _request_seed.set(_Seed(scope, key))


def unbind_request(token: contextvars.Token[_Seed | None]) -> None:
    _request_seed.reset(token)


def next_for_request() -> str | None:
    """The id for the next message this request sends, or None without an Idempotency-Key."""
    seed = _request_seed.get()
    if seed is None:
        return None
    ordinal, seed.used = seed.used, seed.used + 1
    return derive(seed.scope, seed.key, ordinal)


def is_valid(value: object) -> bool:
    return isinstance(value, str) and SEND_ID_RE.fullmatch(value) is not None


def choose(send_id: str | None) -> contextvars.Token[str | None]:
    """Worker side: the backend sends the current command's message under ``send_id``."""
    return _chosen.set(send_id)


def unchoose(token: contextvars.Token[str | None]) -> None:
    _chosen.reset(token)


def chosen() -> str | None:
    """The id the current command's message must carry, when the caller chose one."""
    return _chosen.get()
