"""Path matching that ignores case and one trailing slash, as the Go gateway's router did (docs/dropin.md).

aiohttp matches paths exactly. ``LenientPaths`` is registered as the router's last resort: a request that
no route matched exactly is tried again against every route, case-insensitively and without a trailing
slash, and resolves to *that* route's match. Auth, rate limits and logs therefore see the canonical route
template; path parameters keep the case they were sent with; nothing is redirected (clients that POST do
not follow redirects).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractResource, AbstractRoute, UrlMappingMatchInfo
from yarl import URL

Resolved = tuple[UrlMappingMatchInfo | None, set[str]]


class LenientPaths(AbstractResource):
    def __init__(self, router: web.UrlDispatcher) -> None:
        super().__init__()
        self._router = router
        self._matchers: list[tuple[AbstractResource, re.Pattern[str], str | None]] | None = None

    @property
    def canonical(self) -> str:
        # Indexed under "/", the last prefix aiohttp walks, so exact matches always win.
        return "/"

    def url_for(self, **kwargs: str) -> URL:
        raise NotImplementedError("LenientPaths has no URL of its own")

    def add_prefix(self, prefix: str) -> None:
        raise NotImplementedError("LenientPaths is registered on the root application only")

    def get_info(self) -> Any:
        return {}

    def raw_match(self, path: str) -> bool:
        return False

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Iterator[AbstractRoute]:
        return iter(())

    def _compile(self) -> list[tuple[AbstractResource, re.Pattern[str], str | None]]:
        """Each plain or templated route as a case-insensitive pattern (plain ones also keep their path)."""
        matchers: list[tuple[AbstractResource, re.Pattern[str], str | None]] = []
        for resource in self._router.resources():
            if resource is self:
                continue
            info = resource.get_info()
            if "path" in info:
                path = str(info["path"])
                matchers.append((resource, re.compile(re.escape(path), re.IGNORECASE), path))
            elif "pattern" in info and "formatter" in info:
                matchers.append((resource, re.compile(info["pattern"].pattern, re.IGNORECASE), None))
        return matchers

    async def resolve(self, request: web.Request) -> Resolved:
        path = request.rel_url.path_safe
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        if self._matchers is None:
            self._matchers = self._compile()
        allowed: set[str] = set()
        for resource, pattern, plain in self._matchers:
            found = pattern.fullmatch(path)
            if found is None:
                continue
            canonical = (
                URL.build(path=plain, encoded=True)
                if plain is not None
                else resource.url_for(**found.groupdict())
            )
            match, methods = await resource.resolve(
                request.clone(rel_url=canonical.with_query(request.rel_url.query))
            )
            if match is not None:
                return match, set()
            allowed |= methods
        return None, allowed
