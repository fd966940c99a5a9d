"""Handlers declared with ``@route``: served in declaration order, by the class that declares them."""

from __future__ import annotations

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from wa_gateway.route_table import RouteTable, route


class Things(RouteTable):
    def __init__(self, name: str) -> None:
        self._name = name

    def helper(self) -> str:  # not a route
        return self._name

    @route.get("/things")
    async def list_things(self, request: web.Request) -> web.Response:
        return web.json_response({"by": self.helper()})

    @route.put("/things/{id}")
    @route.patch("/things/{id}")
    async def change(self, request: web.Request) -> web.Response:
        return web.json_response({"changed": request.match_info["id"], "method": request.method})

    @route.get("/ws", allow_head=False)
    async def ws(self, request: web.Request) -> web.Response:
        return web.json_response({})


class MoreThings(Things):
    @route.delete("/things/{id}")
    async def remove(self, request: web.Request) -> web.Response:
        return web.json_response({"removed": request.match_info["id"]})


def test_routes_come_in_declaration_order_bound_to_the_instance() -> None:
    things = Things("a")
    declared = [(r.method, r.path, r.handler) for r in things.routes()]
    assert declared == [
        ("GET", "/things", things.list_things),
        ("PUT", "/things/{id}", things.change),
        ("PATCH", "/things/{id}", things.change),
        ("GET", "/ws", things.ws),
    ]
    assert [r.kwargs for r in things.routes()][-1] == {"allow_head": False}


def test_a_subclass_serves_only_what_it_declares() -> None:
    assert [(r.method, r.path) for r in MoreThings("b").routes()] == [("DELETE", "/things/{id}")]


async def test_declared_routes_serve_requests(aiohttp_client: AiohttpClient) -> None:
    app = web.Application()
    app.router.add_routes(Things("served").routes())
    client = await aiohttp_client(app)
    assert await (await client.get("/things")).json() == {"by": "served"}
    assert (await client.head("/things")).status == 200  # GET brings HEAD, as web.get does
    assert (await client.head("/ws")).status == 405
    changed = await client.patch("/things/7")
    assert await changed.json() == {"changed": "7", "method": "PATCH"}
    assert (await client.delete("/things/7")).status == 405
