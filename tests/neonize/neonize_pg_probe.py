"""Drives the neonize backend on the real Go library against a real PostgreSQL server, in its own process.

Usage: python -m tests.neonize.neonize_pg_probe DATA_DIR RESULT_JSON [isolated]. The probe starts its own
PostgreSQL server, so it can run in a network namespace of its own (``isolated``: it brings up loopback
there, a new namespace starts with it down): every connect then fails at the websocket dial, after
whatsmeow opened (and migrated) its store. The result goes to a file: Go may print to stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg

from tests.neonize.neonize_probe import TOKEN, Events
from tests.servers import PostgresServer
from wa_gateway.backends.neonize.backend import create_backend
from wa_gateway.cluster.store import LeaseStore
from wa_gateway.db import whatsmeow
from wa_gateway.db.postgres import PostgresDatabase

CYCLES = 5
STORED_JID = f"{TOKEN}:7@s.whatsapp.net"
MISSING_JID = f"{TOKEN}:9@s.whatsapp.net"
_OPEN = "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1"


async def store_device(conn: asyncpg.Connection, jid: str) -> None:
    """A device row as whatsmeow's PutDevice writes it (store/sqlstore/container.go), with random keys."""
    await conn.execute(
        f"""
        INSERT INTO {whatsmeow.DEVICE_TABLE} (jid, registration_id, noise_key, identity_key, signed_pre_key,
            signed_pre_key_id, signed_pre_key_sig, adv_key, adv_details, adv_account_sig,
            adv_account_sig_key, adv_device_sig)
        VALUES ($1, 1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10)
        """,
        jid,
        *(os.urandom(n) for n in (32, 32, 32, 64, 32, 16, 64, 32, 64)),
    )


async def probe(url: str, data_dir: str) -> dict[str, Any]:
    database = PostgresDatabase(url, pool_size=1)
    await database.open()
    await LeaseStore(database).open()  # the gateway's migrations: they create whatsmeow's schema
    await database.close()
    conn = await asyncpg.connect(url)
    pattern = f"{whatsmeow.APPLICATION_PREFIX}%"
    events = Events()
    config = {
        "engine": "neonize",
        "data_dir": data_dir,
        "database_url": url,
        "log_level": "warning",
        "reconnect_max_attempts": 1,
        "reconnect_backoff_s": 0.05,
        "reconnect_jitter": 0,
    }
    backend: Any = await create_backend(config)
    await backend.start(events)
    result: dict[str, Any] = {"pairing": []}
    try:
        for cycle in range(1, CYCLES + 1):
            result["pairing"].append(await backend.connect(TOKEN, "qr", ""))
            await events.wait("connect_failure", cycle)
            await backend.disconnect(TOKEN)
        result["closed_after_cycles"] = backend.context.shared.connections_closed
        result["open_after_cycles"] = await conn.fetchval(_OPEN, pattern)
        result["tables"] = [
            tuple(r)
            for r in await conn.fetch(
                "SELECT table_schema, count(*) FROM information_schema.tables"
                " WHERE table_name LIKE 'whatsmeow%' GROUP BY 1 ORDER BY 1"
            )
        ]
        result["session_files"] = sorted(os.listdir(Path(data_dir) / "sessions"))
        result["cwd_files"] = sorted(name for name in os.listdir(".") if name.startswith("postgres"))
        await store_device(conn, STORED_JID)
        result["missing"] = await backend.connect(TOKEN, "restore", "", MISSING_JID)
        failures = events.count("connect_failure")
        result["restore"] = await backend.connect(TOKEN, "restore", "", STORED_JID)
        # Go found the row (a JID without one crashes it, docs/neonize.md §0.2), dialled and failed; the
        # one reconnect allowed fails the same way.
        await events.wait("connect_failure", failures + 2)
        result["restore_events"] = [
            data for _, name, data in events.items[failures:] if name == "connect_failure"
        ]
        await backend.logout(TOKEN)
        result["rows_after_logout"] = await conn.fetchval(f"SELECT count(*) FROM {whatsmeow.DEVICE_TABLE}")
    finally:
        await backend.close()
    result["open_after_close"] = await conn.fetchval(_OPEN, pattern)
    result["closed_total"] = backend.context.shared.connections_closed
    await conn.close()
    return result


def main(data_dir: str, result_path: str, isolated: bool) -> None:
    if isolated:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
    server = PostgresServer()
    try:
        server.start()
        url = server.create_database("probe")
        result = asyncio.run(probe(url, data_dir))
    finally:
        server.close()
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:] == ["isolated"])
    sys.stdout.flush()
    # neonize's log thread never ends (docs/neonize.md §8).
    os._exit(0)
