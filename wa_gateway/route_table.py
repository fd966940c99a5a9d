"""Handlers that declare their own route: ``@route.get("/keys")`` above the method; one ``routes()``.

aiohttp's ``RouteTableDef`` decorates plain functions; our handlers are methods of objects that hold their
collaborators, so the declaration is kept on the function and bound when ``routes()`` is called. A class
serves the routes declared in its own body, in the order they are declared there (aiohttp tries routes in
the order they were added): a subclass that reuses a base's helpers does not serve the base's routes again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from aiohttp import hdrs, web

Handler = TypeVar("Handler", bound=Callable[..., Any])

_DECLARED: Final = "__routes__"


class _Declare:
    """``@route.get(path)`` and its kin, read like aiohttp's ``@routes.get(path)``."""

    def __call__(self, method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
        def declare(handler: Handler) -> Handler:
            # Stacked decorators apply bottom-up; putting each in front keeps the order they are read in.
            setattr(handler, _DECLARED, ((method, path, options), *getattr(handler, _DECLARED, ())))
            return handler

        return declare

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self(hdrs.METH_GET, path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self(hdrs.METH_POST, path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self(hdrs.METH_PUT, path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self(hdrs.METH_PATCH, path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self(hdrs.METH_DELETE, path, **options)


route: Final = _Declare()


class RouteTable:
    def routes(self) -> list[web.RouteDef]:
        return [
            web.route(method, path, getattr(self, name), **options)
            for name, member in vars(type(self)).items()
            for method, path, options in getattr(member, _DECLARED, ())
        ]
