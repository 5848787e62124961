"""Parsers for the DSO files (pure: no Dagster). Each returns the staging columns except lineage.

Rules (name -> quirk / check), each raising :class:`SourceFileError` with the 1-based line:

Final production ``final_production_<MP>_YYYYMMDD.csv`` (the name date is the delivery date + 1):
* ``final-production-header`` — header is exactly ``delivery_start__utc_,<MP>__kw_``;
* ``metering-point-mismatch`` — the MP in the header must be the MP in the file name;
* ``utc-suffix`` — timestamps look like ``2025-06-08 00:00:00.000000 UTC``; the ``UTC`` suffix is
  required and stripped (``bad-timestamp`` when the rest does not parse);
* ``quarter-hour-grid`` — delivery_start on :00/:15/:30/:45 (delivery_end = start + 15 min);
* ``kw-to-mw`` — power arrives in kW: ``mw = kw / 1000``, ``mwh = mw * 0.25``;
* ``duplicate-quarter-hour`` — a QH appears once per file; ``bad-number`` / ``missing-value``;
* ``incomplete-day`` (the source's completeness rule, :func:`check_whole_day`, run by the load) — a
  final-production file holds every QH of its day: the 96 of the UTC day, or the 92/96/100 of the
  German local day (DST); fewer means the file is cut short (a stalled copy) and it is not used.

Redispatch flags ``redispatch_flag_<MP>_YYYYMMDD_HHMM.csv``:
* header ``delivery_start,delivery_end,is_redispatched`` (``missing-column``);
* ``bad-timestamp`` — ISO 8601 ``Z`` timestamps; ``quarter-hour-duration`` — end = start + 15 min;
* ``redispatch-flag`` — ``is_redispatched`` is 0 or 1 (-> boolean, 1 = switched off);
* ``metering-point-from-name`` — the MP is taken from the file name (the content does not carry it).

Redispatch compensation ``redispatch_compensation_YYYY-MM-DD.csv``:
* header ``delivery_start__utc_,delivery_end__utc_,price__euro_per_mwh_``; ``utc-suffix``;
  ``quarter-hour-duration``; ``quarter-hour-grid``; ``bad-number``; ``duplicate-quarter-hour``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from flexpower_dagster.lib.bounds import POWER_MW, SETTLEMENT_PRICE, Bounds
from flexpower_dagster.lib.csvparse import (
    check_header_unique,
    check_unique,
    fail_first,
    first_line,
    read_table,
    read_text,
    require_values,
    to_instant,
    to_number,
)
from flexpower_dagster.lib.errors import SourceFileError, excerpt
from flexpower_dagster.lib.identifiers import require_identifier

#: The final production is delivered in kW.
POWER_KW = Bounds(POWER_MW.lo * 1000, POWER_MW.hi * 1000, POWER_MW.why)

QH = pd.Timedelta(minutes=15)

FINAL_PRODUCTION_NAME = re.compile(r"final_production_(?P<mp>[A-Za-z0-9][A-Za-z0-9_.-]*?)_(?P<date>\d{8})\.csv")
REDISPATCH_FLAG_NAME = re.compile(r"redispatch_flag_(?P<mp>[A-Za-z0-9][A-Za-z0-9_.-]*?)_(?P<date>\d{8})_(?P<time>\d{4})\.csv")
COMPENSATION_NAME = re.compile(r"redispatch_compensation_(?P<date>\d{4}-\d{2}-\d{2})\.csv")

_HEADER_KW = re.compile(r"(?P<mp>.+)__kw_")


def _basename(name: str) -> str:
    return str(name).replace("\\", "/").rsplit("/", 1)[-1]


def _match(pattern: re.Pattern[str], name: str) -> re.Match[str]:
    m = pattern.fullmatch(_basename(name))
    if not m:
        raise SourceFileError(name, "file-name", f"the file name does not match {pattern.pattern}")
    return m


def name_date(s: str, fmt: str) -> date | None:
    try:
        return datetime.strptime(s, fmt).date()
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# file times (newer file wins) — from the name, never raising


def final_production_time(basename: str) -> datetime:
    m = FINAL_PRODUCTION_NAME.fullmatch(basename)
    d = name_date(m.group("date"), "%Y%m%d") if m else None
    return datetime(d.year, d.month, d.day) if d else datetime.min


def redispatch_flag_time(basename: str) -> datetime:
    m = REDISPATCH_FLAG_NAME.fullmatch(basename)
    try:
        return datetime.strptime(m.group("date") + m.group("time"), "%Y%m%d%H%M") if m else datetime.min
    except ValueError:
        return datetime.min


def compensation_time(basename: str) -> datetime:
    m = COMPENSATION_NAME.fullmatch(basename)
    d = name_date(m.group("date"), "%Y-%m-%d") if m else None
    return datetime(d.year, d.month, d.day) if d else datetime.min


# ---------------------------------------------------------------------------------------------
# shared checks


def _utc_instant(df: pd.DataFrame, column: str, name: str) -> pd.Series:
    """Rule ``utc-suffix``: ``2025-06-08 00:00:00.000000 UTC`` -> naive UTC instant."""
    s = df[column]
    fail_first(
        df,
        ~s.str.endswith(" UTC"),
        name,
        "utc-suffix",
        lambda r: f"column {column!r}: {r[column]!r} does not end in ' UTC' (expected like '2025-06-08 00:00:00.000000 UTC')",
    )
    stripped = df.assign(**{column: s.str.slice(0, -4)})
    return to_instant(stripped, column, name, expected="a timestamp like '2025-06-08 00:00:00.000000 UTC'")


def _check_grid(df: pd.DataFrame, start: pd.Series, name: str, column: str) -> None:
    off = (start.dt.minute % 15 != 0) | (start.dt.second != 0) | (start.dt.microsecond != 0)
    fail_first(df, off, name, "quarter-hour-grid", lambda r: f"column {column!r}: {r[column]!r} is not the start of a quarter-hour")


def _check_duration(df: pd.DataFrame, start: pd.Series, end: pd.Series, name: str) -> None:
    fail_first(
        df,
        (end - start) != QH,
        name,
        "quarter-hour-duration",
        lambda r: f"delivery_end must be delivery_start + 15 minutes (row: {r.get('delivery_start', '')} .. {r.get('delivery_end', '')})",
    )


# ---------------------------------------------------------------------------------------------
# final production


def parse_final_production(path: Path | str, name: str) -> pd.DataFrame:
    """Final measured power per QH of one metering point (kW -> MW, mwh = mw * 0.25)."""
    mp_name = require_identifier(_match(FINAL_PRODUCTION_NAME, name).group("mp"), name, "metering point")
    text = read_text(path, name, complete_lines=True)
    header = [c.strip() for c in first_line(text).split(",")]
    check_header_unique(header, name, row=1)
    m = _HEADER_KW.fullmatch(header[1]) if len(header) == 2 else None
    if len(header) != 2 or header[0] != "delivery_start__utc_" or not m:
        raise SourceFileError(
            name,
            "final-production-header",
            f"header must be 'delivery_start__utc_,<metering point>__kw_', found {excerpt(first_line(text))}",
            row=1,
        )
    mp_header = m.group("mp")
    if mp_header != mp_name:
        raise SourceFileError(
            name, "metering-point-mismatch", f"header names metering point {mp_header!r}, the file name {mp_name!r}", row=1
        )
    fast = _final_production_plain(text)
    if fast is not None:
        start, kw = fast
        return _final_production_frame(mp_header, start, kw / 1000.0)  # rule kw-to-mw
    kw_col = header[1]
    df = read_table(text, name, sep=",", required=["delivery_start__utc_", kw_col])
    require_values(df, ["delivery_start__utc_", kw_col], name)
    start = _utc_instant(df, "delivery_start__utc_", name)
    _check_grid(df, start, name, "delivery_start__utc_")
    kw = to_number(df, kw_col, name, bounds=POWER_KW, unit="kW")
    df["_start"] = start
    check_unique(df, ["_start"], name, "duplicate-quarter-hour", "quarter-hour")
    return _final_production_frame(mp_header, start, kw / 1000.0)  # rule kw-to-mw


def _final_production_frame(mp: str, start: pd.Series | np.ndarray, mw: pd.Series | np.ndarray) -> pd.DataFrame:
    start = pd.Series(start, dtype="datetime64[ns]").reset_index(drop=True)
    mw = pd.Series(np.asarray(mw, dtype="float64"))
    return pd.DataFrame(
        {
            "metering_point_id": mp,
            "asset_id": pd.Series([None] * len(start), dtype="object"),
            "delivery_start": start,
            "delivery_end": start + QH,
            "mw": mw,
            "mwh": mw * 0.25,
        }
    )


#: A data row of a final-production file in its plain, canonical form (what the DSO sends).
_PLAIN_FINAL_ROW = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}) UTC,(-?\d{1,9}(?:\.\d{1,12})?)")
_QH_NS = 15 * 60 * 10**9


def _final_production_plain(text: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows of a final-production file whose every data line is in the plain canonical form, on the
    quarter-hour grid, unique and within bounds: (starts as ``datetime64[ns]``, kW), without pandas' per-file
    cost (~10 ms a file, a fifth of a 1,000-asset day). Anything else — another spelling, a blank or CRLF line,
    a bad date, a value out of bounds — returns None and the full parser applies every rule and names the row,
    so this only ever accepts files that the full parser accepts, with the same values
    (``tests/dso/test_dso_parsers.py``)."""
    lines = text.split("\n")[1:]
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return None
    matches = [_PLAIN_FINAL_ROW.fullmatch(line) for line in lines]
    if not all(matches):
        return None
    try:
        start = np.array([m.group(1) for m in matches], dtype="datetime64[ns]")
    except ValueError:  # e.g. month 13: the full parser names the row
        return None
    kw = pd.to_numeric(pd.Series([m.group(2) for m in matches], dtype="object")).to_numpy(dtype="float64")
    ns = start.astype("int64")
    if (ns % _QH_NS != 0).any() or len(np.unique(ns)) != len(ns):
        return None
    if not (np.isfinite(kw).all() and ((kw >= POWER_KW.lo) & (kw <= POWER_KW.hi)).all()):
        return None
    return start, kw


