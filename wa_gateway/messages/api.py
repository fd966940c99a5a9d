"""``GET /chats/{token}``, ``GET /messages/{token}``, ``GET /messages/{token}/{id}`` (docs/messages.md)."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from typing import Final, Protocol, TypeVar

from aiohttp import web

from wa_gateway import errors
from wa_gateway.devices.api import token_from_path
from wa_gateway.envelope import ok
from wa_gateway.messages.model import Cursor, MessageStore, MessageStoreError, PageQuery
from wa_gateway.messaging.fields import message_id
from wa_gateway.messaging.recipients import Recipients

log = logging.getLogger("wa_gateway.messages")

T = TypeVar("T")
DEFAULT_MESSAGES: Final = 50
MAX_MESSAGES: Final = 500
DEFAULT_CHATS: Final = 100
MAX_CHATS: Final = 1000
_WHOLE: Final = re.compile(r"[0-9]{1,6}", re.ASCII)


class KnownDevices(Protocol):
    def require(self, token: str) -> object: ...


class MessagesApi:
    """``store`` is None when MESSAGE_RETENTION_DAYS=0: the routes stay, and say the store is off."""

    def __init__(self, store: MessageStore | None, devices: KnownDevices, recipients: Recipients) -> None:
        self._store = store
        self._devices = devices
        self._recipients = recipients

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/chats/{token}", self.chats),
            web.get("/messages/{token}", self.messages),
            web.get("/messages/{token}/{id}", self.message),
        ]

    def _open(self, request: web.Request) -> tuple[str, MessageStore]:
        token = token_from_path(request)
        self._devices.require(token)
        if self._store is None:
            raise errors.ApiError(errors.MESSAGE_STORE_OFF)
        return token, self._store

    async def chats(self, request: web.Request) -> web.Response:
        token, store = self._open(request)
        limit = _limit(request, DEFAULT_CHATS, MAX_CHATS, errors.INVALID_CHATS_LIMIT)
        chats = await _read(store.chats(token, limit))
        return ok(request, {"chats": [chat.to_json() for chat in chats]}, "Chats retrieved")

    async def messages(self, request: web.Request) -> web.Response:
        token, store = self._open(request)
        chat = None
        raw_chat = request.query.get("chat")
        if raw_chat:
            chat = self._recipients.chat(raw_chat)
            if chat is None:
                raise errors.ApiError(errors.INVALID_CHAT)
        query = PageQuery(
            chat=chat,
            before=_cursor(request, "before", errors.INVALID_BEFORE),
            after=_cursor(request, "after", errors.INVALID_AFTER),
            limit=_limit(request, DEFAULT_MESSAGES, MAX_MESSAGES, errors.INVALID_MESSAGES_LIMIT),
        )
        page = await _read(store.page(token, query))
        data = {
            "messages": [message.to_json() for message in page.messages],
            "nextCursor": page.next_cursor.encode() if page.next_cursor is not None else None,
        }
        return ok(request, data, "Messages retrieved")

    async def message(self, request: web.Request) -> web.Response:
        token, store = self._open(request)
        wanted = message_id(request.match_info["id"])
        found = await _read(store.get(token, wanted))
        if found is None:
            raise errors.ApiError(errors.MESSAGE_NOT_FOUND)
        return ok(request, found.to_json(), "Message retrieved")


async def _read(job: Awaitable[T]) -> T:
    try:
        return await job
    except MessageStoreError:
        log.exception("reading stored messages failed")
        raise errors.ApiError(errors.MESSAGES_FAILED) from None


def _limit(request: web.Request, default: int, most: int, spec: errors.ErrorSpec) -> int:
    raw = request.query.get("limit")
    if raw is None or raw == "":
        return default
    if not _WHOLE.fullmatch(raw) or not 1 <= int(raw) <= most:
        raise errors.ApiError(spec)
    return int(raw)


def _cursor(request: web.Request, name: str, spec: errors.ErrorSpec) -> Cursor | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    cursor = Cursor.decode(raw)
    if cursor is None:
        raise errors.ApiError(spec)
    return cursor
