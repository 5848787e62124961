"""Files that people open in a spreadsheet (pure: no Dagster).

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a *formula* to
Excel and LibreOffice (CSV injection: ``=HYPERLINK(...)`` in a contract's e-mail field would become a live
link in the operations list). :func:`spreadsheet_cell` neutralises such a cell with a leading apostrophe,
the convention both programs show as plain text; every CSV a person opens is written with it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def safe_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """UTF-8 CSV (``\\n`` line ends) with every cell neutralised."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([spreadsheet_cell(h) for h in header])
    for row in rows:
        w.writerow([spreadsheet_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")
