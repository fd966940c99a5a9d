"""The sandbox's sqlite files: ``sessions/<token>.db`` per device, ``sandbox.db`` for number registrations.

A device's file holds its pairing, what it sent (messages, reactions, edits, revokes, polls, presence,
rejected calls, read receipts) and the groups the sandbox was told it is in.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar

import orjson

SESSION_SUFFIXES: Final = ("", "-wal", "-shm", "-journal")
BUSY_TIMEOUT_MS: Final = 5000

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
CREATE INDEX IF NOT EXISTS sent_by_id ON sent (id);
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
# Files written before the sent log recorded more than text lack this column.
_SENT_DETAILS_COLUMN: Final = "ALTER TABLE sent ADD COLUMN details TEXT NOT NULL DEFAULT '{}'"

_NUMBERS_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS numbers (
    phone TEXT PRIMARY KEY,
    registered INTEGER NOT NULL
);
"""

P = ParamSpec("P")
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


class SandboxStore:
    """Async facade; every sqlite call runs on one dedicated thread, which also owns the connections."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.sessions_dir = data_dir / "sessions"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-store")
        self._connections: dict[Path, sqlite3.Connection] = {}
        self._queued_sent: list[tuple[str, SentMessage, asyncio.Future[None]]] = []
        self._sent_flush: asyncio.Task[None] | None = None

    async def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    # --- async API ------------------------------------------------------------------------------

    async def open(self) -> None:
        await self._call(self._open)

    async def close(self) -> None:
        if self._sent_flush is not None:
            await asyncio.shield(self._sent_flush)
        await self._call(self._close_all)
        # Joining the thread blocks, so it happens on a helper thread rather than the loop.
        await asyncio.to_thread(self._executor.shutdown, True)

    async def session_exists(self, token: str) -> bool:
        return await self._call(self._session_path(token).is_file)

    async def load_session(self, token: str) -> SessionRecord | None:
        return await self._call(self._load_session, token)

    async def create_session(self, token: str) -> SessionRecord:
        return await self._call(self._create_session, token)

    async def save_pairing(self, token: str, jid: str, push_name: str, paired_at: float) -> None:
        await self._call(self._save_pairing, token, jid, push_name, paired_at)

    async def add_sent(self, token: str, message: SentMessage) -> None:
        await self.queue_sent(token, message)

    async def find_sent(self, token: str, message_id: str) -> SentMessage | None:
        """The message this device sent under ``message_id``, committed or still queued."""
        for queued_token, message, _ in self._queued_sent:
            if queued_token == token and message.id == message_id:
                return message
        return await self._call(self._find_sent, token, message_id)

    def queue_sent(self, token: str, message: SentMessage) -> asyncio.Future[None]:
        """Appends to the sent log in call order; the future resolves once the row is committed.

        Whatever is queued while a commit runs shares the next one (group commit), so concurrent sends
        on one device cost one fsync between them instead of one each.
        """
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued_sent.append((token, message, committed))
        if self._sent_flush is None:
            self._sent_flush = asyncio.create_task(self._flush_sent(), name="sandbox-sent-log")
        return committed

    async def _flush_sent(self) -> None:
        try:
            while self._queued_sent:
                batch, self._queued_sent = self._queued_sent, []
                try:
                    await self._call(self._add_sent_batch, [(token, message) for token, message, _ in batch])
                except Exception as exc:
                    for _, _, committed in batch:
                        if not committed.done():
                            committed.set_exception(exc)
                    continue
                for _, _, committed in batch:
                    if not committed.done():
                        committed.set_result(None)
        finally:
            self._sent_flush = None

    async def add_read(self, token: str, ids: list[str]) -> None:
        await self._call(self._add_read, token, ids)

    async def add_presence(self, token: str, to: str | None, state: str, at: float) -> None:
        await self._call(self._add_presence, token, to, state, at)

    async def add_rejected_call(self, token: str, caller: str, call_id: str, at: float) -> None:
        await self._call(self._add_rejected_call, token, caller, call_id, at)

    async def set_groups(self, token: str, groups: list[dict[str, Any]]) -> None:
        """Replaces the device's groups; each one a GroupDetails dict."""
        await self._call(self._set_groups, token, groups)

    async def groups(self, token: str) -> list[dict[str, Any]]:
        return await self._call(self._groups, token)

    async def sent_log(self, token: str) -> dict[str, Any]:
        return await self._call(self._sent_log, token)

    async def delete_session(self, token: str) -> bool:
        return await self._call(self._delete_session, token)

    async def list_sessions(self) -> list[dict[str, Any]]:
        return await self._call(self._list_sessions)

    async def set_number(self, phone: str, registered: bool) -> None:
        await self._call(self._set_number, phone, registered)

    async def registered_numbers(self, phones: list[str]) -> dict[str, bool]:
        """Registration of each phone; a number never set is registered."""
        return await self._call(self._registered_numbers, phones)

    # --- on the store thread --------------------------------------------------------------------

    def _session_path(self, token: str) -> Path:
        return self.sessions_dir / f"{token}.db"

    def _connect(self, path: Path, schema: str) -> sqlite3.Connection:
        conn = self._connections.get(path)
        if conn is None:
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # The sandbox stands in for WhatsApp's servers: in WAL mode NORMAL keeps every commit across
            # a crash of the worker (what tests and users do to it) and skips the fsync per commit,
            # which only a power loss would need (sqlite docs, "PRAGMA synchronous").
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.executescript(schema)
            if schema is _SESSION_SCHEMA:
                columns = {row[1] for row in conn.execute("PRAGMA table_info(sent)")}
                if "details" not in columns:
                    conn.execute(_SENT_DETAILS_COLUMN)
            self._connections[path] = conn
        return conn

    def _session(self, token: str) -> sqlite3.Connection:
        return self._connect(self._session_path(token), _SESSION_SCHEMA)

    def _numbers(self) -> sqlite3.Connection:
        return self._connect(self.data_dir / "sandbox.db", _NUMBERS_SCHEMA)

    def _open(self) -> None:
        self.sessions_dir.mkdir(parents=True, exist_ok=True)
        self._numbers()

    def _close_all(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def _load_session(self, token: str) -> SessionRecord | None:
        if not self._session_path(token).is_file():
            return None
        return self._read_session(token)

    def _create_session(self, token: str) -> SessionRecord:
        return self._read_session(token)

    def _read_session(self, token: str) -> SessionRecord:
        jid, push_name = self._session(token).execute("SELECT jid, push_name FROM device").fetchone()
        return SessionRecord(token, jid, push_name)

    def _save_pairing(self, token: str, jid: str, push_name: str, paired_at: float) -> None:
        self._session(token).execute(
            "UPDATE device SET jid = ?, push_name = ?, paired_at = ?", (jid, push_name, paired_at)
        )

    def _find_sent(self, token: str, message_id: str) -> SentMessage | None:
        row = (
            self._session(token)
            .execute(
                "SELECT id, recipient, text, timestamp, presence, details FROM sent WHERE id = ? LIMIT 1",
                (message_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        presence = tuple((str(state), float(at)) for state, at in orjson.loads(row[4]))
        return SentMessage(row[0], row[1], row[2], row[3], presence, orjson.loads(row[5]))

    def _add_sent_batch(self, batch: list[tuple[str, SentMessage]]) -> None:
        rows: dict[str, list[tuple[Any, ...]]] = {}
        for token, message in batch:
            rows.setdefault(token, []).append(
                (
                    message.id,
                    message.to,
                    message.text,
                    message.timestamp,
                    orjson.dumps(message.presence),
                    orjson.dumps(dict(message.details)),
                )
            )
        for token, device_rows in rows.items():
            conn = self._session(token)
            with conn:
                conn.execute("BEGIN")
                conn.executemany(
                    "INSERT INTO sent (id, recipient, text, timestamp, presence, details)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    device_rows,
                )

    def _add_presence(self, token: str, to: str | None, state: str, at: float) -> None:
        self._session(token).execute(
            "INSERT INTO presence_log (recipient, state, at) VALUES (?, ?, ?)", (to, state, at)
        )

    def _add_rejected_call(self, token: str, caller: str, call_id: str, at: float) -> None:
        self._session(token).execute(
            "INSERT INTO rejected_calls (caller, call_id, at) VALUES (?, ?, ?)", (caller, call_id, at)
        )

    def _set_groups(self, token: str, groups: list[dict[str, Any]]) -> None:
        conn = self._session(token)
        with conn:
            conn.execute("BEGIN")
            conn.execute("DELETE FROM joined_groups")
            conn.executemany(
                "INSERT INTO joined_groups (position, jid, info) VALUES (?, ?, ?)",
                [(index, group["jid"], orjson.dumps(group)) for index, group in enumerate(groups)],
            )

    def _groups(self, token: str) -> list[dict[str, Any]]:
        rows = self._session(token).execute("SELECT info FROM joined_groups ORDER BY position")
        return [orjson.loads(info) for (info,) in rows]

    def _add_read(self, token: str, ids: list[str]) -> None:
        conn = self._session(token)
        with conn:
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO read_receipts (message_id) VALUES (?)", [(i,) for i in ids])

    def _sent_log(self, token: str) -> dict[str, Any]:
        conn = self._session(token)
        messages = []
        for msg_id, to, text, timestamp, presence, details in conn.execute(
            "SELECT id, recipient, text, timestamp, presence, details FROM sent ORDER BY seq"
        ):
            steps = orjson.loads(presence)
            messages.append(
                {
                    "id": msg_id,
                    "to": to,
                    "text": text,
                    "timestamp": timestamp,
                    "presence": [state for state, _ in steps],
                    "presenceAt": [at for _, at in steps],
                    "kind": "text",
                    **orjson.loads(details),
                }
            )
        read = [row[0] for row in conn.execute("SELECT message_id FROM read_receipts ORDER BY seq")]
        presence_log = [
            {"to": to, "state": state, "at": at}
            for to, state, at in conn.execute("SELECT recipient, state, at FROM presence_log ORDER BY seq")
        ]
        rejected = [
            {"from": caller, "callId": call_id, "at": at}
            for caller, call_id, at in conn.execute(
                "SELECT caller, call_id, at FROM rejected_calls ORDER BY seq"
            )
        ]
        return {"messages": messages, "read": read, "presence": presence_log, "rejectedCalls": rejected}

    def _delete_session(self, token: str) -> bool:
        path = self._session_path(token)
        conn = self._connections.pop(path, None)
        if conn is not None:
            conn.close()
        existed = path.is_file()
        for suffix in SESSION_SUFFIXES:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return existed

    def _list_sessions(self) -> list[dict[str, Any]]:
        if not self.sessions_dir.is_dir():
            return []
        sessions = []
        for path in sorted(self.sessions_dir.glob("*.db")):
            try:
                paired = self._read_session(path.stem).paired
            except sqlite3.DatabaseError:
                paired = False  # not one of ours, or damaged: listed, but it cannot be restored
            sessions.append({"token": path.stem, "paired": paired})
        return sessions

    def _set_number(self, phone: str, registered: bool) -> None:
        self._numbers().execute(
            "INSERT INTO numbers (phone, registered) VALUES (?, ?) "
            "ON CONFLICT (phone) DO UPDATE SET registered = excluded.registered",
            (phone, int(registered)),
        )

    def _registered_numbers(self, phones: list[str]) -> dict[str, bool]:
        conn = self._numbers()
        known = {}
        for phone in set(phones):
            row = conn.execute("SELECT registered FROM numbers WHERE phone = ?", (phone,)).fetchone()
            known[phone] = True if row is None else bool(row[0])
        return known
