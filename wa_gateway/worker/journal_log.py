"""The event journal's file: an append-only log of checksummed frames, compacted by rewriting it.

Layout of ``DATA_DIR/event-journal.log`` (docs/durability.md, "The journal file"):

- a header: magic, journal id, the next sequence number when the file was written, CRC-32 of those;
- then frames: CRC-32, payload length, sequence number, payload. A sequence number above 0 is an entry
  (its payload the event's IPC frame, sent as is on replay); 0 is an acknowledgement record, whose payload
  is the acknowledged sequence numbers.

An append is one ``write`` and one ``fdatasync``; acknowledgements are written without a sync (a lost one
means one more replay, which the outbox deduplicates). A frame torn by a crash fails its checksum, and
the scan stops there: it was never synced, so nothing was acknowledged for it. Opening, and a file grown
past ``COMPACT_BYTES`` with more acknowledged than live bytes, rewrite the file with only its live entries
(a new file, synced, renamed over the old one, directory synced), which also drops a torn tail.

Blocking throughout: used only from the journal's own thread.
"""

from __future__ import annotations

import os
import secrets
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

MAGIC: Final = b"WAGJRNL1"
COMPACT_BYTES: Final = 8 * 1024 * 1024
# An entry is one IPC frame, which the worker never makes larger than ipc.MAX_FRAME_BYTES.
MAX_PAYLOAD_BYTES: Final = 17 * 1024 * 1024
ACK_SEQ: Final = 0

_HEADER: Final = struct.Struct("<8s16sQI")
_FRAME: Final = struct.Struct("<IIQ")
_LENGTH_SEQ: Final = struct.Struct("<IQ")
_SEQ: Final = struct.Struct("<Q")


class JournalCorrupt(Exception):
    """The journal file's header is unreadable: not a file this journal wrote."""


@dataclass(slots=True)
class Seed:
    """What a new journal file starts with (the entries of the sqlite journal it takes over)."""

    journal_id: str
    last_seq: int
    entries: list[tuple[int, bytes]] = field(default_factory=list)


@dataclass(slots=True)
class Scan:
    journal_id: str
    last_seq: int
    live: dict[int, tuple[int, int]]  # seq -> (payload offset, payload length), in sequence order


def _frame(seq: int, payload: bytes) -> bytes:
    length_seq = _LENGTH_SEQ.pack(len(payload), seq)
    crc = zlib.crc32(payload, zlib.crc32(length_seq))
    return struct.pack("<I", crc) + length_seq + payload


def _ack_payload(seqs: list[int]) -> bytes:
    return struct.pack(f"<{len(seqs)}Q", *seqs)


def _header(journal_id: str, next_seq: int) -> bytes:
    body = struct.pack("<8s16sQ", MAGIC, journal_id.encode("ascii"), next_seq)
    return body + struct.pack("<I", zlib.crc32(body))


def _frames(data: bytes, offset: int) -> Iterator[tuple[int, int, int]]:
    """(seq, payload offset, payload length) of each whole frame; stops at a torn or zeroed one."""
    while offset + _FRAME.size <= len(data):
        crc, length, seq = _FRAME.unpack_from(data, offset)
        start = offset + _FRAME.size
        end = start + length
        if length > MAX_PAYLOAD_BYTES or end > len(data):
            return
        payload = memoryview(data)[start:end]
        if zlib.crc32(payload, zlib.crc32(data[offset + 4 : start])) != crc:
            return
        yield seq, start, length
        offset = end


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _scan(path: Path, data: bytes) -> Scan:
    if len(data) < _HEADER.size:
        raise JournalCorrupt(f"{path}: shorter than its header")
    magic, raw_id, next_seq, crc = _HEADER.unpack_from(data)
    if magic != MAGIC or zlib.crc32(data[: _HEADER.size - 4]) != crc:
        raise JournalCorrupt(f"{path}: not an event journal, or its header is damaged")
    live: dict[int, tuple[int, int]] = {}
    last_seq = next_seq - 1
    for seq, start, length in _frames(data, _HEADER.size):
        if seq == ACK_SEQ:
            for (acked,) in _SEQ.iter_unpack(data[start : start + length]):
                live.pop(acked, None)
        else:
            live[seq] = (start, length)
            last_seq = max(last_seq, seq)
    return Scan(raw_id.decode("ascii"), last_seq, live)


