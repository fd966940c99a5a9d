"""The small Markdown subset the OpenAPI descriptions use, rendered to safe HTML for ``/docs``.

The text is HTML-escaped first and markup is added only around escaped text, so nothing in a description
can inject a tag or an attribute. Supported (CommonMark's meaning): paragraphs separated by blank lines,
``- `` bullet lists, `` `code` `` spans and ``**strong**``; soft line breaks join lines.
"""

from __future__ import annotations

import html
import re
from typing import Any, Final

_CODE: Final = re.compile(r"`([^`]+)`")
_STRONG: Final = re.compile(r"\*\*([^*]+)\*\*")
HTML_KEY: Final = "x-description-html"


def _inline(text: str) -> str:
    parts = _CODE.split(html.escape(text, quote=True))
    # Odd parts were inside backticks: code, left as it is; the rest may hold **strong**.
    return "".join(
        f"<code>{part}</code>" if i % 2 else _STRONG.sub(r"<strong>\1</strong>", part)
        for i, part in enumerate(parts)
    )


def to_html(text: str) -> str:
    blocks = [block for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]
    out = []
    for block in blocks:
        lines = [line.strip() for line in block.splitlines()]
        if all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        else:
            out.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "".join(out)


def add_rendered_descriptions(node: Any) -> None:
    """Beside every ``description`` of an operation, webhook or the info object, its HTML (an ``x-``
    extension, which OpenAPI 3.1 lets documents carry and tools ignore)."""
    if isinstance(node, dict):
        description = node.get("description")
        if isinstance(description, str) and ("summary" in node or "title" in node or "requestBody" in node):
            node[HTML_KEY] = to_html(description)
        for value in list(node.values()):
            add_rendered_descriptions(value)
    elif isinstance(node, list):
        for value in node:
            add_rendered_descriptions(value)
