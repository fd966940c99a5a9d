"""Contacts as CSV: the Go gateway's columns and quoting, with cells made safe to open in a spreadsheet."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

from wa_gateway.contacts.model import ContactRow

CSV_HEADER: Final = ("phone", "name", "source", "first_seen", "last_seen")
CSV_CONTENT_TYPE: Final = "text/csv; charset=utf-8"
# A spreadsheet reads a cell starting with one of these as a formula; push names are chosen by strangers
# (docs/go-gateway.md §4). OWASP "CSV Injection": prefix such cells with a single quote.
FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_QUOTES: Final = (",", '"', "\r", "\n")
# Phones, sources, timestamps and most names need neither treatment; one match says so cheaply, which
# matters when an export writes half a million cells.
_PLAIN_CELL: Final = re.compile(r'(?:[^=+\-@\s",][^",\r\n]*)?')


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


def quote(cell: str) -> str:
    # Go encoding/csv's rule, which the Go gateway's export follows: quote when the cell holds a comma, a
    # quote, CR or LF, or starts with a space; double the quotes inside.
    if any(mark in cell for mark in _NEEDS_QUOTES) or cell[:1].isspace():
        return '"' + cell.replace('"', '""') + '"'
    return cell


def csv_cell(value: str) -> str:
    return value if _PLAIN_CELL.fullmatch(value) else quote(neutralise(value))


def csv_line(cells: Sequence[str]) -> str:
    return ",".join(csv_cell(cell) for cell in cells) + "\n"


def header_bytes() -> bytes:
    return csv_line(CSV_HEADER).encode()


def rows_bytes(rows: Iterable[ContactRow]) -> bytes:
    return csv_rows((r.phone, r.name, r.source, r.first_seen, r.last_seen) for r in rows)


def csv_rows(rows: Iterable[tuple[str, str, str, str, str]]) -> bytes:
    """CSV lines for raw ``(phone, name, source, first_seen, last_seen)`` tuples, as sqlite returns them.

    Sources and the two timestamps are written by the store in fixed forms that never need quoting; the
    phone and the (stranger-chosen) name go through the full rules.
    """
    cell = csv_cell
    return "".join(f"{cell(p)},{cell(n)},{s},{f},{la}\n" for p, n, s, f, la in rows).encode()


def attachment_disposition(token: str) -> str:
    # The token is ^[0-9]{7,15}$ by the time it gets here, so the quoted filename needs no escaping.
    return f'attachment; filename="contacts-{token}.csv"'
