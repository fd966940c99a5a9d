"""The per-device message cache: bounded by count and by bytes, oldest out first, the newest always kept."""

from __future__ import annotations

import pytest

from wa_gateway.engine import contract as c
from wa_gateway.worker.message_cache import ENTRY_OVERHEAD_BYTES, CachedMessage, MessageCache, MessageCaches

CHAT = "628111@s.whatsapp.net"


def message(
    message_id: str, payload: bytes = b"", *, from_me: bool = False, chat_alt: str = ""
) -> CachedMessage:
    return CachedMessage(
        id=message_id,
        chat="987654321012345@lid",
        chat_alt=chat_alt,
        sender=CHAT,
        from_me=from_me,
        kind="text",
        timestamp=1.0,
        payload=payload,
    )


def test_the_byte_budget_evicts_the_oldest_but_never_the_newest() -> None:
    cache = MessageCache(max_messages=100, max_bytes=3 * (1000 + ENTRY_OVERHEAD_BYTES))
    for n in range(3):
        cache.put(message(f"M{n}", b"x" * 1000))
    assert len(cache) == 3
    cache.put(message("M3", b"x" * 1000))
    assert [cache.get(f"M{n}") is not None for n in range(4)] == [False, True, True, True]
    cache.put(message("BIG", b"x" * 10_000))
    assert len(cache) == 1 and cache.get("BIG") is not None  # over budget alone, still kept
    cache.put(message("BIG", b"x"))  # seen again: replaces, and the budget follows
    assert cache.size_bytes == 1 + ENTRY_OVERHEAD_BYTES


def test_lookups_by_chat_and_author() -> None:
    cache = MessageCache()
    cache.put(message("IN1", chat_alt=CHAT))
    cache.put(message("OWN1", from_me=True))
    assert cache.find("IN1", CHAT).id == "IN1"  # a LID chat is also found by its phone JID
    assert cache.find("IN1", "987654321012345@lid").id == "IN1"
    with pytest.raises(c.EngineError) as elsewhere:
        cache.find("IN1", "1203@g.us")
    assert elsewhere.value.code == c.E_MESSAGE_NOT_FOUND
    with pytest.raises(c.EngineError) as theirs:
        cache.find_own("IN1", CHAT)
    assert theirs.value.code == c.E_MESSAGE_NOT_FOUND
    assert cache.find_own("OWN1", "987654321012345@lid").from_me
    cache.replace_text("OWN1", "edited")
    assert cache.find("OWN1").text == "edited"
    assert cache.size_bytes == 2 * ENTRY_OVERHEAD_BYTES + len("edited")
    assert cache.discard("OWN1") is not None and cache.get("OWN1") is None


def test_each_device_has_its_own_cache_until_it_is_dropped() -> None:
    caches = MessageCaches(max_messages=10)
    caches.of("1111111").put(message("A"))
    assert caches.of("2222222").get("A") is None
    caches.drop("1111111")
    assert caches.of("1111111").get("A") is None


def test_a_message_not_held_is_restored_from_its_ref_only_when_it_is_the_one_asked_for() -> None:
    restored: dict[str, CachedMessage] = {
        "R-M1": message("M1", chat_alt=CHAT),
        "R-OWN": message("OWN", from_me=True),
    }
    asked: list[str] = []

    def restore(ref: str) -> CachedMessage | None:
        asked.append(ref)
        return restored.get(ref)

    cache = MessageCache()
    refused = [
        lambda: cache.find("M1"),  # no ref: unknown
        lambda: cache.find("M2", ref="R-M1", restore=restore),  # the ref of another message
        lambda: cache.find("M1", "628999@s.whatsapp.net", ref="R-M1", restore=restore),  # another chat
        lambda: cache.find("M1", ref="garbage", restore=restore),
        lambda: cache.find_own("M1", CHAT, ref="R-M1", restore=restore),  # somebody else's
    ]
    for attempt in refused:
        with pytest.raises(c.EngineError) as info:
            attempt()
        assert info.value.code == c.E_MESSAGE_NOT_FOUND
    assert cache.get("M2") is None
    assert cache.find("M1", CHAT, ref="R-M1", restore=restore).id == "M1"
    assert cache.find_own("OWN", "987654321012345@lid", ref="R-OWN", restore=restore).from_me
    assert len(cache) == 2
    calls = len(asked)
    assert cache.find("OWN", ref="R-OWN", restore=restore).id == "OWN"
    assert len(asked) == calls, "once held, the cache answers and the ref is not read again"
