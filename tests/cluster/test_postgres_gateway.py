"""The whole gateway on DATABASE_URL: a second gateway with an empty DATA_DIR finds everything durable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import SettingsFactory
from tests.harness import api, device_status, gateway, wait_for

TOKEN = "60123456789"


async def test_state_lives_in_postgres_not_in_data_dir(
    postgres_url: str, aiohttp_client: Any, make_settings: SettingsFactory, tmp_path: Path
) -> None:
    # postgres_url first: its database is dropped after the gateways are closed.
    first, _ = await gateway(
        aiohttp_client, make_settings, DATABASE_URL=postgres_url, DATA_DIR=tmp_path / "a"
    )
    status, body = await api(first, "POST", "/devices", {"token": TOKEN})
    assert status == 200, body
    status, body = await api(first, "POST", f"/sandbox/devices/{TOKEN}/link", {"pushName": "Ann"})
    assert status == 200, body
    await wait_for(lambda: _is(first, "connected"), what="the device connected")
    status, body = await api(
        first, "POST", f"/sandbox/devices/{TOKEN}/messages", {"from": "60198765432", "text": "hi"}
    )
    assert status == 200, body
    status, body = await api(first, "POST", "/keys", {"name": "ci", "scopes": ["contacts:read"]})
    assert status == 201, body
    scoped_key = body["data"]["key"]

    async def contact_stored() -> bool:
        status, page = await api(first, "GET", f"/contacts/{TOKEN}")
        return status == 200 and [c["phone"] for c in page["data"]["contacts"]] == ["60198765432"]

    await wait_for(contact_stored, what="the contact captured")
    await first.close()

    # Another node: nothing of the first one's DATA_DIR, only the database.
    second, _ = await gateway(
        aiohttp_client, make_settings, DATABASE_URL=postgres_url, DATA_DIR=tmp_path / "b"
    )
    # The sandbox's network (in the worker) restored the paired device from PostgreSQL.
    await wait_for(lambda: _is(second, "connected"), within=30, what="the device restored on the second node")
    status, page = await api(second, "GET", f"/contacts/{TOKEN}", headers={"X-API-Key": scoped_key})
    assert status == 200, page
    assert [c["phone"] for c in page["data"]["contacts"]] == ["60198765432"]
    assert not (tmp_path / "b" / "sessions").exists() or not list((tmp_path / "b" / "sessions").iterdir())


async def _is(client: Any, wanted: str) -> bool:
    return await device_status(client, TOKEN) == wanted
