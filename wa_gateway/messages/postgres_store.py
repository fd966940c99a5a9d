"""The message store in PostgreSQL (``DATABASE_URL``): every node reads and writes the same messages, so a
device's history, and what it takes to act on its messages, follow it to whichever node owns it.

Same rules as the sqlite store (docs/messages.md): a known id keeps its first copy, receipts only move
forward, a revoke drops text, media, mentions, reactions and the engine's reference, pages sort by
``(ts_ms, seq)``. The statements that sqlite spells differently (``MAX(a, b)``, ``rowid``) are PostgreSQL's
own here; the row shape is ``sql.MESSAGE_COLUMNS`` for both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Final

import asyncpg
import orjson

from wa_gateway.db.postgres import PostgresDatabase
from wa_gateway.messages.model import (
    STATUS_RANK,
    STATUS_RECEIVED,
    STATUS_SENT,
    Chat,
    MessageStoreError,
    NewMessage,
    Page,
    PageQuery,
    Reaction,
    StoredMessage,
)
from wa_gateway.messages.sql import MESSAGE_COLUMNS

COMPONENT: Final = "messages"
PRUNE_SLICE: Final = 5000
MIGRATIONS: Final = (
    """
CREATE TABLE wa_messages (
    seq        bigserial PRIMARY KEY,
    token      text    NOT NULL,
    id         text    NOT NULL,
    chat       text    NOT NULL,
    sender     text    NOT NULL,
    from_me    boolean NOT NULL,
    is_group   boolean NOT NULL,
    type       text    NOT NULL,
    text       text    NOT NULL,
    caption    text,
    media      text,
    reply_to   text,
    mentions   text    NOT NULL,
    push_name  text    NOT NULL,
    ts_ms      bigint  NOT NULL,
    source     text    NOT NULL,
    status     text    NOT NULL,
    edited_ms  bigint,
    revoked_ms bigint,
    ref        text,
    UNIQUE (token, id)
);
CREATE INDEX wa_messages_by_time ON wa_messages (token, ts_ms, seq);
CREATE INDEX wa_messages_by_chat ON wa_messages (token, chat, ts_ms, seq);
CREATE INDEX wa_messages_age ON wa_messages (ts_ms);
CREATE TABLE wa_message_reactions (
    token      text   NOT NULL,
    message_id text   NOT NULL,
    sender     text   NOT NULL,
    emoji      text   NOT NULL,
    ts_ms      bigint NOT NULL,
    PRIMARY KEY (token, message_id, sender)
);
CREATE INDEX wa_message_reactions_age ON wa_message_reactions (ts_ms);
CREATE TABLE wa_chats (
    token      text    NOT NULL,
    jid        text    NOT NULL,
    name       text,
    is_group   boolean NOT NULL,
    last_seq   bigint  NOT NULL,
    last_ts_ms bigint  NOT NULL,
    unread     integer NOT NULL,
    PRIMARY KEY (token, jid)
);
CREATE INDEX wa_chats_by_time ON wa_chats (token, last_ts_ms);
""",
)

_INSERT: Final = """
INSERT INTO wa_messages (token, id, chat, sender, from_me, is_group, type, text, caption, media, reply_to,
                         mentions, push_name, ts_ms, source, status, ref)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
ON CONFLICT (token, id) DO NOTHING
RETURNING seq
"""
# ``$7``: 1 adds one unread, 0 keeps the count, -1 clears it (as sql.UPSERT_CHAT).
_UPSERT_CHAT: Final = """
INSERT INTO wa_chats (token, jid, name, is_group, last_seq, last_ts_ms, unread)
VALUES ($1, $2, $3, $4, $5, $6, GREATEST($7::integer, 0))
ON CONFLICT (token, jid) DO UPDATE SET
    name = COALESCE(excluded.name, wa_chats.name),
    last_seq = CASE WHEN excluded.last_ts_ms >= wa_chats.last_ts_ms
                    THEN excluded.last_seq ELSE wa_chats.last_seq END,
    last_ts_ms = GREATEST(excluded.last_ts_ms, wa_chats.last_ts_ms),
    unread = CASE WHEN $7::integer < 0 THEN 0 ELSE wa_chats.unread + $7::integer END
"""
_SET_STATUS: Final = """
UPDATE wa_messages SET status = $1
WHERE token = $2 AND id = ANY($3::text[]) AND from_me
  AND (CASE status WHEN 'played' THEN 3 WHEN 'read' THEN 2 WHEN 'delivered' THEN 1 ELSE 0 END) < $4
