"""``PUT``, ``GET`` and ``DELETE /devices/{token}/webhook``: a device's own webhook target."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from typing import Any, Final

from aiohttp import web
from yarl import URL

from wa_gateway import errors
from wa_gateway.apikeys.policy import caller
from wa_gateway.body import Body, read_body
from wa_gateway.devices.api import token_from_path
from wa_gateway.envelope import ok
from wa_gateway.media.fetch import AddressPolicy, UrlInvalid, UrlNotAllowed, check_url
from wa_gateway.route_table import RouteTable, route
from wa_gateway.webhooks.per_device import DeviceWebhooks
from wa_gateway.webhooks.signing import standard_webhooks_key
from wa_gateway.webhooks.targets import WebhookTarget

MAX_URL_CHARS: Final = 2048
MAX_EVENT_PATTERNS: Final = 64
_PATTERN_RE: Final = re.compile(r"[a-z0-9*][a-z0-9._*-]{0,63}")
WEBHOOK_PATH: Final = "/devices/{token}/webhook"


def _url(body: Body) -> str:
    raw = body.optional("url", object)
    if not isinstance(raw, str) or not raw or len(raw) > MAX_URL_CHARS:
        raise errors.ApiError(errors.INVALID_WEBHOOK_URL)
    try:
        url = URL(raw)
    except ValueError:
        raise errors.ApiError(errors.INVALID_WEBHOOK_URL) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise errors.ApiError(errors.INVALID_WEBHOOK_URL)
    return raw


def _secret(body: Body) -> str:
    raw = body.optional("secret", object)
    if raw is None:
        return ""
    if not isinstance(raw, str) or not raw:
        raise errors.ApiError(errors.INVALID_WEBHOOK_SECRET)
    try:
        standard_webhooks_key(raw)
    except ValueError:
        raise errors.ApiError(errors.INVALID_WEBHOOK_SECRET) from None
    return raw


def _events(body: Body) -> tuple[str, ...]:
    raw = body.optional("events", object)
    if raw is None:
        return ("*",)
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_EVENT_PATTERNS:
        raise errors.ApiError(errors.INVALID_WEBHOOK_EVENTS)
    if not all(isinstance(p, str) and _PATTERN_RE.fullmatch(p) for p in raw):
        raise errors.ApiError(errors.INVALID_WEBHOOK_EVENTS)
    return tuple(dict.fromkeys(raw))


async def vet_addresses(raw_url: str, policy: AddressPolicy) -> None:
    """Every address the URL's host resolves to must pass ``policy`` (the media URL rule)."""
    url = URL(raw_url)
    try:
        check_url(url, policy)
    except UrlInvalid:
        raise errors.ApiError(errors.INVALID_WEBHOOK_URL) from None
    except UrlNotAllowed:
        raise errors.ApiError(errors.WEBHOOK_URL_NOT_ALLOWED) from None
    host = url.raw_host or ""
    try:
        ipaddress.ip_address(host)
        return  # a literal address, already checked
    except ValueError:
        pass
    try:
        # getaddrinfo runs in the loop's default executor, off the event loop thread.
        infos = await asyncio.get_running_loop().getaddrinfo(host, url.port, type=socket.SOCK_STREAM)
    except OSError:
        raise errors.ApiError(errors.WEBHOOK_URL_NOT_ALLOWED) from None
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    if not addresses or not all(policy(a) for a in addresses):
        raise errors.ApiError(errors.WEBHOOK_URL_NOT_ALLOWED)


def target_json(target: WebhookTarget) -> dict[str, Any]:
    return {
        "token": target.token,
        "url": target.url,
        "events": list(target.events),
        "hasSecret": bool(target.secret),
    }


class DeviceWebhookApi(RouteTable):
    def __init__(self, webhooks: DeviceWebhooks, *, guard_policy: AddressPolicy | None) -> None:
        """``guard_policy``: the address rule for URLs set by non-admin keys; None lets any through."""
        self._webhooks = webhooks
        self._policy = guard_policy

    @route.put(WEBHOOK_PATH)
    async def put(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        body = await read_body(request)
        url, secret, events = _url(body), _secret(body), _events(body)
        principal = caller(request)
        if self._policy is not None and principal is not None and not principal.is_admin:
            await vet_addresses(url, self._policy)
        target = WebhookTarget(token, url, secret, events)
        await self._webhooks.set(target)
        return ok(request, target_json(target), "Device webhook set")

    @route.get(WEBHOOK_PATH)
    async def show(self, request: web.Request) -> web.Response:
        target = self._webhooks.get(token_from_path(request))
        if target is None:
            raise errors.ApiError(errors.DEVICE_WEBHOOK_NOT_FOUND)
        return ok(request, target_json(target), "Device webhook retrieved")

    @route.delete(WEBHOOK_PATH)
    async def delete(self, request: web.Request) -> web.Response:
        token = token_from_path(request)
        if not await self._webhooks.remove(token):
            raise errors.ApiError(errors.DEVICE_WEBHOOK_NOT_FOUND)
        return ok(request, {"token": token}, "Device webhook removed")
