"""Logs never contain the API key or the webhook secret, whatever carries them."""

from __future__ import annotations

import asyncio
import io
import logging

import orjson
import pytest
from aiohttp import web

from wa_gateway.logs import configure_logging

API_KEY = "k3y-0123456789abcdef"
SECRET = "whsec_c2VjcmV0LXNlY3JldA=="


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_secrets_are_scrubbed_everywhere(fmt: str, restore_logging) -> None:
    stream = io.StringIO()
    configure_logging("debug", fmt, secrets=(API_KEY, SECRET), stream=stream)
    log = logging.getLogger("wa_gateway.test")
    log.info("key is %s", API_KEY)
    log.warning("fields", extra={"header": f"Bearer {API_KEY}", "nested": {"a": [SECRET]}, "n": 5})
    try:
        raise RuntimeError(f"request failed with secret {SECRET}")
    except RuntimeError:
        log.exception("boom")
    out = stream.getvalue()
    assert API_KEY not in out and SECRET not in out
    assert out.count("[redacted]") >= 4
    assert "RuntimeError" in out and "Traceback" in out
    if fmt == "json":
        lines = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert lines[1]["n"] == 5 and lines[1]["nested"] == {"a": ["[redacted]"]}
        assert "[redacted]" in lines[2]["exc"]


async def test_a_malformed_request_is_one_warning_line(restore_logging, aiohttp_server) -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    server = await aiohttp_server(web.Application())
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Probe: \x00\r\n\r\n")
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    assert b" 400 " in status_line
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    rejected = [line for line in lines if line["logger"] == "aiohttp.server"]
    assert len(rejected) == 1
    assert rejected[0]["level"] == "warning" and rejected[0]["msg"] == "malformed HTTP request rejected"
    assert "exc" not in rejected[0] and "Traceback" not in stream.getvalue()
