"""CSV cells: the Go gateway's quoting, plus neutralised spreadsheet formulas."""

from __future__ import annotations

import csv
import io

import pytest

from wa_gateway.contacts import ContactRow
from wa_gateway.contacts.csv_export import (
    attachment_disposition,
    csv_cell,
    csv_line,
    header_bytes,
    neutralise,
    quote,
    rows_bytes,
)


def test_header_line() -> None:
    assert header_bytes() == b"phone,name,source,first_seen,last_seen\n"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+60123", "'+60123"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Ann", "Ann"),
        ("60123456789", "60123456789"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_formula_triggers_are_neutralised(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


@pytest.mark.parametrize(
    ("cells", "line"),
    [
        (["1", "Ann", "message"], "1,Ann,message\n"),
        (["1", "Doe, Ann", "x"], '1,"Doe, Ann",x\n'),
        (["1", 'say "hi"', "x"], '1,"say ""hi""",x\n'),
        (["1", "two\nlines", "x"], '1,"two\nlines",x\n'),
        (["1", " leading space", "x"], '1," leading space",x\n'),
        (["1", "", "x"], "1,,x\n"),
        (["1", "=1+1", "x"], "1,'=1+1,x\n"),
        (["1", '=cmd|"/c calc"!A0', "x"], '1,"\'=cmd|""/c calc""!A0",x\n'),
        (["1", "\r=1", "x"], '1,"\'\r=1",x\n'),
    ],
)
def test_lines_quote_like_go_encoding_csv(cells: list[str], line: str) -> None:
    assert csv_line(cells) == line


def test_rows_read_back_with_a_standard_csv_reader() -> None:
    rows = [
        ContactRow("111", 'Ann "A", Jr.', "message", "2026-02-17T10:30:00Z", "2026-02-17T10:31:00Z"),
        ContactRow("222", "=evil()", "history", "2026-02-17T10:30:00Z", "2026-02-17T10:30:00Z"),
        ContactRow("333", "multi\nline", "history", "2026-02-17T10:30:00Z", "2026-02-17T10:30:00Z"),
    ]
    text = (header_bytes() + rows_bytes(rows)).decode()
    assert "\r\n" not in text.replace("multi\nline", "")
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed == [
        ["phone", "name", "source", "first_seen", "last_seen"],
        ["111", 'Ann "A", Jr.', "message", "2026-02-17T10:30:00Z", "2026-02-17T10:31:00Z"],
        ["222", "'=evil()", "history", "2026-02-17T10:30:00Z", "2026-02-17T10:30:00Z"],
        ["333", "multi\nline", "history", "2026-02-17T10:30:00Z", "2026-02-17T10:30:00Z"],
    ]


def test_names_are_utf8() -> None:
    row = ContactRow("111", "Zoë 李", "message", "t", "t")
    assert rows_bytes([row]) == "111,Zoë 李,message,t,t\n".encode()


def test_attachment_filename_is_quoted() -> None:
    assert attachment_disposition("60123456789") == 'attachment; filename="contacts-60123456789.csv"'


def test_the_fast_path_agrees_with_the_full_rules() -> None:
    samples = ["", "a", "60123456789", "2026-02-17T10:30:00Z", "Zoë", "a,b", 'a"b', "a\rb", "a\nb", "a b"]
    samples += [lead + rest for lead in "=+-@\t\r \u00a0\u2003\x1c,\"'a9" for rest in ["", "x", "x,y", 'x"y']]
    for value in samples:
        assert csv_cell(value) == quote(neutralise(value)), repr(value)
