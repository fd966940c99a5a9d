"""Contact books by device token: sqlite files under ``DATA_DIR/contacts/``, one per device."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Final

from wa_gateway.clock import Clock
from wa_gateway.contacts.sqlite_book import ContactStore
from wa_gateway.phone import is_valid_token

CONTACTS_DIR: Final = "contacts"

__all__ = ["CONTACTS_DIR", "ContactStore", "ContactStores", "contacts_path"]


def contacts_path(data_dir: Path, token: str) -> Path:
    # The token becomes a file name, so only what the API accepts may reach the file system.
    if not is_valid_token(token):
        raise ValueError(f"not a device token: {token!r}")
    return data_dir / CONTACTS_DIR / f"{token}.db"


class ContactStores:
    """Contact stores by device token, opened on first use (a ``ContactBooks``)."""

    def __init__(self, data_dir: Path | str, clock: Clock) -> None:
        self._data_dir = Path(data_dir)
        self._clock = clock
        self._stores: dict[str, ContactStore] = {}
        self._retiring: dict[str, threading.Thread] = {}

    async def open(self) -> None:
        """Nothing to do: each file opens on its first use."""

    def get(self, token: str) -> ContactStore:
        """The token's store, without blocking: the file is opened on the store's thread.

        Raises ValueError for anything but a device token, which becomes the file name.
        """
        store = self._stores.get(token)
        if store is None:
            path = contacts_path(self._data_dir, token)
            after = self._retiring.pop(token, None)
            store = ContactStore(path, self._clock, after=after if after and after.is_alive() else None)
            self._stores[token] = store
        return store

    async def close(self, token: str) -> None:
        await self._retire(token, remove_files=False)

    async def delete(self, token: str) -> None:
        """Close the token's store and remove its files (the database, -wal and -shm)."""
        self.get(token)  # a store that never opened the file still removes it, in order with later gets
        await self._retire(token, remove_files=True)

    async def close_all(self) -> None:
        tokens = list(self._stores)
        await asyncio.gather(*(self._retire(token, remove_files=False) for token in tokens))
        await asyncio.gather(*(asyncio.to_thread(thread.join) for thread in self._retiring.values()))
        self._retiring.clear()

    async def _retire(self, token: str, *, remove_files: bool) -> None:
        store = self._stores.pop(token, None)
        if store is None:
            return
        self._retiring[token] = store.thread
        try:
            await store.close(remove_files=remove_files)
        finally:
            if self._retiring.get(token) is store.thread:
                del self._retiring[token]
