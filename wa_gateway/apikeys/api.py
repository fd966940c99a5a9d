"""``POST /keys``, ``GET /keys`` and ``DELETE /keys/{id}``: scoped keys, each shown once when created."""

from __future__ import annotations

import unicodedata
from typing import Any, Final

from aiohttp import web

from wa_gateway import errors
from wa_gateway.apikeys.keyring import Keyring
from wa_gateway.apikeys.policy import caller
from wa_gateway.apikeys.principal import ADMIN, ADMIN_KEY_ID, SCOPES, Principal
from wa_gateway.apikeys.store import KeyRecord
from wa_gateway.body import Body, read_body
from wa_gateway.envelope import ok
from wa_gateway.phone import is_valid_token
from wa_gateway.route_table import RouteTable, route

MAX_NAME_CHARS: Final = 100
MAX_DEVICES: Final = 1000


def _name(body: Body) -> str:
    name = body.text("name").strip()
    if not 1 <= len(name) <= MAX_NAME_CHARS or any(unicodedata.category(ch) == "Cc" for ch in name):
        raise errors.ApiError(errors.INVALID_KEY_NAME)
    return name


def _scopes(body: Body) -> frozenset[str]:
    raw = body.optional("scopes", object)
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) and s in SCOPES for s in raw):
        raise errors.ApiError(errors.INVALID_KEY_SCOPES)
    return frozenset(raw)


def _devices(body: Body) -> frozenset[str] | None:
    raw = body.optional("devices", object)
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or not 1 <= len(raw) <= MAX_DEVICES
        or not all(isinstance(t, str) and is_valid_token(t) for t in raw)
    ):
        raise errors.ApiError(errors.INVALID_KEY_DEVICES)
    return frozenset(raw)


def key_json(record: KeyRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "prefix": record.prefix,
        "scopes": sorted(record.scopes),
        "devices": sorted(record.devices) if record.devices is not None else None,
        "createdAt": record.created_at,
    }


class KeysApi(RouteTable):
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    @staticmethod
    def _caller(request: web.Request) -> Principal:
        return caller(request) or ADMIN

    @route.post("/keys")
    async def create(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        name, scopes, devices = _name(body), _scopes(body), _devices(body)
        if not self._caller(request).covers(scopes, devices):
            raise errors.ApiError(errors.KEY_EXCEEDS_CALLER)
        record, key = await self._keyring.create(name, scopes, devices)
        return ok(
            request, {**key_json(record), "key": key}, "API key created; it is shown only once", status=201
        )

    @route.get("/keys")
    async def list_keys(self, request: web.Request) -> web.Response:
        principal = self._caller(request)
        # A key administrator limited to some devices sees only the keys it could have created.
        records = [r for r in self._keyring.records() if principal.covers(r.scopes, r.devices)]
        return ok(request, {"keys": [key_json(r) for r in records]}, "API keys retrieved")

    @route.delete("/keys/{id}")
    async def revoke(self, request: web.Request) -> web.Response:
        key_id = request.match_info["id"]
        if key_id == ADMIN_KEY_ID:
            raise errors.ApiError(errors.ADMIN_KEY_NOT_REVOCABLE)
        record = self._keyring.get(key_id)
        if record is None or not self._caller(request).covers(record.scopes, record.devices):
            raise errors.ApiError(errors.KEY_NOT_FOUND)
        await self._keyring.revoke(key_id)
        return ok(request, {"id": key_id}, "API key revoked")
