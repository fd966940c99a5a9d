"""API-key checks with per-IP failure limiting, shared by the REST middleware, /metrics and the WebSocket.

Once an IP has used up RATE_LIMIT_AUTH_FAILURES in a window no key is even compared, so a guesser learns
nothing more (docs/go-gateway.md §6). Keys are compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence

from aiohttp import web

from wa_gateway import errors
from wa_gateway.apikeys.principal import Principal
from wa_gateway.clientip import Network, request_client_ip
from wa_gateway.ratelimit import FixedWindowLimiter


def presented_api_key(request: web.Request) -> str | None:
    """``Authorization: Bearer <key>`` wins even when empty; else a non-empty ``X-API-Key`` (Go §3.5)."""
    authorization = request.headers.get("Authorization", "")
    # HTTP strips trailing whitespace from field values (RFC 9110 §5.5), so "Bearer " arrives as "Bearer".
    if authorization.startswith("Bearer ") or authorization == "Bearer":
        return authorization[len("Bearer ") :]
    api_key = request.headers.get("X-API-Key", "")
    return api_key or None


KeyLookup = Callable[[str], Principal | None]
"""The principal a presented key stands for, or None when no key matches."""


class AuthGuard:
    def __init__(self, failures: FixedWindowLimiter, proxies: Sequence[Network]) -> None:
        self._failures = failures
        self._proxies = proxies

    def admit(self, request: web.Request) -> str:
        """The client's IP; raises 429 while that IP is blocked for too many failures."""
        ip = request_client_ip(request, self._proxies)
        if self._failures.enabled:
            blocked = self._failures.peek(ip)
            if not blocked.allowed:
                raise errors.ApiError(errors.RATE_LIMITED, headers=blocked.headers())
        return ip

    def failed(self, ip: str) -> None:
        if self._failures.enabled:
            self._failures.hit(ip)

    @staticmethod
    def matches(key: str, accepted: Sequence[bytes]) -> bool:
        try:
            # aiohttp decodes header bytes that are not UTF-8 as lone surrogates (surrogateescape); they
            # turn back into those bytes here, and so can never equal a key: a wrong key, not a crash.
            presented = key.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return False
        return any(hmac.compare_digest(presented, k) for k in accepted)

    def verify(self, request: web.Request, accepted: Sequence[bytes]) -> None:
        """Admit the request's key if it is one of ``accepted``; otherwise raise 401, counting a failure
        only for a wrong key: a request with no key (a browser's automatic ``/favicon.ico``, a probe) is
        not a guess, and counting it would lock the real key out of that IP."""
        ip = self.admit(request)
        key = presented_api_key(request)
        if not key:
            raise errors.ApiError(errors.MISSING_API_KEY)
        if self.matches(key, accepted):
            return
        self.failed(ip)
        raise errors.ApiError(errors.INVALID_API_KEY)

    def identify(self, request: web.Request, lookup: KeyLookup) -> Principal:
        """The principal of the request's key; an unknown key counts a failure and raises 401."""
        ip = self.admit(request)
        key = presented_api_key(request)
        if not key:
            # Not a guess (see ``verify``): not counted.
            raise errors.ApiError(errors.MISSING_API_KEY)
        principal = lookup(key)
        if principal is not None:
            return principal
        self.failed(ip)
        raise errors.ApiError(errors.INVALID_API_KEY)
