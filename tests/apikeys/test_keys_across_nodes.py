"""Two nodes' keyrings on one PostgreSQL database: a key created or revoked on one reaches the other."""

from __future__ import annotations

from wa_gateway.apikeys.keyring import Keyring
from wa_gateway.clock import ManualClock
from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.db.postgres_small import PostgresKeyStore


async def test_refresh_picks_up_keys_created_and_revoked_elsewhere(postgres_url: str) -> None:
    database = PostgresDatabase(postgres_url, pool_size=2)
    await database.open()
    node_a = Keyring(PostgresKeyStore(database), "admin-key", ManualClock())
    node_b = Keyring(PostgresKeyStore(database), "admin-key", ManualClock())
    try:
        await node_a.open()
        await node_b.open()
        revoked_on_b: list[str] = []
        node_b.on_revoked(revoked_on_b.append)

        record, key = await node_a.create("ci", frozenset({"contacts:read"}), None)
        assert node_b.lookup(key) is None  # not reread yet
        await node_b.refresh()
        principal = node_b.lookup(key)
        assert principal is not None and principal.scopes == frozenset({"contacts:read"})

        assert await node_a.revoke(record.id)
        await node_b.refresh()
        assert node_b.lookup(key) is None
        assert revoked_on_b == [record.id]  # so node b closes that key's WebSockets too
        await node_b.refresh()
        assert revoked_on_b == [record.id]
    finally:
        await node_a.close()
        await node_b.close()
        await database.close()
