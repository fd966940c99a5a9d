"""Form, multipart and compressed request bodies, through the real app on 127.0.0.1."""

from __future__ import annotations

import logging
import zlib

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from wa_gateway.app import create_app

from .conftest import AUTH, SettingsFactory


def _form(**fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        form.add_field(name, value)
    return form


async def test_multipart_form_fields_are_read_on_a_post(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    # The token field arrives and is checked; the text field arrives and is checked after it.
    resp = await client.post("/messages", data=_form(token="abc", text="hi"), headers=AUTH)
    body = await resp.json()
    assert resp.status == 400 and body["error"]["code"] == "INVALID_TOKEN"
    resp = await client.post("/messages", data=_form(token="60123456789", text=""), headers=AUTH)
    body = await resp.json()
    assert resp.status == 400 and body["error"]["code"] == "INVALID_MESSAGE"
    resp = await client.post("/messages", data=_form(token="60123456789", text="hi", to="x"), headers=AUTH)
    body = await resp.json()
    assert resp.status == 400 and body["error"]["code"] == "INVALID_PHONE"


async def test_a_broken_multipart_body_is_400_in_the_envelope(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    resp = await client.post(
        "/messages",
        data=b"--nope\r\nContent-Disposition: form-data\r\n\r\nx",
        headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    body = await resp.json()
    assert resp.status == 400 and body["success"] is False
    assert body["error"]["code"] == "INVALID_REQUEST"


async def test_deflate_bodies_are_read_and_a_bad_one_is_400(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    headers = {**AUTH, "Content-Type": "application/json", "Content-Encoding": "deflate"}
    good = zlib.compress(b'{"token":"abc","text":"hi"}')
    resp = await client.post("/messages", data=good, headers=headers)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "INVALID_TOKEN"
    resp = await client.post("/messages", data=b"this is not deflate", headers=headers)
    body = await resp.json()
    assert resp.status == 400 and body["success"] is False
    assert body["error"]["code"] == "INVALID_REQUEST"
    # A client's bad body is not a server error: no traceback in the log.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("method", "path", "content_type", "code"),
    [
        ("DELETE", "/messages/ABC123", "application/json", "INVALID_REQUEST"),
        ("PUT", "/sandbox/numbers/60123456789", "application/json", "INVALID_REQUEST"),
        ("POST", "/messages/media", "multipart/form-data; boundary=b0undary", "INVALID_MEDIA"),
    ],
)
async def test_a_bad_content_encoding_is_400_on_every_route_with_a_body(
    aiohttp_client: AiohttpClient,
    make_settings: SettingsFactory,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    content_type: str,
    code: str,
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    headers = {**AUTH, "Content-Type": content_type, "Content-Encoding": "deflate"}
    resp = await client.request(method, path, data=b"this is not deflate", headers=headers)
    body = await resp.json()
    assert resp.status == 400 and body["success"] is False and body["error"]["code"] == code
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
