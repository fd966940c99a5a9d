"""Device tokens and phone numbers: ASCII digits only, matched over the whole string.

Python's ``\\d`` matches Unicode digits and ``$`` matches before a trailing newline, so every check here
uses an explicit ``[0-9]`` class with ``re.fullmatch`` (docs/go-gateway.md §7).
"""

from __future__ import annotations

import re
from typing import Final

TOKEN_RE: Final = re.compile(r"[0-9]{7,15}")
_NOT_ASCII_DIGIT: Final = re.compile(r"[^0-9]")
# Go's unicode.IsSpace, which Python's str.isspace() exceeds by the four information separators.
_NOT_GO_SPACE: Final = frozenset("\x1c\x1d\x1e\x1f")
USER_SERVER: Final = "s.whatsapp.net"


def is_valid_token(token: str) -> bool:
    """The token names files on disk (``sessions/<token>.db``): 7-15 ASCII digits, nothing else."""
    return TOKEN_RE.fullmatch(token) is not None


class PhoneRules:
    """``PHONE_COUNTRY_CODE`` / ``PHONE_MIN_LENGTH`` / ``PHONE_MAX_LENGTH`` as the Go gateway applies them."""

    def __init__(self, country_code: str, min_length: int, max_length: int) -> None:
        self.country_code = country_code
        lo = min_length - len(country_code)
        hi = max_length - len(country_code)
        self._pattern = re.compile(f"{re.escape(country_code)}[0-9]{{{lo},{hi}}}")

    def normalise(self, raw: str) -> str | None:
        """Keep ASCII digits, turn one leading 0 into the country code; None when the result is invalid."""
        digits = _NOT_ASCII_DIGIT.sub("", raw)
        if digits.startswith("0"):
            digits = self.country_code + digits[1:]
        return digits if self._pattern.fullmatch(digits) else None


def is_blank(text: str) -> bool:
    return all(ch.isspace() and ch not in _NOT_GO_SPACE for ch in text)


def user_jid(phone: str) -> str:
    return f"{phone}@{USER_SERVER}"
