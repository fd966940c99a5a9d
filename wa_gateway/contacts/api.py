"""``GET /contacts/{token}``: a device's contacts as JSON pages or CSV (docs/go-gateway.md §4)."""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Final, Protocol

from aiohttp import hdrs, web

from wa_gateway import errors
from wa_gateway.contacts import csv_export
from wa_gateway.contacts.model import ContactBook, ContactBooks, ContactRow, ContactStoreError
from wa_gateway.envelope import ok
from wa_gateway.errors import ApiError
from wa_gateway.phone import is_valid_token
from wa_gateway.route_table import RouteTable, route

log = logging.getLogger("wa_gateway.contacts")

LIST_MESSAGE: Final = "Contacts retrieved"
DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1_000
MAX_OFFSET: Final = 2**63 - 1  # sqlite's integer range
STREAM_CHUNK_ROWS: Final = 1_000
# Exact, lower-case values, as the Go gateway compared them (docs/dropin.md).
FORMATS: Final = ("json", "csv")
_INTEGER: Final = re.compile(r"[+-]?[0-9]+", re.ASCII)


class KnownDevices(Protocol):
    def is_known(self, token: str) -> bool: ...


class ContactsApi(RouteTable):
    def __init__(self, stores: ContactBooks, devices: KnownDevices) -> None:
        self._stores = stores
        self._devices = devices

    @route.get("/contacts/{token}")
    async def list_contacts(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        # Checked here too, unlike the Go gateway (docs/go-gateway.md §4): the token names a file.
        if not is_valid_token(token):
            raise ApiError(errors.INVALID_TOKEN)
        if not self._devices.is_known(token):
            raise ApiError(errors.DEVICE_NOT_FOUND)
        raw_limit = _param(request, "limit")
        raw_offset = _param(request, "offset")
        limit = _limit(raw_limit)
        offset = _offset(raw_offset)
        output = request.query.get("format") or "json"
        if output not in FORMATS:
            raise ApiError(errors.INVALID_FORMAT)
        book = self._stores.get(token)
        if output == "csv":
            if raw_limit is None and raw_offset is None:
                return await _stream_csv(request, token, book)
            rows, _ = await _page(book, limit, offset)
            body = csv_export.header_bytes() + csv_export.rows_bytes(rows)
            return web.Response(body=body, headers=_csv_headers(token))
        rows, total = await _page(book, limit, offset)
        data = {
            "contacts": [row.to_json() for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
            "hasMore": offset + len(rows) < total,
        }
        return ok(request, data, LIST_MESSAGE)


async def _stream_csv(request: web.Request, token: str, book: ContactBook) -> web.StreamResponse:
    """All contacts, a chunk at a time: memory stays flat however many there are (docs/architecture.md)."""
    chunks = book.iter_csv(STREAM_CHUNK_ROWS)
    async with contextlib.aclosing(chunks):
        # The first chunk is read before the status line goes out, so a broken store is still a 500.
        try:
            first = await anext(chunks, b"")
        except ContactStoreError:
            log.exception("reading contacts failed", extra={"token": token})
            raise ApiError(errors.FETCH_FAILED) from None
        response = web.StreamResponse(headers=_csv_headers(token))
        response.enable_chunked_encoding()
        await response.prepare(request)
        if request.method == hdrs.METH_HEAD:
            return response
        try:
            await response.write(csv_export.header_bytes() + first)
            async for chunk in chunks:
                await response.write(chunk)
        except ConnectionError:
            return response  # the client went away; nothing left to tell it
        except Exception:
            # The status line is gone: end the connection without the final chunk, so the client sees a
            # broken transfer instead of a short file that looks complete.
            log.exception("contacts export failed mid-stream", extra={"token": token})
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response


async def _page(book: ContactBook, limit: int, offset: int) -> tuple[list[ContactRow], int]:
    try:
        return await book.page(limit, offset)
    except ContactStoreError:
        log.exception("reading contacts failed")
        raise ApiError(errors.FETCH_FAILED) from None


def _csv_headers(token: str) -> dict[str, str]:
    return {
        hdrs.CONTENT_TYPE: csv_export.CSV_CONTENT_TYPE,
        hdrs.CONTENT_DISPOSITION: csv_export.attachment_disposition(token),
    }


def _param(request: web.Request, name: str) -> str | None:
    # An empty value means "not given", as in the Go gateway; with repeats the first one counts.
    value = request.query.get(name)
    return value if value else None


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    value = _integer(raw)
    if value is None or value < 1:
        raise ApiError(errors.INVALID_LIMIT)
    return min(value, MAX_LIMIT)


def _offset(raw: str | None) -> int:
    if raw is None:
        return 0
    value = _integer(raw)
    if value is None or not 0 <= value <= MAX_OFFSET:
        raise ApiError(errors.INVALID_OFFSET)
    return value


def _integer(raw: str) -> int | None:
    if not _INTEGER.fullmatch(raw):
        return None
    try:
        return int(raw)
    except ValueError:  # more digits than int() will parse
        return None
