"""neonize sessions in PostgreSQL: the exact stored JID on a restore, a blank device for a pairing, Go
never handed a JID without its row (docs/cluster.md "neonize sessions"). Fake Go, real PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from neonize.proto import Neonize_pb2 as P

from tests.neonize.neonize_fakes import TOKEN, FakeGo, FakeSession, Recorder, device_event
from wa_gateway.backends.neonize import client as nc
from wa_gateway.backends.neonize import shared_store
from wa_gateway.backends.neonize.engine import NeonizeBackend
from wa_gateway.backends.neonize.runtime import NeonizeSettings
from wa_gateway.clock import ManualClock
from wa_gateway.db import whatsmeow
from wa_gateway.engine.contract import E_INVALID_ARGUMENT, EngineError

STORED = f"{TOKEN}:7@s.whatsapp.net"


@pytest.fixture
async def settings(postgres_url: str, tmp_path: Path) -> NeonizeSettings:
    """The conftest's ``backend``, on a PostgreSQL session store holding one device row."""
    conn = await asyncpg.connect(postgres_url)
    try:
        # Only the key column matters here: the fake Go reads nothing from the row.
        await conn.execute(f"CREATE SCHEMA {whatsmeow.SCHEMA}")
        await conn.execute(f"CREATE TABLE {whatsmeow.DEVICE_TABLE} (jid text PRIMARY KEY)")
        await conn.execute(f"INSERT INTO {whatsmeow.DEVICE_TABLE} VALUES ($1)", STORED)
    finally:
        await conn.close()
    return NeonizeSettings.from_config({"data_dir": str(tmp_path), "database_url": postgres_url})


@pytest.fixture
def shared_backend(backend: NeonizeBackend) -> NeonizeBackend:
    return backend


def _connected(session: FakeSession) -> None:
    session.event(nc.DEVICE, device_event(TOKEN, "Shop"))
    session.event(nc.CONNECTED, P.Connected(status=True))


async def test_a_new_pairing_is_a_blank_device_in_the_shared_store(
    shared_backend: NeonizeBackend, fake_go: FakeGo, tmp_path: Path
) -> None:
    assert await shared_backend.connect(TOKEN, "qr", "") == {"paired": False}
    session = await fake_go.next_session()
    assert session.new_device is True and session.jid is None
    url = urlsplit(session.db_path)
    query = parse_qs(url.query)
    assert url.scheme == "postgresql"
    assert query["search_path"] == [whatsmeow.SCHEMA]
    assert query["application_name"] == [whatsmeow.application_name(session.uuid)]
    assert not (tmp_path / "sessions" / f"{TOKEN}.db").exists()


async def test_a_restore_resumes_the_exact_stored_jid(
    shared_backend: NeonizeBackend, fake_go: FakeGo, recorder: Recorder
) -> None:
    fake_go.script = _connected
    assert await shared_backend.connect(TOKEN, "restore", "", STORED) == {"paired": True}
    session = await fake_go.next_session()
    assert session.new_device is False
    assert session.jid is not None
    assert (session.jid.User, session.jid.Device, session.jid.Server) == (TOKEN, 7, "s.whatsapp.net")
    # Go's registry key stays unique per client, not the JID's user (docs/neonize.md §1).
    assert session.uuid != TOKEN
    await recorder.wait_for("connected")


async def test_a_jid_without_its_row_never_reaches_go(
    shared_backend: NeonizeBackend, fake_go: FakeGo
) -> None:
    gone = f"{TOKEN}:9@s.whatsapp.net"
    assert await shared_backend.connect(TOKEN, "restore", "", gone) == {"paired": False}
    assert fake_go.called("Neonize") == []
    # A pairing for it starts blank instead of handing Go the JID.
    await shared_backend.connect(TOKEN, "qr", "", gone)
    session = await fake_go.next_session()
    assert session.jid is None and session.new_device is True


@pytest.mark.parametrize("jid", ["15550000002:7@s.whatsapp.net", "not a jid", f"{TOKEN}@"])
async def test_a_jid_of_another_account_is_refused(
    shared_backend: NeonizeBackend, fake_go: FakeGo, jid: str
) -> None:
    with pytest.raises(EngineError) as caught:
        await shared_backend.connect(TOKEN, "restore", "", jid)
    assert caught.value.code == E_INVALID_ARGUMENT
    assert fake_go.called("Neonize") == []


async def test_an_offline_logout_deletes_the_stored_device(
    postgres_url: str, shared_backend: NeonizeBackend, fake_go: FakeGo
) -> None:
    fake_go.session_error = "failed to dial whatsapp web websocket"
    await shared_backend.connect(TOKEN, "restore", "", STORED)
    await shared_backend.logout(TOKEN)
    conn = await asyncpg.connect(postgres_url)
    try:
        assert await conn.fetchval(f"SELECT count(*) FROM {whatsmeow.DEVICE_TABLE}") == 0
    finally:
        await conn.close()


class SilencingProxy:
    """A TCP proxy to PostgreSQL that can go silent: it keeps accepting bytes and never answers again,
    the way a database behind a dead link or a stuck server looks (docs/neonize.md §6)."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self.silent = False
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()
        self.port = 0

    async def __aenter__(self) -> SilencingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            pump = asyncio.create_task(self._pump(source, sink))
            self._pumps.add(pump)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                if not self.silent:
                    sink.write(data)
                    await sink.drain()
        finally:
            sink.close()


async def test_a_database_that_stops_answering_is_never_handed_to_go(
    postgres_url: str,
    tmp_path: Path,
    fake_go: FakeGo,
    clock: ManualClock,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shared_store, "PROBE_TIMEOUT_S", 0.5)
    url = urlsplit(postgres_url)
    assert url.port is not None
    async with SilencingProxy(url.port) as proxy:
        through = postgres_url.replace(f":{url.port}/", f":{proxy.port}/")
        settings = NeonizeSettings.from_config({"data_dir": str(tmp_path), "database_url": through})
        engine = NeonizeBackend(settings, gocode=fake_go, clock=clock)
        await engine.start(recorder)  # the worker's pool connects while the proxy still forwards
        try:
            proxy.silent = True
            for method, jid in (("qr", None), ("restore", STORED)):
                with pytest.raises(EngineError) as caught:
                    async with asyncio.timeout(10):
                        await engine.connect(TOKEN, method, "", jid)  # type: ignore[arg-type]
                assert "The session database cannot be reached" in caught.value.message
            assert fake_go.called("Neonize") == []
        finally:
            proxy.silent = False
            await engine.close()
