"""The dashboard in a real headless Chromium against the real gateway (sandbox engine)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from .conftest import API_KEY, SettingsFactory
from .harness import api, gateway, wait_for

pytestmark = pytest.mark.slow

TOKEN = "60123456789"
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


async def test_pair_link_and_send_from_the_dashboard(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory, browser_page
) -> None:
    page = browser_page
    # Safe production values: the dashboard must work without listing its own origin anywhere.
    client: TestClient
    client, _ = await gateway(
        aiohttp_client,
        make_settings,
        WS_ALLOWED_ORIGINS="https://app.example.com",
        CORS_ORIGINS="https://app.example.com",
    )
    base = f"http://{client.server.host}:{client.server.port}"
    await page.goto(f"{base}/")
    await page.wait_for_url(f"{base}/dashboard")
    await shot(page, "1-login")

    await page.get_by_label("API key").fill("wrong key")
    await page.get_by_role("button", name="Open dashboard").click()
    await page.get_by_text("That key was not accepted.").wait_for()
    await page.get_by_label("API key").fill(API_KEY)
    await page.keyboard.press("Enter")
    await page.get_by_text("Live updates: on").wait_for()
    assert API_KEY not in page.url
    await shot(page, "2-signed-in")

    await page.get_by_label("Phone number with country code").fill(TOKEN)
    await page.get_by_role("button", name="Add device").click()
    qr = page.get_by_role("img", name="QR code to link the device")
    await qr.wait_for()
    await page.wait_for_function("document.getElementById('qr').naturalWidth > 0")
    await shot(page, "3-qr")

    status, body = await api(client, "POST", f"/sandbox/devices/{TOKEN}/link", {"pushName": "Dashboard"})
    assert status == 200, body
    await page.locator(f'tr[data-token="{TOKEN}"] .status-connected').wait_for()
    assert await page.locator("#pairing").is_hidden()
    await shot(page, "4-connected")

    await page.get_by_label("From device").fill(TOKEN)
    await page.get_by_label("To").fill("60198765432")
    await page.get_by_label("Text").fill("hello from the dashboard")
    await page.get_by_role("button", name="Send").click()
    await page.get_by_text("Sent (").wait_for()
    await shot(page, "5-sent")

    async def sent_texts() -> list[str]:
        _, log = await api(client, "GET", f"/sandbox/devices/{TOKEN}/sent")
        return [m["text"] for m in log["data"]["messages"]]

    assert await wait_for(sent_texts) == ["hello from the dashboard"]
    events = await page.locator("#events li").all_inner_texts()
    assert any("connection-success" in e for e in events)


async def test_dashboard_is_served_with_a_strict_policy_and_can_be_turned_off(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    resp = await client.get("/dashboard")
    assert resp.status == 200 and resp.content_type == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert '<script src="/dashboard/app.js"' in await resp.text()
    assert (await client.get("/dashboard/app.js")).content_type == "text/javascript"
    assert (await client.get("/dashboard/nope.js")).status == 404

    off, _ = await gateway(aiohttp_client, make_settings, DASHBOARD_ENABLED="false")
    assert (await off.get("/dashboard")).status == 401
    status, _ = await api(off, "GET", "/dashboard")
    assert status == 404