"""
_EDIT: Final = """
UPDATE wa_messages SET text = $1, caption = CASE WHEN caption IS NULL THEN NULL ELSE $1 END, edited_ms = $2
WHERE token = $3 AND id = $4 AND revoked_ms IS NULL
"""
_REVOKE: Final = """
UPDATE wa_messages SET text = '', caption = NULL, media = NULL, mentions = '[]', ref = NULL, revoked_ms = $1
WHERE token = $2 AND id = $3
"""
_UPSERT_REACTION: Final = """
INSERT INTO wa_message_reactions (token, message_id, sender, emoji, ts_ms) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (token, message_id, sender) DO UPDATE SET emoji = excluded.emoji, ts_ms = excluded.ts_ms
"""
_REACTIONS: Final = """
SELECT message_id, sender, emoji, ts_ms FROM wa_message_reactions
WHERE token = $1 AND message_id = ANY($2::text[]) ORDER BY ts_ms, sender
"""
_LIST_CHATS: Final = f"""
SELECT c.jid, c.name, c.is_group, c.unread, {", ".join("m." + col for col in MESSAGE_COLUMNS.split(", "))}
FROM wa_chats c JOIN wa_messages m ON m.seq = c.last_seq
WHERE c.token = $1
ORDER BY c.last_ts_ms DESC, c.jid
LIMIT $2
"""
_GET: Final = f"SELECT {MESSAGE_COLUMNS} FROM wa_messages WHERE token = $1 AND id = $2"
_PRUNE_MESSAGES: Final = (
    "DELETE FROM wa_messages WHERE seq IN (SELECT seq FROM wa_messages WHERE ts_ms < $1 LIMIT $2)"
)
_PRUNE_REACTIONS: Final = """
DELETE FROM wa_message_reactions WHERE (token, message_id, sender) IN (
    SELECT token, message_id, sender FROM wa_message_reactions WHERE ts_ms < $1 LIMIT $2)
