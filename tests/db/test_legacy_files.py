"""Files written by the schemas before SqliteDatabase open in place and keep their rows."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from wa_gateway.backends.sandbox.store import SESSION_MIGRATIONS, SentMessage, SqliteSandboxStore
from wa_gateway.webhooks import WebhookOutbox

TOKEN = "60123456789"

# The outbox schema as the previous build wrote it (it set user_version 1 itself).
OLD_OUTBOX = """
CREATE TABLE webhook_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, event TEXT NOT NULL, token TEXT NOT NULL,
    body BLOB NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, window_start REAL NOT NULL,
    next_attempt_at REAL NOT NULL, updated_at REAL NOT NULL, last_error TEXT, last_status INTEGER
);
CREATE INDEX webhook_outbox_queue ON webhook_outbox (status, token, seq);
CREATE INDEX webhook_outbox_status ON webhook_outbox (status, seq);
INSERT INTO webhook_outbox (id, event, token, body, status, attempts, created_at, window_start,
    next_attempt_at, updated_at) VALUES ('evt_old', 'message.received', '60123456789', x'7b7d', 'pending',
    0, 1.0, 1.0, 1.0, 1.0);
PRAGMA user_version = 1;
"""

# A sandbox session file from before the sent log had its details column (user_version 0).
OLD_SESSION = """
CREATE TABLE device (id INTEGER PRIMARY KEY CHECK (id = 1), jid TEXT NOT NULL DEFAULT '',
    push_name TEXT NOT NULL DEFAULT '', paired_at REAL);
INSERT INTO device (id, jid, push_name) VALUES (1, '60123456789@s.whatsapp.net', 'Old');
CREATE TABLE sent (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, recipient TEXT NOT NULL,
    text TEXT NOT NULL, timestamp REAL NOT NULL, presence TEXT NOT NULL);
INSERT INTO sent (id, recipient, text, timestamp, presence) VALUES ('m1', '6011', 'hi', 2.0, '[]');
CREATE TABLE read_receipts (seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL);
CREATE TABLE presence_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT, state TEXT NOT NULL,
    at REAL NOT NULL);
CREATE TABLE rejected_calls (seq INTEGER PRIMARY KEY AUTOINCREMENT, caller TEXT NOT NULL,
    call_id TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE joined_groups (position INTEGER PRIMARY KEY, jid TEXT NOT NULL UNIQUE, info TEXT NOT NULL);
"""


def _write(path: Path, script: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.executescript(script)


def _sql(path: Path, query: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(query).fetchall()


async def test_an_old_outbox_file_keeps_its_pending_rows(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.db"
    await asyncio.to_thread(_write, path, OLD_OUTBOX)
    async with WebhookOutbox(path) as box:
        assert [m.id for m in await box.due(10)] == ["evt_old"]
        new = await box.enqueue("message.received", TOKEN, {"n": 1})
        await box.mark_delivered("evt_old", 200)
        assert [m.id for m in await box.due(10)] == [new]
    assert await asyncio.to_thread(_sql, path, "PRAGMA user_version") == [(1,)]


async def test_an_old_sandbox_session_gains_its_details_column(tmp_path: Path) -> None:
    path = tmp_path / "sessions" / f"{TOKEN}.db"
    await asyncio.to_thread(_write, path, OLD_SESSION)
    store = SqliteSandboxStore(tmp_path)
    await store.open()
    try:
        record = await store.load_session(TOKEN)
        assert record is not None
        assert (record.jid, record.push_name, record.paired) == ("60123456789@s.whatsapp.net", "Old", True)
        await store.add_sent(TOKEN, SentMessage("m2", "6022", "yo", 3.0, (), {"kind": "reaction"}))
        log = await store.sent_log(TOKEN)
        assert [(m["id"], m["kind"]) for m in log["messages"]] == [("m1", "text"), ("m2", "reaction")]
        assert await store.list_sessions() == [{"token": TOKEN, "paired": True}]
    finally:
        await store.close()
    assert await asyncio.to_thread(_sql, path, "PRAGMA user_version") == [(len(SESSION_MIGRATIONS),)]


async def test_a_session_file_written_with_details_at_version_0_opens(tmp_path: Path) -> None:
    path = tmp_path / "sessions" / f"{TOKEN}.db"
    script = OLD_SESSION.replace(
        "presence TEXT NOT NULL);", "presence TEXT NOT NULL, details TEXT NOT NULL DEFAULT '{}');"
    )
    await asyncio.to_thread(_write, path, script)
    store = SqliteSandboxStore(tmp_path)
    await store.open()
    try:
        log = await store.sent_log(TOKEN)
        assert [m["id"] for m in log["messages"]] == ["m1"]
    finally:
        await store.close()
