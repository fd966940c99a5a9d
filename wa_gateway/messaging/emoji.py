"""Is a string exactly one emoji? (A WhatsApp reaction is one emoji, or "" to remove it.)

One emoji is one "possible emoji" of Unicode TS #51 §1.4.9 (ED-27): emoji elements joined by ZWJ, where an
element is a pictographic character with an optional skin-tone modifier or presentation selector, a keycap,
a flag (two regional indicators) or a tag sequence (subdivision flags). The pictographic set is
Extended_Pictographic from emoji-data.txt, which covers every emoji WhatsApp's pickers offer.
"""

from __future__ import annotations

import re
from typing import Final

# Extended_Pictographic (Unicode emoji-data.txt), as code point ranges.
_PICTOGRAPHIC: Final = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u2388\u23cf"
    "\u23e9-\u23f3\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u2605\u2607-\u2612"
    "\u2614-\u2685\u2690-\u2705\u2708-\u2712\u2714\u2716\u271d\u2721\u2728\u2733\u2734\u2744\u2747"
    "\u274c\u274e\u2753-\u2755\u2757\u2763-\u2767\u2795-\u2797\u27a1\u27b0\u27bf\u2934\u2935"
    "\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299"
    "\U0001f000-\U0001f0ff\U0001f10d-\U0001f10f\U0001f12f\U0001f16c-\U0001f171\U0001f17e\U0001f17f"
    "\U0001f18e\U0001f191-\U0001f19a\U0001f1ad-\U0001f1e5\U0001f201-\U0001f20f\U0001f21a\U0001f22f"
    "\U0001f232-\U0001f23a\U0001f23c-\U0001f23f\U0001f249-\U0001f3fa\U0001f400-\U0001f53d"
    "\U0001f546-\U0001f64f\U0001f680-\U0001f6ff\U0001f774-\U0001f77f\U0001f7d5-\U0001f7ff"
    "\U0001f80c-\U0001f80f\U0001f848-\U0001f84f\U0001f85a-\U0001f85f\U0001f888-\U0001f88f"
    "\U0001f8ae-\U0001f8ff\U0001f90c-\U0001f93a\U0001f93c-\U0001f945\U0001f947-\U0001faff"
    "\U0001fc00-\U0001fffd"
)
_PICT: Final = f"[{_PICTOGRAPHIC}]"
_MODIFIER: Final = "[\U0001f3fb-\U0001f3ff]"
_VS16: Final = "\ufe0f"
_KEYCAP: Final = f"[0-9#*]{_VS16}?\u20e3"
_FLAG: Final = "[\U0001f1e6-\U0001f1ff]{2}"
_TAGS: Final = f"{_PICT}[\U000e0020-\U000e007e]+\U000e007f"
_ELEMENT: Final = f"(?:{_KEYCAP}|{_FLAG}|{_TAGS}|{_PICT}(?:{_MODIFIER}|{_VS16}\u20e3?)?{_VS16}?)"
_EMOJI_RE: Final = re.compile(f"{_ELEMENT}(?:\u200d{_ELEMENT})*")
# The longest RGI sequences (families with skin tones) have about a dozen code points.
MAX_EMOJI_CODE_POINTS: Final = 32


def is_single_emoji(text: str) -> bool:
    return len(text) <= MAX_EMOJI_CODE_POINTS and _EMOJI_RE.fullmatch(text) is not None