def entries(path: Path) -> list[tuple[int, bytes]]:
    """The live entries of a journal file, in sequence order, read without changing it."""
    data = _read(path)
    if data is None:
        return []
    found = _scan(path, data)
    return [(seq, data[start : start + length]) for seq, (start, length) in found.live.items()]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JournalLog:
    """The open journal file: appends, acknowledgements, compaction."""

    def __init__(self, path: Path, seed: Seed | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._tmp = path.with_name(path.name + ".tmp")
        self._tmp.unlink(missing_ok=True)  # a rewrite a crash interrupted; the file it was for is intact
        self._fd = -1
        data = _read(path)
        if data is None:
            seed = seed or Seed(secrets.token_hex(8), 0)
            self.journal_id, self.last_seq = seed.journal_id, seed.last_seq
            self._rewrite(seed.entries)
        else:
            found = _scan(path, data)
            self.journal_id, self.last_seq = found.journal_id, found.last_seq
            self._rewrite([(seq, data[start : start + size]) for seq, (start, size) in found.live.items()])

    def pending(self) -> list[tuple[int, bytes]]:
        """The entries not acknowledged yet, in sequence order."""
        return [(seq, _pread(self._fd, at)) for seq, at in self._live.items()]

    def append(self, new: list[tuple[int, bytes]], acked: list[int]) -> None:
        """One write and one fdatasync: the new entries, and the acknowledgements that came meanwhile."""
        parts = [self._ack_frame(acked)] if acked else []
        offset = self._size + sum(len(part) for part in parts)
        index: list[tuple[int, tuple[int, int]]] = []
        for seq, payload in new:
            frame = _frame(seq, payload)
            parts.append(frame)
            index.append((seq, (offset + _FRAME.size, len(payload))))
            offset += len(frame)
        self._write(b"".join(parts))
        os.fdatasync(self._fd)
        for seq, at in index:
            self._live[seq] = at
            self._live_bytes += _FRAME.size + at[1]
            self.last_seq = max(self.last_seq, seq)
        self._compact_if_worth_it()

    def ack(self, seqs: list[int]) -> None:
        """Records acknowledgements without a sync; unknown sequence numbers are ignored."""
        if not seqs:
            return
        frame = self._ack_frame(seqs)
        if frame:
            self._write(frame)
            self._compact_if_worth_it()

    def close(self) -> None:
        os.close(self._fd)

    def _write(self, data: bytes) -> None:
        try:
            _write_all(self._fd, data)
        except BaseException:
            # A partial frame would hide every later one from the next scan: cut it off.
            os.ftruncate(self._fd, self._size)
            raise
        self._size += len(data)

    def _ack_frame(self, seqs: list[int]) -> bytes:
        known = [seq for seq in seqs if seq in self._live]
        for seq in known:
            _, length = self._live.pop(seq)
            self._live_bytes -= _FRAME.size + length
        return _frame(ACK_SEQ, _ack_payload(known)) if known else b""

    def _compact_if_worth_it(self) -> None:
        if self._size >= COMPACT_BYTES and self._live_bytes * 2 <= self._size:
            self._rewrite(self.pending())

    def _rewrite(self, live: list[tuple[int, bytes]]) -> None:
        """Replaces the file by one holding only ``live``; atomic, synced before and after the rename."""
        last_seq = max([self.last_seq, *(seq for seq, _ in live)])
        parts = [_header(self.journal_id, last_seq + 1)]
        index: dict[int, tuple[int, int]] = {}
        offset = len(parts[0])
        for seq, payload in live:
            frame = _frame(seq, payload)
            index[seq] = (offset + _FRAME.size, len(payload))
            parts.append(frame)
            offset += len(frame)
        fd = os.open(self._tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        try:
            _write_all(fd, b"".join(parts))
            os.fsync(fd)
            os.replace(self._tmp, self._path)
            _sync_directory(self._path.parent)
        except BaseException:
            os.close(fd)
            raise
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = fd
        self._live = index
        self._live_bytes = offset - len(parts[0])
        self._size = offset
        self.last_seq = last_seq


def _pread(fd: int, at: tuple[int, int]) -> bytes:
    start, length = at
    return os.pread(fd, length, start)