"""
_PRUNE_CHATS: Final = (
    "DELETE FROM wa_chats WHERE NOT EXISTS (SELECT 1 FROM wa_messages m WHERE m.seq = wa_chats.last_seq)"
)


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    try:
        yield
    except (asyncpg.PostgresError, OSError) as exc:
        raise MessageStoreError(f"{type(exc).__name__}: {exc}") from exc


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _count(status: str) -> int:
    """The row count of an ``UPDATE n`` / ``DELETE n`` status string."""
    return int(status.rsplit(" ", 1)[-1])


def _message(row: Any) -> StoredMessage:
    return StoredMessage.from_row(tuple(row))


async def _with_reactions(conn: Any, token: str, messages: list[StoredMessage]) -> list[StoredMessage]:
    if not messages:
        return messages
    found: dict[str, list[Reaction]] = {}
    for mid, sender, emoji, ts_ms in await conn.fetch(_REACTIONS, token, [m.id for m in messages]):
        found.setdefault(mid, []).append(Reaction(sender, emoji, ts_ms))
    for message in messages:
        message.reactions.extend(found.get(message.id, ()))
    return messages


def _page_query(token: str, query: PageQuery) -> tuple[str, list[Any]]:
    """Newest first, strictly inside the cursors, as sql.page_query."""
    params: list[Any] = []

    def bind(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    where = [f"token = {bind(token)}"]
    if query.chat is not None:
        where.append(f"chat = {bind(query.chat)}")
    if query.before is not None:
        where.append(f"(ts_ms, seq) < ({bind(query.before.ts_ms)}, {bind(query.before.seq)})")
    if query.after is not None:
        where.append(f"(ts_ms, seq) > ({bind(query.after.ts_ms)}, {bind(query.after.seq)})")
    statement = (
        f"SELECT {MESSAGE_COLUMNS} FROM wa_messages WHERE {' AND '.join(where)} "
        f"ORDER BY ts_ms DESC, seq DESC LIMIT {bind(query.limit + 1)}"
    )
    return statement, params


class PostgresMessageStore:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def open(self) -> None:
        with _database_errors():
            await self._db.migrate(COMPONENT, MIGRATIONS)

    async def close(self) -> None:
        """The pool is the node's; it closes it."""

    async def add(self, token: str, messages: Sequence[NewMessage], *, unread: bool) -> int:
        added = 0
        with _database_errors():
            async with self._db.pool.acquire() as conn, conn.transaction():
                for m in messages:
                    seq = await conn.fetchval(
                        _INSERT,
                        token, m.id, m.chat, m.sender, m.from_me, m.is_group, m.type, m.text, m.caption,
                        orjson.dumps(m.media).decode() if m.media is not None else None, m.reply_to,
                        orjson.dumps(list(m.mentions)).decode(), m.push_name, _ms(m.timestamp), m.source,
                        STATUS_SENT if m.from_me else STATUS_RECEIVED, m.ref or None,
                    )  # fmt: skip
                    if seq is None:
                        continue
                    added += 1
                    delta = -1 if m.from_me else (1 if unread else 0)
                    # A person's push name names the chat with them; in a group it names the sender only.
                    name = m.push_name or None if not m.from_me and not m.is_group else None
                    await conn.execute(
                        _UPSERT_CHAT, token, m.chat, name, m.is_group, seq, _ms(m.timestamp), delta
                    )
        return added

    async def _execute(self, statement: str, *args: Any) -> str:
        with _database_errors():
            result: str = await self._db.pool.execute(statement, *args)
        return result

    async def receipt(self, token: str, ids: Sequence[str], status: str) -> None:
        rank = STATUS_RANK.get(status)
        if rank is not None and ids:
            await self._execute(_SET_STATUS, status, token, list(ids), rank)

    async def edit(self, token: str, message_id: str, text: str, at: float) -> None:
        await self._execute(_EDIT, text, _ms(at), token, message_id)

    async def revoke(self, token: str, message_id: str, at: float) -> None:
        with _database_errors():
            async with self._db.pool.acquire() as conn, conn.transaction():
                await conn.execute(_REVOKE, _ms(at), token, message_id)
                await conn.execute(
                    "DELETE FROM wa_message_reactions WHERE token = $1 AND message_id = $2", token, message_id
                )

    async def react(self, token: str, message_id: str, sender: str, emoji: str, at: float) -> None:
        if emoji:
            await self._execute(_UPSERT_REACTION, token, message_id, sender, emoji, _ms(at))
        else:
            await self._execute(
                "DELETE FROM wa_message_reactions WHERE token = $1 AND message_id = $2 AND sender = $3",
                token,
                message_id,
                sender,
            )

    async def mark_read(self, token: str, chat: str) -> None:
        await self._execute("UPDATE wa_chats SET unread = 0 WHERE token = $1 AND jid = $2", token, chat)

    async def chats(self, token: str, limit: int) -> list[Chat]:
        with _database_errors():
            async with self._db.pool.acquire() as conn:
                rows = await conn.fetch(_LIST_CHATS, token, limit)
                lasts = await _with_reactions(
                    conn, token, [StoredMessage.from_row(tuple(row)[4:]) for row in rows]
                )
        return [
            Chat(jid=row[0], name=row[1], is_group=bool(row[2]), unread=row[3], last=last)
            for row, last in zip(rows, lasts, strict=True)
        ]

    async def page(self, token: str, query: PageQuery) -> Page:
        statement, params = _page_query(token, query)
        with _database_errors():
            async with self._db.pool.acquire() as conn:
                rows = await conn.fetch(statement, *params)
                found = [_message(row) for row in rows[: query.limit]]
                messages = await _with_reactions(conn, token, found)
        more = len(rows) > query.limit
        return Page(messages, messages[-1].cursor if more and messages else None)

    async def get(self, token: str, message_id: str) -> StoredMessage | None:
        with _database_errors():
            async with self._db.pool.acquire() as conn:
                row = await conn.fetchrow(_GET, token, message_id)
                if row is None:
                    return None
                return (await _with_reactions(conn, token, [_message(row)]))[0]

    async def prune(self, older_than: float) -> int:
        cutoff = _ms(older_than)
        # In slices, each its own statement, so a large prune never holds many row locks for long.
        removed = 0
        while True:
            gone = _count(await self._execute(_PRUNE_MESSAGES, cutoff, PRUNE_SLICE))
            removed += gone
            if gone < PRUNE_SLICE:
                break
        while _count(await self._execute(_PRUNE_REACTIONS, cutoff, PRUNE_SLICE)) >= PRUNE_SLICE:
            pass
        await self._execute(_PRUNE_CHATS)
        return removed

    async def delete_device(self, token: str) -> None:
        with _database_errors():
            async with self._db.pool.acquire() as conn, conn.transaction():
                for table in ("wa_messages", "wa_message_reactions", "wa_chats"):
                    await conn.execute(f"DELETE FROM {table} WHERE token = $1", token)
