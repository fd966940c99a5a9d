"""Every SQL statement of the message store, in one place, in SQL that sqlite and PostgreSQL both read
(docs/architecture.md "Growth path"); only the ``?`` placeholders would change.

Messages sort by ``(ts_ms, seq)``: WhatsApp's timestamp, then arrival order, so two messages of the same
millisecond keep a stable order and a cursor names exactly one position (docs/messages.md "Cursors").
"""

from __future__ import annotations

from typing import Final

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS messages (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    token      TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    chat       TEXT    NOT NULL,
    sender     TEXT    NOT NULL,
    from_me    INTEGER NOT NULL,
    is_group   INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    caption    TEXT,
    media      TEXT,
    reply_to   TEXT,
    mentions   TEXT    NOT NULL,
    push_name  TEXT    NOT NULL,
    ts_ms      INTEGER NOT NULL,
    source     TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    edited_ms  INTEGER,
    revoked_ms INTEGER,
    UNIQUE (token, id)
);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (token, ts_ms, seq);
CREATE INDEX IF NOT EXISTS messages_by_chat ON messages (token, chat, ts_ms, seq);
CREATE INDEX IF NOT EXISTS messages_age ON messages (ts_ms);
CREATE TABLE IF NOT EXISTS reactions (
    token      TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    sender     TEXT    NOT NULL,
    emoji      TEXT    NOT NULL,
    ts_ms      INTEGER NOT NULL,
    PRIMARY KEY (token, message_id, sender)
);
CREATE INDEX IF NOT EXISTS reactions_age ON reactions (ts_ms);
CREATE TABLE IF NOT EXISTS chats (
    token      TEXT    NOT NULL,
    jid        TEXT    NOT NULL,
    name       TEXT,
    is_group   INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    last_ts_ms INTEGER NOT NULL,
    unread     INTEGER NOT NULL,
    PRIMARY KEY (token, jid)
);
CREATE INDEX IF NOT EXISTS chats_by_time ON chats (token, last_ts_ms);
"""
# Step 2: the engine's reference of each message, to quote, edit, revoke or download it after a restart
# (docs/messages.md "Acting on stored messages"). Rows of earlier builds keep theirs NULL.
ADD_REF: Final = "ALTER TABLE messages ADD COLUMN ref TEXT;"
MIGRATIONS: Final = (SCHEMA, ADD_REF)

MESSAGE_COLUMNS: Final = (
    "seq, id, chat, sender, from_me, is_group, type, text, caption, media, reply_to, mentions, push_name, "
    "ts_ms, source, status, edited_ms, revoked_ms, ref"
)

# A message seen twice (a replayed event, a history sync repeating a live one) keeps its first copy.
INSERT_MESSAGE: Final = """
INSERT INTO messages (token, id, chat, sender, from_me, is_group, type, text, caption, media, reply_to,
                      mentions, push_name, ts_ms, source, status, ref)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (token, id) DO NOTHING
"""

# ``unread``: 1 adds one, 0 keeps the count, -1 clears it (the device's own message was read up to here).
UPSERT_CHAT: Final = """
INSERT INTO chats (token, jid, name, is_group, last_seq, last_ts_ms, unread)
VALUES (?, ?, ?, ?, ?, ?, MAX(?, 0))
ON CONFLICT (token, jid) DO UPDATE SET
    name = COALESCE(excluded.name, chats.name),
    last_seq = CASE WHEN excluded.last_ts_ms >= chats.last_ts_ms
                    THEN excluded.last_seq ELSE chats.last_seq END,
    last_ts_ms = MAX(excluded.last_ts_ms, chats.last_ts_ms),
    unread = CASE WHEN ? < 0 THEN 0 ELSE chats.unread + ? END
"""

CLEAR_UNREAD: Final = "UPDATE chats SET unread = 0 WHERE token = ? AND jid = ?"

# Receipts only ever move a message forward: a late "delivered" never hides a "read".
SET_STATUS: Final = """
UPDATE messages SET status = ?
WHERE token = ? AND id = ? AND from_me = 1
  AND (CASE status WHEN 'played' THEN 3 WHEN 'read' THEN 2 WHEN 'delivered' THEN 1 ELSE 0 END) < ?
"""

# An edited media message changes its caption, which is also its text (docs/messages.md).
EDIT: Final = """
UPDATE messages SET text = ?, caption = CASE WHEN caption IS NULL THEN NULL ELSE ? END, edited_ms = ?
WHERE token = ? AND id = ? AND revoked_ms IS NULL
"""

# A message revoked for everyone keeps its place in the chat but not what it said, nor the engine's
# reference to it (which holds its content and media keys).
REVOKE: Final = """
UPDATE messages SET text = '', caption = NULL, media = NULL, mentions = '[]', ref = NULL, revoked_ms = ?
WHERE token = ? AND id = ?
"""
DELETE_REACTIONS_OF: Final = "DELETE FROM reactions WHERE token = ? AND message_id = ?"

UPSERT_REACTION: Final = """
INSERT INTO reactions (token, message_id, sender, emoji, ts_ms) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (token, message_id, sender) DO UPDATE SET emoji = excluded.emoji, ts_ms = excluded.ts_ms
"""
DELETE_REACTION: Final = "DELETE FROM reactions WHERE token = ? AND message_id = ? AND sender = ?"

GET_MESSAGE: Final = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE token = ? AND id = ?"


def page_query(*, chat: bool, before: bool, after: bool) -> str:
    """Newest first; each bound is a ``(ts_ms, seq)`` position the page stays strictly inside. Row values
    (SQL:1999, sqlite 3.15+, PostgreSQL) let the index range start at the cursor instead of scanning to it."""
    where = ["token = ?"]
    if chat:
        where.append("chat = ?")
    if before:
        where.append("(ts_ms, seq) < (?, ?)")
    if after:
        where.append("(ts_ms, seq) > (?, ?)")
    return (
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE {' AND '.join(where)} "
        "ORDER BY ts_ms DESC, seq DESC LIMIT ?"
    )


def reactions_query(count: int) -> str:
    marks = ", ".join("?" * count)
    return (
        "SELECT message_id, sender, emoji, ts_ms FROM reactions "
        f"WHERE token = ? AND message_id IN ({marks}) ORDER BY ts_ms, sender"
    )


LIST_CHATS: Final = f"""
SELECT c.jid, c.name, c.is_group, c.unread, {", ".join("m." + col for col in MESSAGE_COLUMNS.split(", "))}
FROM chats c JOIN messages m ON m.seq = c.last_seq
WHERE c.token = ?
ORDER BY c.last_ts_ms DESC, c.jid
LIMIT ?
"""

# Pruning goes in slices so a large backlog never holds the write lock for long.
PRUNE_MESSAGES: Final = "DELETE FROM messages WHERE seq IN (SELECT seq FROM messages WHERE ts_ms < ? LIMIT ?)"
PRUNE_REACTIONS: Final = (
    "DELETE FROM reactions WHERE rowid IN (SELECT rowid FROM reactions WHERE ts_ms < ? LIMIT ?)"
)
# A chat's last message is its newest, so once that one is pruned, so is the whole chat.
PRUNE_CHATS: Final = (
    "DELETE FROM chats WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.seq = chats.last_seq)"
)

DELETE_DEVICE: Final = (
    "DELETE FROM messages WHERE token = ?",
    "DELETE FROM reactions WHERE token = ?",
    "DELETE FROM chats WHERE token = ?",
)
