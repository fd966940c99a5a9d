"""SqliteDatabase against real files: migrations by user_version, shared commits, its own thread."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path

import pytest

from wa_gateway.db.sqlite import DatabaseClosed, SchemaTooNew, SqliteDatabase

STEPS = (
    "CREATE TABLE t (n INTEGER NOT NULL);\nCREATE INDEX t_n ON t (n);",
    "ALTER TABLE t ADD COLUMN label TEXT NOT NULL DEFAULT '';",
)


def _sql(path: Path, query: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(query).fetchall()


async def test_migrations_run_once_each_and_set_user_version(tmp_path: Path) -> None:
    path = tmp_path / "db" / "x.db"
    first = SqliteDatabase(path, STEPS[:1], name="test-db")
    await first.write(lambda conn: conn.execute("INSERT INTO t (n) VALUES (1)"))
    await first.close()
    assert await asyncio.to_thread(_sql, path, "PRAGMA user_version") == [(1,)]
    # A later build adds step 2; step 1 is not run again (it would fail: the table exists).
    second = SqliteDatabase(path, STEPS, name="test-db")
    assert await second.read(lambda conn: conn.execute("SELECT n, label FROM t").fetchall()) == [(1, "")]
    await second.close()
    assert await asyncio.to_thread(_sql, path, "PRAGMA user_version") == [(2,)]
    assert await asyncio.to_thread(_sql, path, "PRAGMA journal_mode") == [("wal",)]


async def test_a_failing_step_leaves_the_file_at_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    broken = (STEPS[0], "ALTER TABLE t ADD COLUMN a TEXT; ALTER TABLE nowhere ADD COLUMN b TEXT;")
    db = SqliteDatabase(path, broken, name="test-db")
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        await db.open()
    assert await asyncio.to_thread(_sql, path, "PRAGMA user_version") == [(1,)]
    columns = await asyncio.to_thread(_sql, path, "PRAGMA table_info(t)")
    assert [c[1] for c in columns] == ["n"]
    with pytest.raises(DatabaseClosed):
        await db.read(lambda conn: None)


async def test_a_file_from_a_newer_build_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    await asyncio.to_thread(_sql, path, "PRAGMA user_version = 7")
    db = SqliteDatabase(path, STEPS, name="test-db")
    with pytest.raises(SchemaTooNew, match="schema version 7"):
        await db.open()
    assert not [t for t in threading.enumerate() if t.name == "test-db"]


async def test_writes_queued_behind_a_busy_one_share_one_commit(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "x.db", STEPS, name="test-db")
    statements: list[str] = []
    started, release = threading.Event(), threading.Event()

    def first(conn: sqlite3.Connection) -> None:
        conn.set_trace_callback(statements.append)
        started.set()
        release.wait(10)

    blocker = asyncio.ensure_future(db.write(first))
    assert await asyncio.to_thread(started.wait, 10)
    writes = [
        asyncio.ensure_future(db.write(lambda conn, n=n: conn.execute("INSERT INTO t (n) VALUES (?)", (n,))))
        for n in range(20)
    ]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(blocker, *writes)
    await db.close()
    # The 20 writes queued while the first ran went in one transaction, not twenty.
    assert statements.count("COMMIT") == 2
    assert await asyncio.to_thread(_sql, tmp_path / "x.db", "SELECT count(*) FROM t") == [(20,)]


async def test_one_failing_write_in_a_shared_commit_fails_alone(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "x.db", STEPS, name="test-db")
    started, release = threading.Event(), threading.Event()
    blocker = asyncio.ensure_future(db.write(lambda conn: (started.set(), release.wait(10))))
    assert await asyncio.to_thread(started.wait, 10)
    good = [
        asyncio.ensure_future(db.write(lambda conn, n=n: conn.execute("INSERT INTO t (n) VALUES (?)", (n,))))
        for n in range(3)
    ]
    bad = asyncio.ensure_future(db.write(lambda conn: conn.execute("INSERT INTO t (n) VALUES (NULL)")))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(blocker, *good)
    with pytest.raises(sqlite3.IntegrityError):
        await bad
    assert await db.read(lambda conn: conn.execute("SELECT n FROM t ORDER BY n").fetchall()) == [
        (0,),
        (1,),
        (2,),
    ]
    await db.close()


async def test_jobs_run_on_the_database_thread_not_the_loop(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "x.db", STEPS, name="test-db")
    assert not [t for t in threading.enumerate() if t.name == "test-db"]  # no thread before the first job
    name = await db.read(lambda conn: threading.current_thread().name)
    assert name == "test-db"
    await db.close(remove_files=True)
    assert await asyncio.to_thread(lambda: list(tmp_path.iterdir())) == []
    assert not [t for t in threading.enumerate() if t.name == "test-db"]


async def test_non_durable_writes_relax_only_their_own_commit(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "x.db", STEPS, name="test-db", synchronous="FULL")
    seen = await db.write(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0], durable=False)
    after = await db.read(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0])
    durable = await db.write(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0])
    await db.close()
    assert (seen, after, durable) == (1, 2, 2)  # NORMAL, then FULL again
