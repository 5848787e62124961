"""Vectorised helpers for parsing delimited landing files with clear, row-numbered errors.

Every helper raises :class:`SourceFileError` naming the file, the rule and the 1-based line number of
the file (header and title lines included), so a parser stays a short list of named rules:

* :func:`~flexpower_dagster.lib.textfiles.read_text` — strict UTF-8 (rule ``encoding``, with the line of the
  first bad byte), a UTF-8 byte-order mark is tolerated (rule ``utf8-bom``), an empty or blank file is rule
  ``empty-file`` (re-exported here: every parser starts with it);
* :func:`read_table` — ``sep``-separated text into a frame of strings plus a ``_line`` column,
  blank lines ignored, a row with too many fields is rule ``malformed-row``, absent header columns
  are rule ``missing-column``, a column name the header repeats is rule ``duplicate-column`` (pandas would
  silently rename the second ``Volume`` to ``Volume.1``, and which one is meant is not ours to guess);
* :func:`require_values`, :func:`to_instant`, :func:`to_number`, :func:`first_line` — per-column
  checks that report the first offending line.

Pure module: no Dagster import, no loops over rows.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from flexpower_dagster.lib.bounds import Bounds, check_numbers
from flexpower_dagster.lib.errors import SourceFileError, excerpt
from flexpower_dagster.lib.textfiles import first_line as first_line  # re-exported: every parser starts here
from flexpower_dagster.lib.textfiles import read_text as read_text

LINE = "_line"  # column holding each row's 1-based line number in the file


def read_table(
    text: str,
    name: str,
    *,
    sep: str,
    required: Sequence[str],
    header_line: int = 1,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Rows after the header on line ``header_line`` as strings (stripped), plus ``_line``.

    Columns are named as in the header (surrounding blanks stripped). Missing ``required`` columns
    raise ``missing-column``, a repeated column name ``duplicate-column`` (row = header line); a row
    with more fields than the header raises
    ``malformed-row``; no data row at all raises ``no-data-rows`` unless ``allow_empty``.
    """
    check_header_unique(_line_of(text, header_line), name, sep=sep, row=header_line)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                skiprows=header_line - 1,
                header=0,
                dtype=str,
                na_filter=False,
                skip_blank_lines=False,
                index_col=False,  # never take a surplus first field as the index
                engine="c",
            )
    except pd.errors.ParserWarning as exc:  # the first data row has more fields than the header
        raise SourceFileError(name, "malformed-row", f"more '{sep}'-separated fields than the header", row=header_line + 1) from exc
    except pd.errors.EmptyDataError as exc:
        raise SourceFileError(name, "missing-header", "no header line", row=header_line) from exc
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            raise SourceFileError(
                name, "malformed-row", f"expected {m.group(1)} '{sep}'-separated fields, found {m.group(3)}", row=int(m.group(2))
            ) from exc
        raise SourceFileError(name, "malformed-row", str(exc).strip()) from exc
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        found = excerpt(";".join(str(c) for c in df.columns))
        raise SourceFileError(name, "missing-column", f"header lacks column(s) {missing}; header starts {found}", row=header_line)
    df[LINE] = np.arange(header_line + 1, header_line + 1 + len(df), dtype="int64")
    values = [c for c in df.columns if c != LINE]
    if _has_padding(text, sep):  # strip only when some field has surrounding blanks (stripping costs)
        for c in values:
            df[c] = df[c].str.strip()
    if "\n\n" in text or "\n\r\n" in text or not values:
        blank = (df[values] == "").all(axis=1) if values else pd.Series(True, index=df.index)
        df = df.loc[~blank].reset_index(drop=True)
    if not len(df) and not allow_empty:
        raise SourceFileError(name, "no-data-rows", "the file has a header but no data rows")
    return df


def _line_of(text: str, line: int) -> str:
    """The 1-based ``line`` of ``text`` without its line break ("" past the end)."""
    parts = text.split("\n", line)
    return parts[line - 1].rstrip("\r") if len(parts) >= line else ""


