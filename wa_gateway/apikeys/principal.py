"""Who is calling: the admin key, or a scoped key limited to some scopes and maybe some devices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

ADMIN_SCOPE: Final = "admin"
SCOPES: Final = frozenset(
    {
        "devices:read",
        "devices:write",
        "messages:send",
        "messages:read",
        "contacts:read",
        "webhooks:admin",
        "keys:admin",
        ADMIN_SCOPE,
    }
)
ADMIN_KEY_ID: Final = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    name: str
    scopes: frozenset[str]
    devices: frozenset[str] | None = None  # None: every device

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes

    def has(self, scope: str) -> bool:
        return self.is_admin or scope in self.scopes

    def may_use(self, token: str) -> bool:
        return self.devices is None or token in self.devices

    def visible(self, tokens: Iterable[str]) -> list[str]:
        return [t for t in tokens if self.may_use(t)]

    def covers(self, scopes: frozenset[str], devices: frozenset[str] | None) -> bool:
        """Whether a key with ``scopes`` and ``devices`` grants nothing this principal lacks."""
        if not all(self.has(s) for s in scopes):
            return False
        if self.devices is None:
            return True
        return devices is not None and devices <= self.devices


ADMIN: Final = Principal(ADMIN_KEY_ID, "API_KEY", frozenset({ADMIN_SCOPE}))
