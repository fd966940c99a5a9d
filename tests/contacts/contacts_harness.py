"""Helpers shared by the contacts tests."""

from __future__ import annotations

import threading

TOKEN = "60123456789"


class KnownTokens:
    """Stands in for the DeviceManager: ``is_known`` is all the contacts API asks of it."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = set(tokens)

    def is_known(self, token: str) -> bool:
        return token in self.tokens


def contact_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("contacts-")]
