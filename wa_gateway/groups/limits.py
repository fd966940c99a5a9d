"""The group and channel routes, each limited by RATE_LIMIT_MESSAGES like the other message routes."""

from __future__ import annotations

from typing import Final

GROUP: Final = "/groups/{token}/{gid}"
CHANNEL: Final = "/newsletters/{token}/{jid}"
LIMITED_ROUTES: Final = (
    ("POST", "/groups/{token}"),
    ("POST", "/groups/{token}/join"),
    ("GET", "/groups/{token}/invite/{code}"),
    ("PATCH", GROUP),
    ("DELETE", GROUP),
    ("PUT", f"{GROUP}/picture"),
    ("POST", f"{GROUP}/participants"),
    ("GET", f"{GROUP}/invite"),
    ("DELETE", f"{GROUP}/invite"),
    ("GET", f"{GROUP}/requests"),
    ("POST", f"{GROUP}/links"),
    ("DELETE", GROUP + "/links/{child}"),
    ("GET", f"{GROUP}/subgroups"),
    ("GET", "/newsletters/{token}"),
    ("POST", "/newsletters/{token}"),
    ("POST", "/newsletters/{token}/follow"),
    ("GET", CHANNEL),
    ("PATCH", CHANNEL),
    ("DELETE", CHANNEL),
    ("GET", f"{CHANNEL}/messages"),
)