#: the local day of the DSO's metering (a day has 92, 96 or 100 quarter-hours)
LOCAL_TZ = "Europe/Berlin"


def day_quarter_hours(day: date) -> dict[str, np.ndarray]:
    """The QH starts (naive UTC ``datetime64[ns]``) of ``day`` as a UTC day (96) and as a local day (92/96/100)."""
    utc0 = pd.Timestamp(day)
    local0, local1 = (pd.Timestamp(d).tz_localize(LOCAL_TZ).tz_convert("UTC").tz_localize(None)
                      for d in (day, day + pd.Timedelta(days=1)))
    return {
        "UTC": pd.date_range(utc0, periods=96, freq="15min").to_numpy(),
        LOCAL_TZ: pd.date_range(local0, local1, freq="15min", inclusive="left").to_numpy(),
    }


def check_whole_day(frame: pd.DataFrame, name: str) -> None:
    """Rule ``incomplete-day``: a final-production file covers a whole day — every QH of the UTC day of its first
    QH (a file starting at 00:00Z), or of the local day that starts there (22:00Z/23:00Z: 92, 96 or 100 QHs with
    the clock change). A stalled copy cut at a line end parses cleanly and would otherwise be read as complete."""
    if not len(frame):
        return
    starts = pd.to_datetime(frame["delivery_start"]).to_numpy(dtype="datetime64[ns]")
    first = pd.Timestamp(starts.min())
    day = (first + pd.Timedelta(days=1) if first.hour >= 12 else first).date()  # local midnight is the evening before
    grids = day_quarter_hours(day)
    if any(np.isin(grid, starts).all() for grid in grids.values()):
        return
    local = grids[LOCAL_TZ]
    missing = local[~np.isin(local, starts)] if first.hour >= 12 else grids["UTC"][~np.isin(grids["UTC"], starts)]
    raise SourceFileError(
        name,
        "incomplete-day",
        f"{len(np.unique(starts))} quarter-hours where the day {day} has {len(grids['UTC'])} (UTC) or {len(local)} "
        f"(local, {LOCAL_TZ}); first missing {pd.Timestamp(missing[0])} UTC: the file is incomplete (cut off or "
        "still being written) and is not used",
    )


