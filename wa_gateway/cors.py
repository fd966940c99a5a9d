"""CORS policy for ``CORS_ORIGINS``: ``*`` or exact origins, with ``scheme://*.domain`` wildcards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

ALLOW_METHODS: Final = "GET,POST,HEAD,PUT,DELETE,PATCH"
ALLOW_HEADERS: Final = "Origin,Content-Type,Accept,Authorization,X-API-Key,X-Request-Id"
EXPOSE_HEADERS: Final = "X-Request-Id,X-RateLimit-Limit,X-RateLimit-Remaining,X-RateLimit-Reset,Retry-After"
MAX_AGE_SECONDS: Final = "600"


class CorsPolicy:
    def __init__(self, origins: Sequence[str]) -> None:
        self.wildcard = "*" in origins
        self._exact = frozenset(o for o in origins if "://*." not in o)
        # (scheme, ".example.com", port) for entries like https://*.example.com
        self._suffixes = tuple(
            (p.scheme, (p.hostname or "")[1:], p.port) for p in (urlsplit(o) for o in origins if "://*." in o)
        )

    def allows(self, origin: str) -> bool:
        if self.wildcard:
            return True
        origin = origin.lower().rstrip("/")
        if origin in self._exact:
            return True
        parts = urlsplit(origin)
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError:
            return False
        return any(
            parts.scheme == scheme and host.endswith(suffix) and port == want_port
            for scheme, suffix, want_port in self._suffixes
        )

    def _allow_origin(self, origin: str | None) -> dict[str, str]:
        if self.wildcard:
            return {"Access-Control-Allow-Origin": "*"}
        headers = {"Vary": "Origin"}
        if origin and self.allows(origin):
            headers["Access-Control-Allow-Origin"] = origin.lower()
        return headers

    def simple_headers(self, origin: str | None) -> dict[str, str]:
        headers = self._allow_origin(origin)
        if origin and "Access-Control-Allow-Origin" in headers:
            headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        return headers

    def preflight_headers(self, origin: str) -> dict[str, str]:
        headers = self._allow_origin(origin)
        headers["Vary"] = "Access-Control-Request-Method, Access-Control-Request-Headers, Origin"
        if "Access-Control-Allow-Origin" in headers:
            headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            headers["Access-Control-Max-Age"] = MAX_AGE_SECONDS
        return headers
