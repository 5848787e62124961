"""Parser for the EPEX trade exports (pure: no Dagster, vectorised: ~54k public trades well under 1 s).

``Private_Trades-YYYYMMDD-<export time>.csv`` / ``Public_Trades-YYYYMMDD-<export time>.csv``; rules
(name -> quirk / check), each raising :class:`SourceFileError` with the 1-based line:

* ``title-line`` — line 1 is a title ``# Private Trades - <delivery day> - <export time>;;;;;;;;``; its
  kind (Private/Public) and delivery day must match the file name;
* ``missing-column`` — line 2 is the header
  ``TradeId;Side;DeliveryStart;DeliveryEnd;ExecutionTime;Price;Currency;Volume;VolumeUnit``;
* ``semicolon-dot-decimal`` — ``;``-separated, ``.`` decimals (``bad-number`` otherwise);
* ``utc-timestamps`` — UTC timestamps whose fractional seconds are sometimes absent (both parse;
  an explicit other offset is converted to UTC); ``bad-timestamp`` when unparseable;
* ``product-from-duration`` — DeliveryEnd - DeliveryStart of 60 min = ``hourly``, 15 min =
  ``quarter_hourly``, anything else ``unknown-product``; the start must be on the product's grid
  (``product-grid``);
* ``side`` — BUY or SELL; ``currency`` — EUR;
* ``volume-is-mw`` — the file labels Volume ``MWH`` but it is MW (the exchange documents MW); the
  label must be MWH or MW (``volume-unit``), the volume > 0 (``non-positive-volume``);
* ``delivery-day-mismatch`` — every trade's DeliveryStart lies in the delivery day of the name;
* ``duplicate-trade-id`` — a trade id appears once per export; ``missing-value`` for empty fields.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from flexpower_dagster.lib.bounds import EXCHANGE_PRICE, TRADE_MW
from flexpower_dagster.lib.csvparse import (
    LINE,
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
from flexpower_dagster.lib.identifiers import require_identifiers

TRADES_NAME = re.compile(
    r"(?P<kind>Private|Public)_Trades-(?P<day>\d{8})-(?P<export>\d{8}T\d{6}\d{0,6}Z?)\.csv"
)
PRIVATE_TRADES_NAME = re.compile(r"Private_Trades-(?P<day>\d{8})-(?P<export>\d{8}T\d{6}\d{0,6}Z?)\.csv")
PUBLIC_TRADES_NAME = re.compile(r"Public_Trades-(?P<day>\d{8})-(?P<export>\d{8}T\d{6}\d{0,6}Z?)\.csv")

COLUMNS = ["TradeId", "Side", "DeliveryStart", "DeliveryEnd", "ExecutionTime", "Price", "Currency", "Volume", "VolumeUnit"]
_TITLE = re.compile(r"#\s*(?P<kind>Private|Public) Trades\s*-\s*(?P<day>\d{4}-\d{2}-\d{2})\s*-\s*(?P<export>[^;]*?)\s*;*\s*")
PRODUCTS = {pd.Timedelta(minutes=60): "hourly", pd.Timedelta(minutes=15): "quarter_hourly"}


def _basename(name: str) -> str:
    return str(name).replace("\\", "/").rsplit("/", 1)[-1]


def delivery_day_of(basename: str) -> date | None:
    """The delivery day in the file name (``Private_Trades-20250608-...`` -> 2025-06-08), None if invalid."""
    m = TRADES_NAME.fullmatch(basename)
    try:
        return datetime.strptime(m.group("day"), "%Y%m%d").date() if m else None
    except ValueError:
        return None


def export_time(basename: str) -> datetime:
    """The export instant in the file name (``20250609T000516000Z``); ``datetime.min`` if invalid."""
    m = TRADES_NAME.fullmatch(basename)
    if not m:
        return datetime.min
    raw = m.group("export").rstrip("Z")
    try:
        base = datetime.strptime(raw[:15], "%Y%m%dT%H%M%S")
    except ValueError:
        return datetime.min
    frac = raw[15:]
    return base + timedelta(microseconds=int(frac.ljust(6, "0"))) if frac else base


def parse_trades(path: Path | str, name: str) -> pd.DataFrame:
    """Trades of one delivery-day export: one row per trade, volume in MW."""
    base = _basename(name)
    m = TRADES_NAME.fullmatch(base)
    day = delivery_day_of(base)
    if not m or day is None:
        raise SourceFileError(name, "file-name", f"the file name does not match {TRADES_NAME.pattern} with a valid date")
    kind = m.group("kind")
    text = read_text(path, name, complete_lines=True)

    title = first_line(text)
    t = _TITLE.fullmatch(title)
    if not t:
        raise SourceFileError(name, "title-line", f"line 1 must be a title like '# {kind} Trades - {day} - <export time>;;;;;;;;', found {excerpt(title)}", row=1)
    if t.group("kind") != kind or t.group("day") != day.isoformat():
        raise SourceFileError(
            name, "title-line", f"title says {t.group('kind')} trades of {t.group('day')}, the file name {kind} trades of {day}", row=1
        )

    df = read_table(text, name, sep=";", required=COLUMNS, header_line=2, allow_empty=True)
    require_values(df, ["TradeId", "Side", "DeliveryStart", "DeliveryEnd", "Price", "Currency", "Volume", "VolumeUnit"], name)

    side = df["Side"]
    fail_first(df, ~side.isin(["BUY", "SELL"]), name, "side", lambda r: f"Side must be BUY or SELL, found {r['Side']!r}")
    fail_first(df, df["Currency"] != "EUR", name, "currency", lambda r: f"Currency must be EUR, found {r['Currency']!r}")
    fail_first(
        df,
        ~df["VolumeUnit"].isin(["MWH", "MW"]),
        name,
        "volume-unit",
        lambda r: f"VolumeUnit must be MWH (meaning MW) or MW, found {r['VolumeUnit']!r}",
    )

    start = to_instant(df, "DeliveryStart", name, expected="a UTC timestamp like '2025-06-08 00:00:00+00:00'")
    end = to_instant(df, "DeliveryEnd", name, expected="a UTC timestamp like '2025-06-08 01:00:00+00:00'")
    execution = df["ExecutionTime"].where(df["ExecutionTime"] != "")
    executed = pd.to_datetime(execution, format="ISO8601", errors="coerce", utc=True)
    fail_first(
        df,
        executed.isna() & execution.notna(),
        name,
        "bad-timestamp",
        lambda r: f"column 'ExecutionTime': {r['ExecutionTime']!r} is not a UTC timestamp like '2025-06-07 15:03:44.509000+00:00'",
    )
    executed = executed.dt.tz_localize(None).astype("datetime64[ns]")

    product = (end - start).map(PRODUCTS)
    fail_first(
        df,
        product.isna(),
        name,
        "unknown-product",
        lambda r: f"delivery {r['DeliveryStart']} .. {r['DeliveryEnd']} is neither an hourly (60 min) nor a quarter-hourly (15 min) product",
    )
    step = product.map({"hourly": 60, "quarter_hourly": 15})
    off_grid = (start.dt.minute % step != 0) | (start.dt.second != 0) | (start.dt.microsecond != 0)
    fail_first(df, off_grid, name, "product-grid", lambda r: f"DeliveryStart {r['DeliveryStart']} is not on the product's grid")

    day_start = pd.Timestamp(day)
    outside = (start < day_start) | (start >= day_start + pd.Timedelta(days=1))
    fail_first(
        df, outside, name, "delivery-day-mismatch", lambda r: f"DeliveryStart {r['DeliveryStart']} is not on the delivery day {day} of the file name"
    )

    price = to_number(df, "Price", name, bounds=EXCHANGE_PRICE, unit="EUR/MWh")
    volume = to_number(df, "Volume", name, bounds=TRADE_MW, unit="MW")  # rule volume-is-mw
    fail_first(df, volume <= 0, name, "non-positive-volume", lambda r: f"Volume must be > 0, found {r['Volume']!r}")
    require_identifiers(df["TradeId"], df[LINE], name, "TradeId")
    check_unique(df, ["TradeId"], name, "duplicate-trade-id", "trade id")

    return pd.DataFrame(
        {
            "trade_id": df["TradeId"].astype("object"),
            "side": side.astype("object"),
            "product": product.astype("object"),
            "delivery_start": start,
            "delivery_end": end,
            "execution_time": executed,
            "price_eur_per_mwh": price,
            "volume_mw": volume,
            "currency": df["Currency"].astype("object"),
        }
    )
