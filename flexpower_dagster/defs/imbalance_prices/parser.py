"""Parsers for the imbalance price CSVs (pure: no Dagster).

``imbalance_price_estimation_<YYYY-MM-DDTHHMMSSZ>.csv`` (estimate, several days) and
``imbalance_price_final_<YYYYMMDD_HHMMSS>.csv`` (final reBAP, may have gaps). Rules (name -> quirk /
check), each raising :class:`SourceFileError` with the 1-based line:

* ``encoding`` — the file must be UTF-8 (the headers hold ``ä``); a Latin-1 file is rejected with the
  line of the first bad byte instead of producing mangled column names;
* ``missing-column`` — German headers ``Datum;Zeitzone;von;bis;Datenkategorie;Datentyp;Einheit`` plus
  ``AEP-Schätzer`` (estimate, optional ``Status``) or ``reBAP unterdeckt`` / ``reBAP ueberdeckt`` (final);
* ``semicolon-comma-decimal`` — ``;``-separated, ``,`` decimals (``-14,35``); a ``.`` (decimal or thousands) is refused so a ``.``-decimal file can never be misread,
  anything else ``bad-number``;
* ``german-date`` — ``Datum`` is ``dd.mm.yyyy`` (``bad-date`` otherwise);
* ``timezone-utc`` — ``Zeitzone`` must be ``UTC``; any other zone is rule ``timezone`` (never guessed);
* ``von-bis`` — ``von``/``bis`` are ``HH:MM`` (``bad-time``); ``bis`` 00:00 means midnight of the next
  day (``bis-midnight``); the interval must be one quarter-hour (``quarter-hour-duration``) on the grid
  (``quarter-hour-grid``);
* ``unit`` — ``Einheit`` must be ``EUR/MWh``;
* ``empty-price-gap`` — a row whose price cells are all empty is a gap (dropped), a single empty cell
  is NULL; ``duplicate-quarter-hour`` — a QH appears once per file;
* ``published-at-from-name`` — ``published_at`` is the instant in the file name (UTC).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from flexpower_dagster.lib.bounds import SETTLEMENT_PRICE
from flexpower_dagster.lib.csvparse import check_unique, fail_first, read_table, read_text, require_values, to_number
from flexpower_dagster.lib.errors import SourceFileError

QH = pd.Timedelta(minutes=15)

ESTIMATION_NAME = re.compile(r"imbalance_price_estimation_(?P<ts>\d{4}-\d{2}-\d{2}T\d{6}Z)\.csv")
FINAL_NAME = re.compile(r"imbalance_price_final_(?P<ts>\d{8}_\d{6})\.csv")

BASE_COLUMNS = ["Datum", "Zeitzone", "von", "bis", "Datenkategorie", "Datentyp", "Einheit"]
ESTIMATE_COLUMN = "AEP-Schätzer"
SHORT_COLUMN = "reBAP unterdeckt"
LONG_COLUMN = "reBAP ueberdeckt"


def _basename(name: str) -> str:
    return str(name).replace("\\", "/").rsplit("/", 1)[-1]


def estimation_time(basename: str) -> datetime:
    """``imbalance_price_estimation_2025-06-07T041800Z.csv`` -> 2025-06-07 04:18:00 (UTC); min if invalid."""
    m = ESTIMATION_NAME.fullmatch(basename)
    try:
        return datetime.strptime(m.group("ts"), "%Y-%m-%dT%H%M%SZ") if m else datetime.min
    except ValueError:
        return datetime.min


def final_time(basename: str) -> datetime:
    """``imbalance_price_final_20250608_170800.csv`` -> 2025-06-08 17:08:00 (UTC); min if invalid."""
    m = FINAL_NAME.fullmatch(basename)
    try:
        return datetime.strptime(m.group("ts"), "%Y%m%d_%H%M%S") if m else datetime.min
    except ValueError:
        return datetime.min


def _published_at(name: str, pattern: re.Pattern[str], fn) -> datetime:
    base = _basename(name)
    t = fn(base) if pattern.fullmatch(base) else datetime.min
    if t == datetime.min:
        raise SourceFileError(name, "file-name", f"the file name does not match {pattern.pattern} with a valid time")
    return t


def _read(path: Path | str, name: str, price_columns: list[str]) -> tuple[pd.DataFrame, pd.Series, pd.Series, dict[str, pd.Series]]:
    """Common part: quarter-hours (start, end) and the parsed price columns (gap rows dropped)."""
    text = read_text(path, name, complete_lines=True)  # rule encoding
    df = read_table(text, name, sep=";", required=[*BASE_COLUMNS, *price_columns])
    require_values(df, ["Datum", "Zeitzone", "von", "bis", "Einheit"], name)

    fail_first(
        df, df["Zeitzone"] != "UTC", name, "timezone", lambda r: f"Zeitzone must be UTC, found {r['Zeitzone']!r} (other zones are not converted)"
    )
    fail_first(df, df["Einheit"] != "EUR/MWh", name, "unit", lambda r: f"Einheit must be EUR/MWh, found {r['Einheit']!r}")

    day = pd.to_datetime(df["Datum"], format="%d.%m.%Y", errors="coerce")
    fail_first(df, day.isna(), name, "bad-date", lambda r: f"Datum {r['Datum']!r} is not a date like 08.06.2025 (dd.mm.yyyy)")
    von = pd.to_timedelta(df["von"].where(df["von"].str.fullmatch(r"\d{2}:\d{2}")) + ":00", errors="coerce")
    bis = pd.to_timedelta(df["bis"].where(df["bis"].str.fullmatch(r"\d{2}:\d{2}")) + ":00", errors="coerce")
    bad_time = von.isna() | bis.isna() | (von >= pd.Timedelta(days=1)) | (bis >= pd.Timedelta(days=1))
    fail_first(df, bad_time, name, "bad-time", lambda r: f"von/bis must be HH:MM, found {r['von']!r} / {r['bis']!r}")

    start = (day + von).astype("datetime64[ns]")
    end = (day + bis).astype("datetime64[ns]")
    end = end.where(end > start, end + pd.Timedelta(days=1))  # rule bis-midnight: bis 00:00 = next day
    off = (start.dt.minute % 15 != 0)
    fail_first(df, off, name, "quarter-hour-grid", lambda r: f"von {r['von']!r} is not the start of a quarter-hour")
    fail_first(df, (end - start) != QH, name, "quarter-hour-duration", lambda r: f"von {r['von']} .. bis {r['bis']} is not one quarter-hour")

    prices = {
        c: to_number(df, c, name, bounds=SETTLEMENT_PRICE, unit="EUR/MWh", decimal=",", allow_empty=True) for c in price_columns
    }
    gap = pd.concat([p.isna() for p in prices.values()], axis=1).all(axis=1)  # rule empty-price-gap
    df["_start"] = start
    keep = ~gap
    df, start, end = df.loc[keep], start.loc[keep], end.loc[keep]
    prices = {c: p.loc[keep] for c, p in prices.items()}
    check_unique(df, ["_start"], name, "duplicate-quarter-hour", "quarter-hour starting")
    return df, start, end, prices


def parse_estimation(path: Path | str, name: str) -> pd.DataFrame:
    """Estimated imbalance price (AEP-Schätzer) per QH, with the file's Status and publication time."""
    published = _published_at(name, ESTIMATION_NAME, estimation_time)
    df, start, end, prices = _read(path, name, [ESTIMATE_COLUMN])
    status = df["Status"].astype("object") if "Status" in df.columns else pd.Series([None] * len(df), index=df.index, dtype="object")
    return pd.DataFrame(
        {
            "delivery_start": start,
            "delivery_end": end,
            "price_eur_per_mwh": prices[ESTIMATE_COLUMN],
            "status": status.where(status != "", None),
            "published_at": pd.Series(pd.Timestamp(published), index=df.index, dtype="datetime64[ns]"),
        }
    ).reset_index(drop=True)


def parse_final(path: Path | str, name: str) -> pd.DataFrame:
    """Final reBAP per QH: short price (unterdeckt) and long price (ueberdeckt)."""
    published = _published_at(name, FINAL_NAME, final_time)
    df, start, end, prices = _read(path, name, [SHORT_COLUMN, LONG_COLUMN])
    return pd.DataFrame(
        {
            "delivery_start": start,
            "delivery_end": end,
            "price_short_eur_per_mwh": prices[SHORT_COLUMN],
            "price_long_eur_per_mwh": prices[LONG_COLUMN],
            "published_at": pd.Series(pd.Timestamp(published), index=df.index, dtype="datetime64[ns]"),
        }
    ).reset_index(drop=True)


def guess_estimation_days(basename: str) -> frozenset[date]:
    """Fallback when the content is unreadable: the estimation's day and the next one."""
    t = estimation_time(basename)
    return frozenset() if t == datetime.min else frozenset({t.date(), t.date() + timedelta(days=1)})


def guess_final_days(basename: str) -> frozenset[date]:
    """Fallback when the content is unreadable: the publication day (finals are published on the day)."""
    t = final_time(basename)
    return frozenset() if t == datetime.min else frozenset({t.date()})
