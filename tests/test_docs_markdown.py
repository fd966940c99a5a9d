"""/docs shows the Markdown of the OpenAPI descriptions rendered, and nothing in them can inject HTML."""

from __future__ import annotations

from pytest_aiohttp import AiohttpClient

from wa_gateway.app import create_app
from wa_gateway.openapi.markdown import to_html

from .conftest import SettingsFactory


def test_markdown_subset() -> None:
    assert to_html('Send `{"a":1}` **now**\nplease.\n\n- one\n- `two`') == (
        "<p>Send <code>{&quot;a&quot;:1}</code> <strong>now</strong> please.</p>"
        "<ul><li>one</li><li><code>two</code></li></ul>"
    )


def test_markdown_never_passes_html_through() -> None:
    rendered = to_html('<script>alert(1)</script> `<img src=x onerror="y">` **<b>**')
    assert "<script" not in rendered and "<img" not in rendered and "<b>" not in rendered
    assert "&lt;script&gt;" in rendered and "&lt;img src=x onerror=&quot;y&quot;&gt;" in rendered


async def test_document_carries_rendered_descriptions_the_page_uses(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    doc = await (await client.get("/openapi.json")).json()
    ws = doc["paths"]["/ws"]["get"]
    assert ws["x-description-html"] == to_html(ws["description"])
    assert "<code>{&quot;type&quot;:&quot;auth&quot;" in ws["x-description-html"]
    assert doc["info"]["x-description-html"].startswith("<p>")
    assert all("x-description-html" in item["post"] for item in doc["webhooks"].values())
