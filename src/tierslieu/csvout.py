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
import io
from collections.abc import Iterable, Sequence

BOM = "\ufeff"
FORMULA_START = frozenset({"=", "+", "-", "@", "\t", "\r"})


def cell(value: object) -> object:
    """A value safe to put in a spreadsheet cell (text neutralised, numbers unchanged)."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
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
