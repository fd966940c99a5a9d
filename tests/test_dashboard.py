"""The dashboard in a real headless Chromium against the real gateway (sandbox engine)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from .conftest import API_KEY, SettingsFactory
from .harness import api, gateway, wait_for
from .webhooks.webhook_harness import MODE_410, MODE_OK, Receiver

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
PEER = "60198765432"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI installs Chromium and sets REQUIRE_BROWSER=1 so that a missing browser fails instead of skipping.
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", Path(__file__).parent.parent / "test-artifacts"))
# Flags for a closed network: without them Chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser_page() -> AsyncIterator[object]:
    if CHROMIUM is None:
        if REQUIRE_BROWSER:
            pytest.fail("Chromium is required (REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        try:
            yield page
        finally:
            await browser.close()


async def shot(page, name: str) -> None:
    # Playwright creates missing folders itself.
    await page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


async def sign_in(page, base: str) -> None:
    await page.goto(f"{base}/")
    await page.wait_for_url(f"{base}/dashboard")
    await shot(page, "1-login")
    await page.get_by_label("API key", exact=True).fill("wrong key")
    await page.get_by_role("button", name="Open dashboard", exact=True).click()
    await page.get_by_text("That key was not accepted.").wait_for()
    await page.get_by_label("API key", exact=True).fill(API_KEY)
    await page.keyboard.press("Enter")
    await page.get_by_text("Live updates: on").wait_for()
    assert API_KEY not in page.url
    await shot(page, "2-signed-in")


async def test_pair_chat_retry_dead_letters_and_create_keys_from_the_dashboard(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, make_settings: SettingsFactory, browser_page
) -> None:
    page = browser_page
    # confirm() before deleting or revoking: the person clicks OK.
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    receiver = Receiver(default_mode=MODE_410)
    hooks = await aiohttp_server(receiver.app())
    # Safe production values: the dashboard must work without listing its own origin anywhere.
    client: TestClient
    client, _ = await gateway(
        aiohttp_client,
        make_settings,
        WS_ALLOWED_ORIGINS="https://app.example.com",
        CORS_ORIGINS="https://app.example.com",
        WEBHOOK_URL=str(hooks.make_url("/hook")),
        AUTO_READ_RECEIPT="false",
    )
    base = f"http://{client.server.host}:{client.server.port}"
    await sign_in(page, base)

    # Pairing: the QR shows inline in the new device's panel, and goes once the phone linked it.
    await page.get_by_label("Phone number with country code", exact=True).fill(TOKEN)
    await page.get_by_role("button", name="Add device", exact=True).click()
    await page.get_by_role("img", name="QR code to link the device").wait_for()
    await page.wait_for_function("document.getElementById('qr').naturalWidth > 0")
    await shot(page, "3-qr")
    status, body = await api(client, "POST", f"/sandbox/devices/{TOKEN}/link", {"pushName": "Dashboard"})
    assert status == 200, body
    await page.locator(f'tr[data-token="{TOKEN}"] .status-connected').wait_for()
    await page.locator("#device-status.status-connected").wait_for()
    await page.locator("#pairing").wait_for(state="hidden")
    await shot(page, "4-connected")

    # Chats and messages come from the message store, live as messages arrive.
    for text in ("hello", "are you there?"):
        message = {"from": PEER, "text": text, "pushName": "Alice"}
        assert (await api(client, "POST", f"/sandbox/devices/{TOKEN}/messages", message))[0] == 200
    chat = page.get_by_role("button", name="Chat with Alice")
    # The list reloads as each message arrives: the badge reaches 2 once both are stored.
    await chat.locator(".badge").filter(has_text=re.compile(r"^2$")).wait_for()
    await chat.click()
    await page.locator("#messages li.theirs", has_text="are you there?").wait_for()
    assert await page.get_by_label("Recipient", exact=True).input_value() == PEER
    await page.get_by_label("Message text", exact=True).fill("yes, here")
    await page.get_by_role("button", name="Send message", exact=True).click()
    await page.get_by_text("Sent (").wait_for()
    await page.locator("#messages li.mine", has_text="yes, here").wait_for()
    texts = await page.locator("#messages li .text").all_inner_texts()
    assert texts == ["hello", "are you there?", "yes, here"]
    await shot(page, "5-chat")

    async def sent_texts() -> list[str]:
        _, log = await api(client, "GET", f"/sandbox/devices/{TOKEN}/sent")
        return [m["text"] for m in log["data"]["messages"]]

    assert await wait_for(sent_texts) == ["yes, here"]

    # Groups and channels of the open device, next to its chats: one channel it owns, one it follows.
    groups = {"groups": [{"jid": "120363000000000001", "subject": "Team", "participants": [TOKEN, PEER]}]}
    assert (await api(client, "PUT", f"/sandbox/devices/{TOKEN}/groups", groups))[0] == 200
    status, body = await api(client, "POST", f"/newsletters/{TOKEN}", {"name": "Shop news"})
    assert status == 200, body
    shop = body["data"]["jid"]
    status, body = await api(client, "POST", "/sandbox/newsletters", {"name": "Daily"})
    assert status == 200, body
    daily = body["data"]["jid"]
    assert (await api(client, "POST", f"/newsletters/{TOKEN}/follow", {"jid": daily}))[0] == 200
    await page.get_by_role("button", name=f"Open device {TOKEN}").click()
    await page.locator("#groups li", has_text="Team (2 members)").wait_for()
    await page.locator("#channels li", has_text="following · 1 followers").wait_for()
    await page.get_by_role("button", name="Channel Daily").click()
    await page.locator("#channel-posts li", has_text="No posts yet.").wait_for()
    # A post in the open channel shows up as it arrives.
    post = {"text": "Rain today"}
    assert (await api(client, "POST", f"/sandbox/newsletters/{daily}/messages", post))[0] == 200
    await page.locator("#channel-posts li", has_text="Rain today").wait_for()
    # Opening its own channel makes it the recipient: the device posts there from the message form.
    await page.get_by_role("button", name="Channel Shop news").click()
    assert await page.get_by_label("Recipient", exact=True).input_value() == shop
    await page.get_by_label("Message text", exact=True).fill("Sale starts now")
    await page.get_by_role("button", name="Send message", exact=True).click()

    async def shop_posts() -> list[str]:
        _, posts = await api(client, "GET", f"/newsletters/{TOKEN}/{shop}/messages")
        return [p["text"] for p in posts["data"]["messages"]]

    assert await wait_for(shop_posts, what="the post in the device's channel") == ["Sale starts now"]
    await page.get_by_role("button", name="Channel Shop news").click()
    await page.locator("#channel-posts li", has_text="Sale starts now").wait_for()
    await shot(page, "5c-groups-channels")
    await page.get_by_label("Contact's number", exact=True).fill(PEER)
    await page.get_by_role("button", name="Follow presence", exact=True).click()
    await page.get_by_text(f"Following {PEER}").wait_for()
    online = {"from": PEER, "state": "available"}
    assert (await api(client, "POST", f"/sandbox/devices/{TOKEN}/presence", online))[0] == 200
    await page.locator("#presence-result", has_text="available").wait_for()
    await page.get_by_label("Status text", exact=True).fill("open today")
    await page.get_by_role("button", name="Post status", exact=True).click()
    await page.get_by_text("Status posted (").wait_for()
    theirs = {"from": PEER, "text": "on holiday"}
    assert (await api(client, "POST", f"/sandbox/devices/{TOKEN}/status", theirs))[0] == 200
    await page.locator("#statuses li", has_text="on holiday").wait_for()
    await shot(page, "5b-groups-presence-status")

    # Dead letters: the receiver answered 410, so every event so far is dead; retry one once it is back.
    async def dead_count() -> int:
        _, stats = await api(client, "GET", "/webhooks/stats")
        return int(stats["data"]["dead"]) if stats["data"]["pending"] == 0 else 0

    dead = await wait_for(dead_count, what="dead letters")
    receiver.default_mode = MODE_OK
    await page.get_by_role("button", name="Webhooks", exact=True).click()
    await page.get_by_text(re.compile(rf"dead letters {dead}$")).wait_for()
    rows = page.locator("#dead tr")
    assert await rows.count() == dead
    first_id = await rows.first.get_attribute("data-id")
    await shot(page, "6-dead-letters")
    await rows.first.get_by_role("button", name="Retry").click()
    await page.get_by_text(re.compile(rf"dead letters {dead - 1}$")).wait_for()
    await wait_for(_async(lambda: first_id in receiver.delivered_ids()), what="the retried event delivered")
    await page.get_by_role("button", name="Retry all dead letters").click()
    await page.get_by_text(re.compile(r"dead letters 0$")).wait_for()
    await page.get_by_text("No dead letters.").wait_for()

    # API keys: create one limited to the device, see it once, use it, revoke it.
    await page.get_by_role("button", name="API keys", exact=True).click()
    await page.get_by_label("Key name", exact=True).fill("customer")
    await page.get_by_label("messages:read", exact=True).check()
    await page.get_by_label("Only these devices").fill(TOKEN)
    await page.get_by_role("button", name="Create key", exact=True).click()
    new_key = page.locator("#new-key")
    await new_key.wait_for()
    key = await new_key.inner_text()
    await page.locator("#keys tr", has_text="customer").wait_for()
    await shot(page, "7-key-created")
    reader = {"Authorization": f"Bearer {key}"}
    assert (await client.get(f"/messages/{TOKEN}", headers=reader)).status == 200
    assert (await client.get("/devices", headers=reader)).status == 403
    await page.get_by_role("button", name="Revoke key customer").click()
    await page.locator("#keys tr", has_text="customer").wait_for(state="detached")
    assert (await client.get(f"/messages/{TOKEN}", headers=reader)).status == 401

    await page.get_by_role("button", name="Live events", exact=True).click()
    events = await page.locator("#events li").all_inner_texts()
    assert any("connection-success" in e for e in events)
    assert any("message.received" in e for e in events)
    await shot(page, "8-events")


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def run() -> bool:
        return check()

    return run


async def test_dashboard_is_served_with_a_strict_policy_and_can_be_turned_off(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    resp = await client.get("/dashboard")
    assert resp.status == 200 and resp.content_type == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert '<script type="module" src="/dashboard/app.js"' in await resp.text()
    # Every module the page imports is served from the package, never from elsewhere.
    imports = {"/dashboard/app.js"}
    modules = ("app.js", "core.js", "devices.js", "chats.js", "channels.js", "outbox.js", "keys.js")
    for name in modules:
        script = await client.get(f"/dashboard/{name}")
        assert script.status == 200 and script.content_type == "text/javascript", name
        imports |= set(re.findall(r'from "([^"]+)"', await script.text()))
    assert imports == {f"/dashboard/{n}" for n in modules}
    assert (await client.get("/dashboard/nope.js")).status == 404

    off, _ = await gateway(aiohttp_client, make_settings, DASHBOARD_ENABLED="false")
    assert (await off.get("/dashboard")).status == 401
    status, _ = await api(off, "GET", "/dashboard")
    assert status == 404
