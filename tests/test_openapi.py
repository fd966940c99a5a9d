"""The OpenAPI document is valid, public, and lists exactly the routes the app serves."""

from __future__ import annotations

import pytest
from aiohttp import web
from openapi_spec_validator import validate
from pytest_aiohttp import AiohttpClient

from wa_gateway.app import create_app
from wa_gateway.events.catalog import WEBHOOK_EVENTS

from .conftest import SettingsFactory

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def served_routes(app: web.Application) -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method in METHODS and route.resource is not None
    }


def documented_routes(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


@pytest.mark.parametrize(
    "env",
    [
        {"WEBHOOK_URL": "http://127.0.0.1:9/hook"},  # sandbox, webhooks, dashboard
        {"WEBHOOK_URL": "http://127.0.0.1:9/hook", "DATABASE_URL": "", "NATS_URL": ""},  # and cluster, NATS
        {"WA_ENGINE": "neonize", "DASHBOARD_ENABLED": "false"},  # the fewest routes
    ],
    ids=["sandbox", "everything", "fewest"],
)
async def test_document_matches_the_routes_and_validates(
    request: pytest.FixtureRequest,
    aiohttp_client: AiohttpClient,
    make_settings: SettingsFactory,
    env: dict[str, str],
) -> None:
    # An empty value stands for a server of the session's own: the fixtures start them only when asked.
    if "DATABASE_URL" in env:
        env = {**env, "DATABASE_URL": request.getfixturevalue("postgres_url"), "CLUSTER_SECRET": "c" * 32}
    if "NATS_URL" in env:
        env = {**env, "NATS_URL": request.getfixturevalue("nats_server").url}
    app = create_app(make_settings(**env))
    client = await aiohttp_client(app)
    resp = await client.get("/openapi.json")  # public: no key
    assert resp.status == 200
    document = await resp.json()
    validate(document)
    served, documented = served_routes(app), documented_routes(document)
    assert served - documented == set(), "routes without a spec entry"
    assert documented - served == set(), "spec entries without a route"
    assert ("DATABASE_URL" in env) == any(path.startswith("/cluster") for path in document["paths"])
    assert set(document["webhooks"]) == WEBHOOK_EVENTS
    for event, hook in document["webhooks"].items():
        payload = hook["post"]["requestBody"]["content"]["application/json"]["schema"]
        data = payload["properties"]["data"]
        assert "properties" in data or "items" in data, event
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and op["tags"], (method, path)
            assert "default" in op["responses"], (method, path)


async def test_docs_page_is_self_contained(
    aiohttp_client: AiohttpClient, make_settings: SettingsFactory
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    page = await client.get("/docs")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    assert "/docs/docs.js" in html and "http" not in html.replace("http-equiv", "")
    script = await client.get("/docs/docs.js")
    assert script.status == 200 and 'url: "/openapi.json"' in await script.text()
    bundle = await client.get("/docs/swagger-ui-bundle.js")
    assert bundle.status == 200 and "SwaggerUIBundle" in await bundle.text()
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
