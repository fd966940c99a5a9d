"""Where the sandbox keeps its simulated network: the interface, and its sqlite files in DATA_DIR.

``sessions/<token>.db`` per device holds its pairing, what it sent (messages, reactions, edits, revokes,
polls, presence, rejected calls, read receipts) and the groups the sandbox was told it is in;
``sandbox.db`` holds number registrations (docs/storage.md).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import orjson

from wa_gateway.db.sqlite import SqliteDatabase

NUMBERS_FILE: Final = "sandbox.db"

_SESSION_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS device (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    jid TEXT NOT NULL DEFAULT '',
    push_name TEXT NOT NULL DEFAULT '',
    paired_at REAL
);
INSERT OR IGNORE INTO device (id) VALUES (1);
CREATE TABLE IF NOT EXISTS sent (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    text TEXT NOT NULL,
    timestamp REAL NOT NULL,
    presence TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS read_receipts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS presence_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient TEXT,
    state TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected_calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    caller TEXT NOT NULL,
    call_id TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS joined_groups (
    position INTEGER PRIMARY KEY,
    jid TEXT NOT NULL UNIQUE,
    info TEXT NOT NULL
);
"""


def _sent_details(conn: sqlite3.Connection) -> None:
    # Files written before the sent log recorded more than text lack this column; files written after it
    # but before user_version counted steps have it already, at version 0.
    if "details" not in {row[1] for row in conn.execute("PRAGMA table_info(sent)")}:
        conn.execute("ALTER TABLE sent ADD COLUMN details TEXT NOT NULL DEFAULT '{}'")


