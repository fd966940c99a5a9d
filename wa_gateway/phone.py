"""Device tokens and phone numbers: ASCII digits only, matched over the whole string.

Python's ``\\d`` matches Unicode digits and ``$`` matches before a trailing newline, so every check here
uses an explicit ``[0-9]`` class with ``re.fullmatch`` (docs/go-gateway.md §7).
"""

from __future__ import annotations

import re
from typing import Final

from wa_gateway import vocabulary as v

_NOT_ASCII_DIGIT: Final = re.compile(r"[^0-9]")
# Go's unicode.IsSpace, which Python's str.isspace() exceeds by the four information separators.
_NOT_GO_SPACE: Final = frozenset("\x1c\x1d\x1e\x1f")


# The token rule is the shared vocabulary's (wa_gateway/vocabulary.py), re-exported for the routes.
is_valid_token = v.is_valid_token
USER_SERVER: Final = v.USER_SERVER


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