def check_header_unique(header: str | Sequence[str], name: str, *, sep: str = ",", row: int = 1) -> None:
    """Rule ``duplicate-column``: no column name (blanks stripped) appears twice in the header line
    ``header`` (text split at ``sep`` with CSV quoting, or the already split names). A file with two
    ``Volume`` or two ``reBAP unterdeckt`` columns is rejected, never read from one of them."""
    names = next(csv.reader([header], delimiter=sep), []) if isinstance(header, str) else list(header)
    seen: set[str] = set()
    for i, raw in enumerate(names, start=1):
        col = str(raw).strip()
        if col and col in seen:
            raise SourceFileError(name, "duplicate-column", f"the header repeats column {excerpt(col)} (field {i})", row=row)
        seen.add(col)


def _has_padding(text: str, sep: str) -> bool:
    """Whether any field has a leading or trailing blank (vectorised over the bytes)."""
    b = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    if not len(b):
        return False
    blank = (b == 32) | (b == 9)
    edge = (b == ord(sep)) | (b == 10) | (b == 13)
    return bool(blank[0] or blank[-1] or (blank[:-1] & edge[1:]).any() or (edge[:-1] & blank[1:]).any())


def fail_first(df: pd.DataFrame, bad: pd.Series, name: str, rule: str, detail) -> None:
    """Raise ``rule`` for the first row flagged in ``bad``; ``detail(row)`` builds the message."""
    if bool(bad.any()):
        i = int(np.flatnonzero(bad.to_numpy())[0])
        n = int(bad.sum())
        more = f" ({n - 1} more row(s) like this)" if n > 1 else ""
        raise SourceFileError(name, rule, detail(df.iloc[i]) + more, row=int(df[LINE].iloc[i]))


def require_values(df: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Rule ``missing-value``: the columns must not be empty (a truncated row shows up here)."""
    for c in columns:
        fail_first(df, df[c] == "", name, "missing-value", lambda r, c=c: f"column {c!r} is empty")


def to_instant(df: pd.DataFrame, column: str, name: str, *, fmt: str = "ISO8601", expected: str = "an ISO 8601 timestamp") -> pd.Series:
    """Parse ``column`` into naive UTC ``datetime64[ns]`` (offsets converted); rule ``bad-timestamp``."""
    t = pd.to_datetime(df[column], format=fmt, errors="coerce", utc=True)
    fail_first(df, t.isna(), name, "bad-timestamp", lambda r: f"column {column!r}: {r[column]!r} is not {expected}")
    return t.dt.tz_localize(None).astype("datetime64[ns]")


# comma decimals only: a thousands "." is refused, so a "."-decimal file ("87.110") can never be read x1000
_GERMAN_NUMBER = re.compile(r"^[+-]?\d+(?:,\d+)?$")


def to_number(
    df: pd.DataFrame, column: str, name: str, *, bounds: Bounds, unit: str, decimal: str = ".", allow_empty: bool = False
) -> pd.Series:
    """Parse ``column`` as float; ``decimal=','`` reads German numbers (``-14,35``); rule ``bad-number``; every
    value finite and within ``bounds`` (rules ``non-finite``, ``out-of-bounds``, :mod:`flexpower_dagster.lib.bounds`)."""
    s = df[column]
    empty = s == ""
    if decimal == ",":
        ok = s.str.match(_GERMAN_NUMBER)
        values = pd.to_numeric(s.where(ok).str.replace(",", ".", regex=False), errors="coerce")
    else:
        values = pd.to_numeric(s.where(~empty), errors="coerce")
    bad = values.isna() & ~(empty & allow_empty)
    sample = "1234,56" if decimal == "," else "1234.56"
    fail_first(df, bad, name, "bad-number", lambda r: f"column {column!r}: {excerpt(r[column])} is not a number (expected like {sample})")
    values = values.astype("float64")
    check_numbers(values, name, column, bounds, unit, rows=df[LINE])
    return values


def check_unique(df: pd.DataFrame, columns: Sequence[str], name: str, rule: str, what: str) -> None:
    """Raise ``rule`` for the first row repeating an earlier row's ``columns``."""
    dup = df.duplicated(subset=list(columns), keep="first")
    fail_first(df, dup, name, rule, lambda r: f"{what} {', '.join(str(r[c]) for c in columns)} appears more than once")