# A keyed send is looked up by its id so a retry finds the message it already made (docs/durability.md).
_SENT_BY_ID: Final = "CREATE INDEX IF NOT EXISTS sent_by_id ON sent (id);"
SESSION_MIGRATIONS: Final = (_SESSION_SCHEMA, _sent_details, _SENT_BY_ID)
NUMBERS_MIGRATIONS: Final = (
    """
CREATE TABLE IF NOT EXISTS numbers (
    phone TEXT PRIMARY KEY,
    registered INTEGER NOT NULL
);
""",
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SessionRecord:
    token: str
    jid: str
    push_name: str

    @property
    def paired(self) -> bool:
        return bool(self.jid)


@dataclass(frozen=True, slots=True)
class SentMessage:
    id: str
    to: str
    text: str
    timestamp: float
    presence: tuple[tuple[str, float], ...]  # (state, unix time) in the order they were sent
    # kind ("text" when absent), replyTo, mentions, media fields, emoji, targetId, poll fields...
    details: Mapping[str, Any] = field(default_factory=dict)


def sent_from_row(
    msg_id: str, to: str, text: str, timestamp: float, presence: str | bytes, details: str | bytes
) -> SentMessage:
    """A sent-log row (presence and details as stored JSON) back as the message."""
    steps = tuple((str(state), float(at)) for state, at in orjson.loads(presence))
    return SentMessage(msg_id, to, text, timestamp, steps, orjson.loads(details))


class PendingSends:
    """Sends whose row is not committed yet, so a retry under the same id finds them meanwhile."""

    def __init__(self) -> None:
        self._messages: dict[tuple[str, str], SentMessage] = {}

    def track(self, token: str, message: SentMessage, commit: Awaitable[None]) -> asyncio.Future[None]:
        key = (token, message.id)
        self._messages[key] = message
        committed = asyncio.ensure_future(commit)
        committed.add_done_callback(lambda _: self._messages.pop(key, None))
        return committed

    def get(self, token: str, message_id: str) -> SentMessage | None:
        return self._messages.get((token, message_id))


class SandboxStore(Protocol):
    """The simulated network's memory; the worker holds one (sqlite files, or PostgreSQL tables)."""

    data_dir: Path

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def session_exists(self, token: str) -> bool: ...
    async def load_session(self, token: str) -> SessionRecord | None: ...
    async def create_session(self, token: str) -> SessionRecord: ...
    async def save_pairing(self, token: str, jid: str, push_name: str, paired_at: float) -> None: ...
    async def add_sent(self, token: str, message: SentMessage) -> None: ...
    def queue_sent(self, token: str, message: SentMessage) -> asyncio.Future[None]:
        """``add_sent`` started now, in call order; the future resolves once the row is committed."""
        ...

    async def find_sent(self, token: str, message_id: str) -> SentMessage | None:
        """The message this device sent under ``message_id``, committed or still queued."""
        ...

    async def add_read(self, token: str, ids: list[str]) -> None: ...
    async def add_presence(self, token: str, to: str | None, state: str, at: float) -> None: ...
    async def add_rejected_call(self, token: str, caller: str, call_id: str, at: float) -> None: ...
    async def set_groups(self, token: str, groups: list[dict[str, Any]]) -> None:
        """Replaces the device's groups; each one a GroupDetails dict."""
        ...

    async def groups(self, token: str) -> list[dict[str, Any]]: ...
    async def sent_log(self, token: str) -> dict[str, Any]: ...
    async def delete_session(self, token: str) -> bool: ...
    async def list_sessions(self) -> list[dict[str, Any]]: ...
    async def set_number(self, phone: str, registered: bool) -> None: ...
    async def registered_numbers(self, phones: list[str]) -> dict[str, bool]:
        """Registration of each phone; a number never set is registered."""
        ...


def sent_message_json(
    msg_id: str, to: str, text: str, timestamp: float, presence: list[Any], details: dict[str, Any]
) -> dict[str, Any]:
    """One entry of the sent log, as both stores report it."""
    return {
        "id": msg_id,
        "to": to,
        "text": text,
        "timestamp": timestamp,
        "presence": [state for state, _ in presence],
        "presenceAt": [at for _, at in presence],
        "kind": "text",
        **details,
    }


class SqliteSandboxStore:
    """One ``SqliteDatabase`` (and its thread) per session file, and one for the numbers."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.sessions_dir = data_dir / "sessions"
        self._sessions: dict[str, SqliteDatabase] = {}
        self._pending = PendingSends()
        self._numbers = SqliteDatabase(data_dir / NUMBERS_FILE, NUMBERS_MIGRATIONS, name="sandbox-numbers")

    async def open(self) -> None:
        await asyncio.to_thread(self.sessions_dir.mkdir, parents=True, exist_ok=True)
        await self._numbers.open()

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        await asyncio.gather(*(db.close() for db in sessions), self._numbers.close())

    def _session_path(self, token: str) -> Path:
        return self.sessions_dir / f"{token}.db"

    def _session(self, token: str) -> SqliteDatabase:
        db = self._sessions.get(token)
        if db is None:
            db = SqliteDatabase(self._session_path(token), SESSION_MIGRATIONS, name=f"sandbox-{token}")
            self._sessions[token] = db
        return db

    async def _write(self, token: str, run: Callable[[sqlite3.Connection], T]) -> T:
        return await self._session(token).write(run)

    async def session_exists(self, token: str) -> bool:
        return await asyncio.to_thread(self._session_path(token).is_file)

    async def load_session(self, token: str) -> SessionRecord | None:
        if token not in self._sessions and not await self.session_exists(token):
            return None
        return await self._read_session(token)

    async def create_session(self, token: str) -> SessionRecord:
        return await self._read_session(token)

    async def _read_session(self, token: str) -> SessionRecord:
        jid, push_name = await self._session(token).read(
            lambda conn: conn.execute("SELECT jid, push_name FROM device").fetchone()
        )
        return SessionRecord(token, jid, push_name)

    async def save_pairing(self, token: str, jid: str, push_name: str, paired_at: float) -> None:
        await self._write(
            token,
            lambda conn: conn.execute(
                "UPDATE device SET jid = ?, push_name = ?, paired_at = ?", (jid, push_name, paired_at)
            ),
        )

    def queue_sent(self, token: str, message: SentMessage) -> asyncio.Future[None]:
        # Started at once, so rows keep the order of the calls; the writer thread commits what is queued
        # while a commit runs in the next one, so concurrent sends share an fsync (docs/storage.md).
        return self._pending.track(token, message, self.add_sent(token, message))

    async def find_sent(self, token: str, message_id: str) -> SentMessage | None:
        queued = self._pending.get(token, message_id)
        if queued is not None:
            return queued
        if token not in self._sessions and not await self.session_exists(token):
            return None
        row = await self._session(token).read(
            lambda conn: conn.execute(
                "SELECT id, recipient, text, timestamp, presence, details FROM sent WHERE id = ? LIMIT 1",
                (message_id,),
            ).fetchone()
        )
        return None if row is None else sent_from_row(*row)

    async def add_sent(self, token: str, message: SentMessage) -> None:
        values = (
            message.id,
            message.to,
            message.text,
            message.timestamp,
            orjson.dumps(message.presence),
            orjson.dumps(dict(message.details)),
        )
        await self._write(
            token,
            lambda conn: conn.execute(
                "INSERT INTO sent (id, recipient, text, timestamp, presence, details)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                values,
            ),
        )

    async def add_read(self, token: str, ids: list[str]) -> None:
        await self._write(
            token,
            lambda conn: conn.executemany(
                "INSERT INTO read_receipts (message_id) VALUES (?)", [(i,) for i in ids]
            ),
        )

    async def add_presence(self, token: str, to: str | None, state: str, at: float) -> None:
        await self._write(
            token,
            lambda conn: conn.execute(
                "INSERT INTO presence_log (recipient, state, at) VALUES (?, ?, ?)", (to, state, at)
            ),
        )

    async def add_rejected_call(self, token: str, caller: str, call_id: str, at: float) -> None:
        await self._write(
            token,
            lambda conn: conn.execute(
                "INSERT INTO rejected_calls (caller, call_id, at) VALUES (?, ?, ?)", (caller, call_id, at)
            ),
        )

    async def set_groups(self, token: str, groups: list[dict[str, Any]]) -> None:
        rows = [(index, group["jid"], orjson.dumps(group)) for index, group in enumerate(groups)]

        def job(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM joined_groups")
            conn.executemany("INSERT INTO joined_groups (position, jid, info) VALUES (?, ?, ?)", rows)

        await self._write(token, job)

    async def groups(self, token: str) -> list[dict[str, Any]]:
        def job(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute("SELECT info FROM joined_groups ORDER BY position")
            return [orjson.loads(info) for (info,) in rows]

        return await self._session(token).read(job)

    async def sent_log(self, token: str) -> dict[str, Any]:
        return await self._session(token).read(_sent_log)

    async def delete_session(self, token: str) -> bool:
        existed = await self.session_exists(token)
        db = self._sessions.pop(token, None)
        if db is None:
            db = SqliteDatabase(self._session_path(token), SESSION_MIGRATIONS, name=f"sandbox-{token}")
        await db.close(remove_files=True)
        return existed

    async def list_sessions(self) -> list[dict[str, Any]]:
        paths = await asyncio.to_thread(self._session_files)
        sessions = []
        for path in paths:
            try:
                paired = (await self._read_session(path.stem)).paired
            except sqlite3.DatabaseError:
                paired = False  # not one of ours, or damaged: listed, but it cannot be restored
            sessions.append({"token": path.stem, "paired": paired})
        return sessions

    def _session_files(self) -> list[Path]:
        if not self.sessions_dir.is_dir():
            return []
        return sorted(self.sessions_dir.glob("*.db"))

    async def set_number(self, phone: str, registered: bool) -> None:
        await self._numbers.write(
            lambda conn: conn.execute(
                "INSERT INTO numbers (phone, registered) VALUES (?, ?) "
                "ON CONFLICT (phone) DO UPDATE SET registered = excluded.registered",
                (phone, int(registered)),
            )
        )

    async def registered_numbers(self, phones: list[str]) -> dict[str, bool]:
        def job(conn: sqlite3.Connection) -> dict[str, bool]:
            known = {}
            for phone in set(phones):
                row = conn.execute("SELECT registered FROM numbers WHERE phone = ?", (phone,)).fetchone()
                known[phone] = True if row is None else bool(row[0])
            return known

        return await self._numbers.read(job)


def _sent_log(conn: sqlite3.Connection) -> dict[str, Any]:
    messages = [
        sent_message_json(msg_id, to, text, timestamp, orjson.loads(presence), orjson.loads(details))
        for msg_id, to, text, timestamp, presence, details in conn.execute(
            "SELECT id, recipient, text, timestamp, presence, details FROM sent ORDER BY seq"
        )
    ]
    read = [row[0] for row in conn.execute("SELECT message_id FROM read_receipts ORDER BY seq")]
    presence_log = [
        {"to": to, "state": state, "at": at}
        for to, state, at in conn.execute("SELECT recipient, state, at FROM presence_log ORDER BY seq")
    ]
    rejected = [
        {"from": caller, "callId": call_id, "at": at}
        for caller, call_id, at in conn.execute("SELECT caller, call_id, at FROM rejected_calls ORDER BY seq")
    ]
    return {"messages": messages, "read": read, "presence": presence_log, "rejectedCalls": rejected}
