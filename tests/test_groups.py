"""GET /groups/{token} and GET /groups/{token}/{gid} end to end; the sandbox plays WhatsApp's groups."""

from __future__ import annotations

import pytest
from pytest_aiohttp import AiohttpClient

from .conftest import SettingsFactory
from .harness import api
from .messaging_harness import GROUP, PEER, TOKEN, last_sent, linked_gateway

pytestmark = pytest.mark.slow

OLD_STYLE_GROUP = "60123456789-1600000000@g.us"


async def test_groups(aiohttp_client: AiohttpClient, make_settings: SettingsFactory) -> None:
    linked = await linked_gateway(aiohttp_client, make_settings)
    client = linked.client
    status, body = await api(client, "GET", f"/groups/{TOKEN}")
    assert status == 200 and body["data"] == {"groups": [], "total": 0}, body
    groups = {
        "groups": [
            {
                "jid": GROUP,
                "subject": "Family",
                "topic": "Sunday lunch",
                "owner": TOKEN,
                "participants": [TOKEN, PEER, "60177777777"],
                "admins": [PEER],
            },
            {"jid": OLD_STYLE_GROUP, "subject": "Old friends", "participants": [TOKEN]},
        ]
    }
    status, body = await api(client, "PUT", f"/sandbox/devices/{TOKEN}/groups", groups)
    assert status == 200, body

    status, body = await api(client, "GET", f"/groups/{TOKEN}")
    assert status == 200 and body["message"] == "Groups retrieved"
    assert body["data"] == {
        "groups": [
            {"jid": GROUP, "subject": "Family", "participants": 3},
            {"jid": OLD_STYLE_GROUP, "subject": "Old friends", "participants": 1},
        ],
        "total": 2,
    }
    for gid in (GROUP, GROUP.removesuffix("@g.us")):
        status, body = await api(client, "GET", f"/groups/{TOKEN}/{gid}")
        assert status == 200 and body["message"] == "Group retrieved", body
        info = body["data"]
        assert (info["jid"], info["subject"], info["topic"]) == (GROUP, "Family", "Sunday lunch")
        assert info["owner"] == f"{TOKEN}@s.whatsapp.net" and info["createdAt"] is None
        roles = {p["phone"]: (p["isAdmin"], p["isSuperAdmin"]) for p in info["participants"]}
        assert roles == {TOKEN: (True, True), PEER: (True, False), "60177777777": (False, False)}
    status, body = await api(client, "GET", f"/groups/{TOKEN}/{OLD_STYLE_GROUP}")
    assert status == 200 and body["data"]["subject"] == "Old friends"

    # A message to the group goes to its JID.
    status, body = await api(client, "POST", "/messages", {"token": TOKEN, "to": GROUP, "text": "hi all"})
    assert status == 200 and (await last_sent(client))["to"] == GROUP

    for path, status_expected, code in (
        (f"/groups/{TOKEN}/120363999999999999@g.us", 404, "GROUP_NOT_FOUND"),
        (f"/groups/{TOKEN}/not-a-group", 400, "INVALID_GROUP"),
        (f"/groups/{TOKEN}/{PEER}@s.whatsapp.net", 400, "INVALID_GROUP"),
        ("/groups/abc", 400, "INVALID_TOKEN"),
        ("/groups/60111111111", 404, "DEVICE_NOT_FOUND"),
        (f"/groups/60111111111/{GROUP}", 404, "DEVICE_NOT_FOUND"),
    ):
        status, body = await api(client, "GET", path)
        assert (status, body["error"]["code"]) == (status_expected, code), path
    await api(client, "POST", "/devices", {"token": "60111111111"})
    for path in ("/groups/60111111111", f"/groups/60111111111/{GROUP}"):
        status, body = await api(client, "GET", path)
        assert (status, body["error"]["code"]) == (409, "DEVICE_NOT_CONNECTED"), path
    await linked.close()
