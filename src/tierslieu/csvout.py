"""The one way tierslieu writes CSV for spreadsheets: day sheet, kitchen sheet, later exports.

French spreadsheet conventions: ``;`` separator, UTF-8 with a BOM (so Excel reads the
accents), CRLF line ends, fields quoted only when needed (the ``csv`` module doubles quotes).

Every text cell is neutralised against formula injection (OWASP "CSV injection"): a cell that
starts with ``= + - @``, a tab or a carriage return gets a leading ``'``, so a spreadsheet shows
it as text instead of running it. NUL characters are dropped. Numbers written by the service
itself (ints, floats) are left as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

BOM = "\ufeff"
FORMULA_START = frozenset({"=", "+", "-", "@", "\t", "\r"})


def cell(value: object) -> str:
    """A value as a French spreadsheet reads it, text neutralised: dates ``jj/mm/aaaa``,
    decimal comma, ``oui``/``non``; numbers are never prefixed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    if isinstance(value, float):
        return format(value, ".6f").rstrip("0").rstrip(".").replace(".", ",")
    text = str(value).replace("\x00", "")
    return "'" + text if text[:1] in FORMULA_START else text


def document(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole CSV file as text: BOM, header line, one line per row, every cell neutralised."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def sections(tables: Iterable[tuple[str | None, Sequence[str], Iterable[Sequence[object]]]]) -> str:
    """Several tables in one file, one after the other: an optional title line, the header,
    the rows, a blank line between tables."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for index, (title, header, rows) in enumerate(tables):
        if index:
            writer.writerow([])
        if title is not None:
            writer.writerow([cell(title)])
        writer.writerow([cell(h) for h in header])
        for row in rows:
            writer.writerow([cell(v) for v in row])
    return out.getvalue()
