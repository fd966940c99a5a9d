"""The media-url SSRF guard: embedded IPv4 forms and malformed redirects (no packet leaves loopback)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient, AiohttpServer

from wa_gateway.media.fetch import (
    UrlFetcher,
    UrlFetchFailed,
    UrlInvalid,
    UrlNotAllowed,
    any_address,
    public_only,
)

from .conftest import SettingsFactory
from .harness import api
from .messaging_harness import PEER, TOKEN, linked_gateway

EMBEDDED_PRIVATE = [
    "64:ff9b::a9fe:a9fe",  # RFC 6052 well-known NAT64 prefix around 169.254.169.254
    "64:ff9b::7f00:1",  # ... around 127.0.0.1
    "64:ff9b::a00:1",  # ... around 10.0.0.1
    "64:ff9b:1:a9fe:a9:fe00::",  # RFC 8215 local-use prefix, /48 embedding (RFC 6052 §2.2) of 169.254.169.254
    "64:ff9b:1::a9fe:a9fe",  # ... /96 embedding
    "::a9fe:a9fe",  # IPv4-compatible (RFC 4291 §2.5.5.1)
    "::7f00:1",
    "::ffff:0:a9fe:a9fe",  # IPv4-translated (RFC 2765 §2.1)
    "fec0::1",  # site-local (RFC 3879 deprecated it; it is never global)
    "feff::1",
]
EMBEDDED_PUBLIC = ["64:ff9b::808:808", "::808:808", "2606:4700:4700::1111"]


def test_embedded_ipv4_is_unwrapped_before_the_public_check() -> None:
    refused = [a for a in EMBEDDED_PRIVATE if public_only(ipaddress.ip_address(a))]
    assert refused == []
    assert all(public_only(ipaddress.ip_address(a)) for a in EMBEDDED_PUBLIC)


async def test_embedded_literals_are_refused_before_connecting(tmp_path: Path) -> None:
    # Refused by the literal check, so nothing is ever sent to these addresses.
    fetcher = UrlFetcher(timeout_s=5)
    for address in EMBEDDED_PRIVATE:
        with pytest.raises(UrlNotAllowed):
            await fetcher.fetch(f"http://[{address}]/latest/meta-data/", tmp_path / "out", 10**6)
    # A host or port yarl only rejects when it is read is an invalid url too, not a crash later.
    for url in ("http://xn--/x", "http://example.com:99999/x", "http://[::1"):
        with pytest.raises(UrlInvalid):
            await fetcher.fetch(url, tmp_path / "out", 10**6)
    assert not (tmp_path / "out").exists()


def _redirector(location: str) -> web.Application:
    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": location})

    app = web.Application()
    app.router.add_get("/", redirect)
    return app


@pytest.mark.parametrize(
    "location",
    [
        "http://[::1",
        "http://127.0.0.1:99999/file",
        "http://xn--/file",
        "http://xn--a/x",
        "//[::1",
        "ftp://example.com/x",
    ],
)
async def test_a_malformed_redirect_location_is_a_fetch_failure(
    aiohttp_server: AiohttpServer, tmp_path: Path, location: str
) -> None:
    server = await aiohttp_server(_redirector(location))
    fetcher = UrlFetcher(timeout_s=5, policy=any_address)
    with pytest.raises(UrlFetchFailed, match="invalid redirect"):
        await fetcher.fetch(str(server.make_url("/")), tmp_path / "out", 10**6)


async def test_the_api_answers_a_malformed_redirect_in_the_envelope(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory
) -> None:
    server = await aiohttp_server(_redirector("http://[::1"))
    linked = await linked_gateway(aiohttp_client, make_settings, MEDIA_ALLOW_PRIVATE_URLS="true")
    body = {"token": TOKEN, "to": PEER, "type": "image", "url": str(server.make_url("/"))}
    status, reply = await api(linked.client, "POST", "/messages/media", body)
    assert (status, reply["error"]["code"]) == (422, "MEDIA_FETCH_FAILED"), reply
    assert reply["error"]["message"] == "Could not download the media url: invalid redirect location"
    await linked.close()


async def test_the_api_refuses_an_embedded_private_address(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    strict = await linked_gateway(aiohttp_client, make_settings)
    url = "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/"
    body = {"token": TOKEN, "to": PEER, "type": "image", "url": url}
    status, reply = await api(strict.client, "POST", "/messages/media", body)
    assert (status, reply["error"]["code"]) == (400, "MEDIA_URL_NOT_ALLOWED"), reply
    await strict.close()