# ---------------------------------------------------------------------------------------------
# redispatch flags


def parse_redispatch_flags(path: Path | str, name: str) -> pd.DataFrame:
    """QHs of one metering point with the redispatch flag (1 = switched off -> True)."""
    mp = require_identifier(_match(REDISPATCH_FLAG_NAME, name).group("mp"), name, "metering point")  # rule metering-point-from-name
    text = read_text(path, name, complete_lines=True)
    cols = ["delivery_start", "delivery_end", "is_redispatched"]
    df = read_table(text, name, sep=",", required=cols, allow_empty=True)
    require_values(df, cols, name)
    start = to_instant(df, "delivery_start", name, expected="an ISO 8601 timestamp like '2025-06-08T10:15:00Z'")
    end = to_instant(df, "delivery_end", name, expected="an ISO 8601 timestamp like '2025-06-08T10:30:00Z'")
    _check_grid(df, start, name, "delivery_start")
    _check_duration(df, start, end, name)
    flag = df["is_redispatched"]
    fail_first(
        df, ~flag.isin(["0", "1"]), name, "redispatch-flag", lambda r: f"is_redispatched must be 0 or 1, found {r['is_redispatched']!r}"
    )
    df["_start"] = start
    check_unique(df, ["_start"], name, "duplicate-quarter-hour", "quarter-hour")
    return pd.DataFrame(
        {
            "metering_point_id": pd.Series([mp] * len(df), dtype="object"),
            "asset_id": pd.Series([None] * len(df), dtype="object"),
            "delivery_start": start,
            "delivery_end": end,
            "is_redispatched": (flag == "1").astype("boolean"),
        }
    )


# ---------------------------------------------------------------------------------------------
# redispatch compensation


def parse_redispatch_compensation(path: Path | str, name: str) -> pd.DataFrame:
    """Compensation price (EUR/MWh) per QH."""
    _match(COMPENSATION_NAME, name)
    text = read_text(path, name, complete_lines=True)
    cols = ["delivery_start__utc_", "delivery_end__utc_", "price__euro_per_mwh_"]
    df = read_table(text, name, sep=",", required=cols)
    require_values(df, cols, name)
    start = _utc_instant(df, "delivery_start__utc_", name)
    end = _utc_instant(df, "delivery_end__utc_", name)
    _check_grid(df, start, name, "delivery_start__utc_")
    _check_duration(df.rename(columns={"delivery_start__utc_": "delivery_start", "delivery_end__utc_": "delivery_end"}), start, end, name)
    price = to_number(df, "price__euro_per_mwh_", name, bounds=SETTLEMENT_PRICE, unit="EUR/MWh")
    df["_start"] = start
    check_unique(df, ["_start"], name, "duplicate-quarter-hour", "quarter-hour")
    return pd.DataFrame({"delivery_start": start, "delivery_end": end, "price_eur_per_mwh": price})
