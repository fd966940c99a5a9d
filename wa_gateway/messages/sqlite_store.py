"""The message store in ``DATA_DIR/messages.db``, on its own thread (docs/messages.md)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import orjson

from wa_gateway.db.sqlite import SqliteDatabase
from wa_gateway.messages import sql
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

T = TypeVar("T")
MESSAGES_FILE: Final = "messages.db"
PRUNE_SLICE: Final = 5000
# sqlite's default limit on host parameters is 999 in older builds; a page is far smaller anyway.
_MAX_IN_PARAMS: Final = 900


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _row_message(row: Sequence[Any]) -> StoredMessage:
    (seq, mid, chat, sender, from_me, is_group, kind, text, caption, media, reply_to, mentions, push_name,
     ts_ms, source, status, edited_ms, revoked_ms, ref) = row  # fmt: skip
    return StoredMessage(
        seq=seq,
        id=mid,
        chat=chat,
        sender=sender,
        from_me=bool(from_me),
        is_group=bool(is_group),
        type=kind,
        text=text,
        caption=caption,
        media=orjson.loads(media) if media else None,
        reply_to=reply_to,
        mentions=orjson.loads(mentions),
        push_name=push_name,
        ts_ms=ts_ms,
        source=source,
        status=status,
        edited_ms=edited_ms,
        revoked_ms=revoked_ms,
        ref=ref,
    )


def _with_reactions(db: sqlite3.Connection, token: str, messages: list[StoredMessage]) -> list[StoredMessage]:
    if not messages:
        return messages
    found: dict[str, list[Reaction]] = {}
    ids = [m.id for m in messages]
    for start in range(0, len(ids), _MAX_IN_PARAMS):
        chunk = ids[start : start + _MAX_IN_PARAMS]
        for mid, sender, emoji, ts_ms in db.execute(sql.reactions_query(len(chunk)), (token, *chunk)):
            found.setdefault(mid, []).append(Reaction(sender, emoji, ts_ms))
    for message in messages:
        message.reactions.extend(found.get(message.id, ()))
    return messages


class SqliteMessageStore:
    def __init__(self, path: Path) -> None:
        # WAL with synchronous=NORMAL: a commit survives the process being killed, not a power cut, and
        # costs no fsync. The store is a record to read back, not the delivery guarantee: received events
        # are journaled and their webhooks are in the outbox (docs/messages.md "Durability").
        self._db = SqliteDatabase(path, sql.MIGRATIONS, name="messages-db", synchronous="NORMAL")

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def _run(self, job: Callable[[sqlite3.Connection], T], *, write: bool = True) -> T:
        try:
            # Reads skip the write transaction (and its commit): pages are served while messages arrive.
            return await (self._db.write(job) if write else self._db.read(job))
        except (sqlite3.Error, AssertionError) as exc:
            raise MessageStoreError(str(exc) or type(exc).__name__) from exc

    async def add(self, token: str, messages: Sequence[NewMessage], *, unread: bool) -> int:
        def job(db: sqlite3.Connection) -> int:
            added = 0
            for m in messages:
                status = STATUS_SENT if m.from_me else STATUS_RECEIVED
                cur = db.execute(
                    sql.INSERT_MESSAGE,
                    (token, m.id, m.chat, m.sender, int(m.from_me), int(m.is_group), m.type, m.text,
                     m.caption, orjson.dumps(m.media).decode() if m.media is not None else None,
                     m.reply_to, orjson.dumps(list(m.mentions)).decode(), m.push_name,
                     _ms(m.timestamp), m.source, status, m.ref or None),
                )  # fmt: skip
                if cur.rowcount == 0 or cur.lastrowid is None:
                    continue
                added += 1
                delta = -1 if m.from_me else (1 if unread else 0)
                # A person's push name names the chat with them; in a group it names the sender only.
                name = m.push_name or None if not m.from_me and not m.is_group else None
                db.execute(
                    sql.UPSERT_CHAT,
                    (token, m.chat, name, int(m.is_group), cur.lastrowid, _ms(m.timestamp),
                     delta, delta, delta),
                )  # fmt: skip
            return added

        return await self._run(job)

    async def receipt(self, token: str, ids: Sequence[str], status: str) -> None:
        rank = STATUS_RANK.get(status)
        if rank is None:
            return

        def job(db: sqlite3.Connection) -> None:
            db.executemany(sql.SET_STATUS, [(status, token, mid, rank) for mid in ids])

        await self._run(job)

    async def edit(self, token: str, message_id: str, text: str, at: float) -> None:
        await self._run(lambda db: db.execute(sql.EDIT, (text, text, _ms(at), token, message_id)))

    async def revoke(self, token: str, message_id: str, at: float) -> None:
        def job(db: sqlite3.Connection) -> None:
            db.execute(sql.REVOKE, (_ms(at), token, message_id))
            db.execute(sql.DELETE_REACTIONS_OF, (token, message_id))

        await self._run(job)

    async def react(self, token: str, message_id: str, sender: str, emoji: str, at: float) -> None:
        if emoji:
            args: tuple[Any, ...] = (token, message_id, sender, emoji, _ms(at))
            await self._run(lambda db: db.execute(sql.UPSERT_REACTION, args))
        else:
            await self._run(lambda db: db.execute(sql.DELETE_REACTION, (token, message_id, sender)))

    async def mark_read(self, token: str, chat: str) -> None:
        await self._run(lambda db: db.execute(sql.CLEAR_UNREAD, (token, chat)))

    async def chats(self, token: str, limit: int) -> list[Chat]:
        def job(db: sqlite3.Connection) -> list[Chat]:
            rows = db.execute(sql.LIST_CHATS, (token, limit)).fetchall()
            lasts = _with_reactions(db, token, [_row_message(row[4:]) for row in rows])
            return [
                Chat(jid=row[0], name=row[1], is_group=bool(row[2]), unread=row[3], last=last)
                for row, last in zip(rows, lasts, strict=True)
            ]

        return await self._run(job, write=False)

    async def page(self, token: str, query: PageQuery) -> Page:
        params: list[Any] = [token]
        if query.chat is not None:
            params.append(query.chat)
        if query.before is not None:
            params += [query.before.ts_ms, query.before.seq]
        if query.after is not None:
            params += [query.after.ts_ms, query.after.seq]
        # One more than asked tells whether another page follows.
        params.append(query.limit + 1)
        statement = sql.page_query(
            chat=query.chat is not None, before=query.before is not None, after=query.after is not None
        )

        def job(db: sqlite3.Connection) -> Page:
            rows = db.execute(statement, params).fetchall()
            messages = _with_reactions(db, token, [_row_message(row) for row in rows[: query.limit]])
            more = len(rows) > query.limit
            return Page(messages, messages[-1].cursor if more and messages else None)

        return await self._run(job, write=False)

    async def get(self, token: str, message_id: str) -> StoredMessage | None:
        def job(db: sqlite3.Connection) -> StoredMessage | None:
            row = db.execute(sql.GET_MESSAGE, (token, message_id)).fetchone()
            return _with_reactions(db, token, [_row_message(row)])[0] if row is not None else None

        return await self._run(job, write=False)

    async def prune(self, older_than: float) -> int:
        cutoff = _ms(older_than)
        # In slices, one transaction each, so a large prune never holds the write lock for long.
        removed = 0
        while True:
            gone = await self._run(lambda db: db.execute(sql.PRUNE_MESSAGES, (cutoff, PRUNE_SLICE)).rowcount)
            removed += gone
            if gone < PRUNE_SLICE:
                break
        while (
            await self._run(lambda db: db.execute(sql.PRUNE_REACTIONS, (cutoff, PRUNE_SLICE)).rowcount)
            >= PRUNE_SLICE
        ):
            pass
        await self._run(lambda db: db.execute(sql.PRUNE_CHATS))
        return removed

    async def delete_device(self, token: str) -> None:
        def job(db: sqlite3.Connection) -> None:
            for statement in sql.DELETE_DEVICE:
                db.execute(statement, (token,))

        await self._run(job)
