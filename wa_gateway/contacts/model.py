"""What a captured contact is, and the small interface every contact store implements."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

SOURCE_MESSAGE: Final = "message"
SOURCE_HISTORY: Final = "history"

ContactUpsert = tuple[str, str, str]
"""``(phone, name, source)``: one sighting of a contact, ready to be stored."""


@dataclass(frozen=True, slots=True)
class ContactRow:
    phone: str
    name: str
    source: str
    first_seen: str  # UTC ``YYYY-MM-DDTHH:MM:SSZ``
    last_seen: str

    def to_json(self) -> dict[str, str]:
        return {
            "phone": self.phone,
            "name": self.name,
            "source": self.source,
            "firstSeen": self.first_seen,
            "lastSeen": self.last_seen,
        }


class ContactStoreError(Exception):
    """A contact store could not do what was asked (closed, disk, database); details are for the log."""


class ContactBook(Protocol):
    """One device's contacts: a sqlite file per device, or rows in PostgreSQL (docs/storage.md)."""

    async def upsert_many(self, rows: Sequence[ContactUpsert], now: float | None = None) -> list[str]: ...

    async def page(self, limit: int, offset: int) -> tuple[list[ContactRow], int]: ...

    def iter_all(self, chunk_size: int = ...) -> AsyncGenerator[list[ContactRow], None]: ...

    def iter_csv(self, chunk_size: int = ...) -> AsyncGenerator[bytes, None]: ...


class ContactBooks(Protocol):
    """Every device's contact book; ``get`` never blocks (raises ValueError for a malformed token)."""

    def get(self, token: str) -> ContactBook: ...


class ContactLibrary(ContactBooks, Protocol):
    """What the application holds: the books, and their life cycle."""

    async def open(self) -> None: ...

    async def delete(self, token: str) -> None: ...

    async def close_all(self) -> None: ...
