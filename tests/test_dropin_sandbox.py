"""Sandbox control routes read numbers exactly as the API does, so what they set is what the API finds."""

from __future__ import annotations

from pytest_aiohttp import AiohttpClient

from .conftest import SettingsFactory
from .harness import api, wait_for
from .messaging_harness import TOKEN, linked_gateway


async def test_numbers_route_normalises_like_validate_phone(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    status, body = await api(linked.client, "PUT", "/sandbox/numbers/0127778888", {"registered": False})
    assert status == 200 and body["data"]["phone"] == "60127778888"
    _, body = await api(linked.client, "POST", "/validate/phone", {"token": TOKEN, "phone": "0127778888"})
    assert body["data"]["isOnWhatsApp"] is False
    status, body = await api(linked.client, "PUT", "/sandbox/numbers/12", {"registered": False})
    assert status == 400 and body["error"]["code"] == "INVALID_PHONE"
    await linked.close()


async def contact_phones(linked: object, expected: int) -> list[str]:
    client = linked.client  # type: ignore[attr-defined]

    async def check() -> list[str] | None:
        _, body = await api(client, "GET", f"/contacts/{TOKEN}")
        phones = sorted(c["phone"] for c in body["data"]["contacts"])
        return phones if len(phones) >= expected else None

    result: list[str] = await wait_for(check, what=f"{expected} contacts")
    return result


async def test_from_is_normalised_and_may_be_a_jid(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    for sender in ("0173334444", "+60 17-555 6666", "60177778888@s.whatsapp.net"):
        status, body = await api(
            linked.client, "POST", f"/sandbox/devices/{TOKEN}/messages", {"from": sender, "text": "hi"}
        )
        assert status == 200, body
    assert await contact_phones(linked, 3) == ["60173334444", "60175556666", "60177778888"]
    for sender in ("12", "120363000000000001@g.us", 60173334444):
        status, body = await api(
            linked.client, "POST", f"/sandbox/devices/{TOKEN}/messages", {"from": sender, "text": "hi"}
        )
        assert status == 400 and body["error"]["code"] in ("INVALID_PHONE", "INVALID_REQUEST"), sender
    await linked.close()


async def test_history_sync_accepts_groups_and_skips_them(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    batch = {
        "contacts": [
            {"phone": "120363000000000001@g.us", "name": "Family"},
            {"phone": "status@broadcast", "name": ""},
            {"phone": "0171112222", "name": "Ann"},
            {"phone": "60173334444@s.whatsapp.net", "name": "Bob"},
        ]
    }
    status, body = await api(linked.client, "POST", f"/sandbox/devices/{TOKEN}/history-sync", batch)
    assert status == 200, body
    assert await contact_phones(linked, 2) == ["60171112222", "60173334444"]
    await linked.close()
