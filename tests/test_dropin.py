"""Go-gateway clients keep working: health fields, path matching and configuration the Go gateway accepted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from wa_gateway import procstats
from wa_gateway.app import create_app
from wa_gateway.config import ConfigError

from .conftest import AUTH, SettingsFactory


async def test_detailed_health_has_the_go_gateway_process_fields(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    resp = await client.get("/health/detailed", headers=AUTH)
    data = (await resp.json())["data"]
    for field in ("goroutines", "memoryAlloc", "memorySys"):
        assert type(data[field]) is int, field
    assert data["goroutines"] == data["threads"] >= 1
    # Heap in use is part of what is resident, and both are real figures for a running interpreter.
    assert 1_000_000 < data["memoryAlloc"] <= data["memorySys"]
    assert data["memorySys"] == pytest.approx(data["memoryRss"], rel=0.2)


def test_heap_figure_reads_anonymous_resident_memory() -> None:
    status = Path(f"/proc/{os.getpid()}/status").read_text()
    anon_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("RssAnon:"))
    assert procstats.heap_bytes() == pytest.approx(anon_kb * 1024, rel=0.2)
    assert procstats.heap_bytes(pid=2**22 + 1) == 0  # no such process: 0, never an exception


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health/", 200),
        ("GET", "/HEALTH", 200),
        ("GET", "/Health/Detailed/", 200),
        ("GET", "/Devices", 200),
        ("GET", "/devices/", 200),
        ("GET", "/Contacts/60123456789/", 404),  # reaches the handler: DEVICE_NOT_FOUND, not a route 404
        ("POST", "/Messages", 400),
        ("POST", "/messages/", 400),
        ("POST", "/MESSAGES/MEDIA/", 400),
        ("POST", "/Validate/Phone", 400),
    ],
)
async def test_case_and_trailing_slash_reach_the_handler_without_a_redirect(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory, method: str, path: str, status: int
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    resp = await client.request(method, path, headers=AUTH, json={}, allow_redirects=False)
    body = await resp.json()
    assert resp.status == status, body
    if status == 404:
        assert body["error"]["code"] == "DEVICE_NOT_FOUND"
    elif status == 400:
        assert body["error"]["code"] != "NOT_FOUND"


async def test_path_parameters_keep_their_case(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    resp = await client.request("PATCH", "/Messages/3EB0ABCdef/", headers=AUTH, json={"token": "1"})
    assert resp.status == 400  # the token is checked first; a 404 NOT_FOUND would mean no route matched
    assert (await resp.json())["error"]["code"] == "INVALID_TOKEN"


async def test_variants_still_need_the_key_and_share_the_canonical_rate_limit(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings(RATE_LIMIT_VALIDATE=2)))
    assert (await client.get("/Devices/")).status == 401
    assert (await client.get("/HEALTH/")).status == 200  # public stays public
    statuses = [
        (await client.post(path, headers=AUTH, json={})).status
        for path in ("/validate/phone", "/Validate/Phone/", "/VALIDATE/PHONE")
    ]
    assert statuses == [400, 400, 429]


async def test_unknown_paths_and_wrong_methods_are_unchanged(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    resp = await client.get("/nothing/here/", headers=AUTH)
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "NOT_FOUND"
    resp = await client.delete("/Messages/", headers=AUTH)
    assert resp.status == 405 and "POST" in resp.headers["Allow"]


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        ("trace", "debug"),
        ("TRACE", "debug"),
        ("fatal", "critical"),
        ("panic", "critical"),
        ("disabled", "critical"),
    ],
)
def test_go_log_levels_are_accepted(make_settings: SettingsFactory, raw: str, level: str) -> None:
    assert make_settings(LOG_LEVEL=raw).log_level == level


def test_unknown_log_level_is_still_refused(make_settings: SettingsFactory) -> None:
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        make_settings(LOG_LEVEL="verbose")
