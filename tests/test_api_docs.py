"""/docs (Swagger UI shipped in the package) in a real headless Chromium: the key is typed once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from .conftest import API_KEY, SettingsFactory
from .harness import gateway
from .test_dashboard import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, REQUIRE_BROWSER

pytestmark = pytest.mark.slow


@pytest.fixture
async def docs_browser() -> AsyncIterator[Any]:
    if CHROMIUM is None:
        if REQUIRE_BROWSER:
            pytest.fail("Chromium is required (REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            await browser.close()


LIST_DEVICES_STATUS = "#operations-Devices-get_devices .live-responses-table tr.response .response-col_status"


async def try_list_devices(page: Any) -> None:
    block = page.locator("#operations-Devices-get_devices")
    await block.locator(".opblock-summary").click()
    await block.get_by_role("button", name="Execute").click()
    await page.locator(LIST_DEVICES_STATUS).first.wait_for()


async def test_docs_try_it_out_with_the_key_typed_once(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory, docs_browser: Any
) -> None:
    client, _ = await gateway(aiohttp_client, make_settings)
    base = f"http://{client.server.host}:{client.server.port}"
    page = await docs_browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    await page.goto(f"{base}/docs")
    await page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    await dialog.locator("input").first.fill(API_KEY)
    # Swagger UI labels the dialog's buttons "Apply credentials" and "Close"; its classes are stable.
    await dialog.locator("button.modal-btn.authorize").first.click()
    await dialog.locator("button.btn-done").first.click()

    await try_list_devices(page)
    status = page.locator(LIST_DEVICES_STATUS).first
    assert (await status.inner_text()).strip() == "200"
    await page.screenshot(path=str(ARTIFACTS / "docs-try-it-out.png"), full_page=False)

    # A new page in the same browser: the key is remembered, nothing is typed.
    again = await docs_browser.new_page()
    await again.goto(f"{base}/docs")
    await try_list_devices(again)
    status = again.locator(LIST_DEVICES_STATUS).first
    assert (await status.inner_text()).strip() == "200"
    assert not [p for p in problems if "Content Security Policy" in p or p.startswith("failed:")], problems
