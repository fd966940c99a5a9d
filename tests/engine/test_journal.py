"""The worker's event journal on a real file: order, group commit, replay with stable ids, acks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wa_gateway.engine import contract as c
from wa_gateway.engine.ipc import decode_body
from wa_gateway.worker.journal import JOURNAL_FILE, EventJournal


def decoded(frame: dict[str, Any] | bytes) -> dict[str, Any]:
    """A frame as the gateway reads it: durable events arrive already encoded (4-byte length, body)."""
    if isinstance(frame, bytes):
        assert int.from_bytes(frame[:4], "big") == len(frame) - 4
        return decode_body(frame[4:])
    return frame


def journal(path: Path, sent: list[dict[str, Any]]) -> EventJournal:
    return EventJournal(
        path / JOURNAL_FILE, lambda frame: sent.append(decoded(frame)), lambda: 1_700_000_000_000
    )


async def test_frames_follow_the_commit_in_order_and_replay_keeps_their_ids(tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []
    first = journal(tmp_path, sent)
    await first.open()
    first.emit("t", c.EV_MESSAGE, {"text": "a"})
    first.emit("t", c.EV_CONNECTED, {"jid": "j"})
    first.emit("t", c.EV_MESSAGE, {"text": "b"})
    assert sent == []  # nothing leaves before its commit
    await first.flushed()
    assert [(f["event"], f.get("seq")) for f in sent] == [
        (c.EV_MESSAGE, 1),
        (c.EV_CONNECTED, None),
        (c.EV_MESSAGE, 2),
    ]
    ids = {f["seq"]: f["eventId"] for f in sent if "seq" in f}
    assert len(set(ids.values())) == 2
    first.ack([1])
    await first.close()

    replayed: list[dict[str, Any]] = []
    second = journal(tmp_path, replayed)
    await second.open()
    assert await second.replay() == 1
    assert [(f["seq"], f["eventId"], f["data"]) for f in replayed] == [(2, ids[2], {"text": "b"})]
    assert await second.replay() == 0  # once per worker
    # Sequence numbers go on from the file, never reused.
    second.emit("t", c.EV_RECEIPT, {})
    await second.flushed()
    assert replayed[-1]["seq"] == 3
    await second.close()


async def test_acks_that_arrive_while_events_are_committed_are_deleted_too(tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []
    first = journal(tmp_path, sent)
    await first.open()
    for index in range(5):
        first.emit("t", c.EV_MESSAGE, {"n": index})
        await first.flushed()
    first.emit("t", c.EV_MESSAGE, {"n": 5})  # its commit is under way ...
    first.ack([1, 2])  # ... when these arrive: they join the next transaction
    await first.flushed()
    first.emit("t", c.EV_MESSAGE, {"n": 6})
    first.ack([3])
    await first.flushed()
    first.ack([4, 6])  # nothing being committed: deleted on their own
    await first.close()

    replayed: list[dict[str, Any]] = []
    second = journal(tmp_path, replayed)
    await second.open()
    assert await second.replay() == 2
    assert [(f["seq"], f["data"]["n"]) for f in replayed] == [(5, 4), (7, 6)]
    await second.close()
