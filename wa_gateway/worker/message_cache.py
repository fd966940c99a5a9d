"""Recent messages of each device, incoming and sent, with what it takes to quote, react, edit or revoke them.

In memory only, bounded per device by a count and a byte budget, oldest out first. A message from before a
worker restart (or evicted) is known again only from the ``ref`` the gateway's message store kept of it
(docs/messages.md "Acting on stored messages"); without one it answers E_MESSAGE_NOT_FOUND. Nothing of a
conversation is written to disk here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from wa_gateway.engine import contract as c
from wa_gateway.worker import command_checks as checks

DEFAULT_MAX_MESSAGES: Final = 5_000
DEFAULT_MAX_BYTES: Final = 32 * 1024 * 1024
# What an entry costs besides its payload: the Python objects and strings around it.
ENTRY_OVERHEAD_BYTES: Final = 512


@dataclass(slots=True)
class CachedMessage:
    id: str
    chat: str  # JID of the chat as WhatsApp addressed it (may be a LID JID)
    sender: str  # JID of the author ("" for own messages when unknown)
    from_me: bool
    kind: str  # one of contract.MESSAGE_TYPES
    timestamp: float
    text: str = ""
    chat_alt: str = ""  # the phone JID of a LID-addressed 1:1 chat, when known
    media: c.MediaInfo | None = None
    poll_options: tuple[str, ...] = ()
    poll_multiple: bool = False
    # Backend-specific: neonize keeps the serialized message event, the sandbox the media bytes.
    payload: bytes = b""

    @property
    def cost(self) -> int:
        return len(self.payload) + len(self.text) + ENTRY_OVERHEAD_BYTES

    def in_chat(self, chat: str) -> bool:
        return chat in (self.chat, self.chat_alt)


# A backend's reading of its own ``ref``: the message it describes, or None when it describes none.
Restore = Callable[[str], CachedMessage | None]


class MessageCache:
    """One device's recent messages by id; a message seen again replaces the older copy."""

    def __init__(self, max_messages: int = DEFAULT_MAX_MESSAGES, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, CachedMessage] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def put(self, message: CachedMessage) -> None:
        self.discard(message.id)
        self._entries[message.id] = message
        self._bytes += message.cost
        # The newest entry stays even when it alone is over the budget: it is the one asked for next.
        while len(self._entries) > 1 and (
            len(self._entries) > self._max_messages or self._bytes > self._max_bytes
        ):
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.cost

    def get(self, message_id: str) -> CachedMessage | None:
        return self._entries.get(message_id)

    def discard(self, message_id: str) -> CachedMessage | None:
        old = self._entries.pop(message_id, None)
        if old is not None:
            self._bytes -= old.cost
        return old

    def find(
        self,
        message_id: str,
        chat: str | None = None,
        *,
        ref: str | None = None,
        restore: Restore | None = None,
    ) -> CachedMessage:
        """The message, which must be in ``chat`` when one is given; E_MESSAGE_NOT_FOUND otherwise.

        Not held, it is the one ``restore`` reads from ``ref`` (a stored message), which is held from then on.
        """
        message = held = self._entries.get(message_id)
        if held is None and ref and restore is not None:
            message = restore(ref)
        if message is None or message.id != message_id or (chat is not None and not message.in_chat(chat)):
            raise checks.not_found(message_id)
        if held is None:
            self.put(message)
        return message

    def find_own(
        self, message_id: str, chat: str, *, ref: str | None = None, restore: Restore | None = None
    ) -> CachedMessage:
        """A message this device sent (here or from the phone): only those can be edited or revoked."""
        message = self.find(message_id, chat, ref=ref, restore=restore)
        if not message.from_me:
            raise c.EngineError(c.E_MESSAGE_NOT_FOUND, f"message {message_id} was not sent by this device")
        return message

    def replace_text(self, message_id: str, text: str) -> None:
        message = self._entries.get(message_id)
        if message is not None:
            self._bytes += len(text) - len(message.text)
            message.text = text


class MessageCaches:
    """Every device's cache; a device's cache outlives its connections and goes with its session."""

    def __init__(self, max_messages: int = DEFAULT_MAX_MESSAGES, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._caches: dict[str, MessageCache] = {}

    def of(self, token: str) -> MessageCache:
        cache = self._caches.get(token)
        if cache is None:
            cache = self._caches[token] = MessageCache(self._max_messages, self._max_bytes)
        return cache

    def drop(self, token: str) -> None:
        self._caches.pop(token, None)
