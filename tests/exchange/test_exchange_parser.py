"""Trade export parser and source on the real sample files, plus bad-input and superseding cases."""

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from flexpower_dagster.defs.exchange import parser, sources
from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.landing.files import scan
from flexpower_dagster.lib.landing.load import load_day

DAY = date(2025, 6, 8)
T = pd.Timestamp
PRIVATE = "exchange/Private_Trades-20250608-20250609T000516000Z.csv"
PUBLIC = "exchange/Public_Trades-20250608-20250609T000516000Z.csv"
TITLE = "# Private Trades - 2025-06-08 - 2025-06-09T00:05:16.000Z;;;;;;;;\n"
HEADER = "TradeId;Side;DeliveryStart;DeliveryEnd;ExecutionTime;Price;Currency;Volume;VolumeUnit\n"


def row(trade_id="1", side="SELL", start="2025-06-08 10:00:00+00:00", end="2025-06-08 11:00:00+00:00",
        executed="2025-06-07 15:03:44.509000+00:00", price="50.5", volume="0.1") -> str:
    return f"{trade_id};{side};{start};{end};{executed};{price};EUR;{volume};MWH\n"


def write(root: Path, name: str, text: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def raises(rule: str, text: str, tmp_path: Path, name: str = PRIVATE) -> SourceFileError:
    path = write(tmp_path, name, text)
    with pytest.raises(SourceFileError) as exc:
        parser.parse_trades(path, name)
    assert exc.value.rule == rule, exc.value
    return exc.value


# ---------------------------------------------------------------------------------------------
# sample files


def test_private_trades_sample(sample_dir):
    df = parser.parse_trades(sample_dir / PRIVATE, PRIVATE)
    assert len(df) == 3349 and df["trade_id"].is_unique
    assert df["product"].value_counts().to_dict() == {"hourly": 2001, "quarter_hourly": 1348}
    assert set(df["side"]) == {"SELL"} and set(df["currency"]) == {"EUR"}
    first = df.iloc[0]
    assert first["trade_id"] == "2042884497" and first["side"] == "SELL" and first["product"] == "hourly"
    assert first["delivery_start"] == T("2025-06-08 00:00") and first["delivery_end"] == T("2025-06-08 01:00")
    assert first["price_eur_per_mwh"] == 81.29 and first["volume_mw"] == 0.1  # MW, although labelled MWH
    # fractional seconds present ...
    assert first["execution_time"] == T("2025-06-07 15:03:44.509")
    # ... and absent (line 6 of the file: '2025-06-07 20:20:00+00:00')
    plain = df.set_index("trade_id").loc["2043164356"]
    assert plain["execution_time"] == T("2025-06-07 20:20:00") and plain["product"] == "hourly"
    qh = df.loc[df["product"] == "quarter_hourly"]
    assert ((qh["delivery_end"] - qh["delivery_start"]) == pd.Timedelta(minutes=15)).all()


def test_public_trades_sample(sample_dir):
    # speed is measured by `make benchmark`, never asserted in a test (a shared CI machine is not a stopwatch)
    df = parser.parse_trades(sample_dir / PUBLIC, PUBLIC)
    assert len(df) == 53776 and df["trade_id"].is_unique
    assert df["product"].value_counts().to_dict() == {"hourly": 36038, "quarter_hourly": 17738}
    assert df["side"].value_counts().to_dict() == {"BUY": 26911, "SELL": 26865}
    assert df["execution_time"].dt.microsecond.iloc[0] == 704125
    mwh = df["volume_mw"] * df["product"].map({"hourly": 1.0, "quarter_hourly": 0.25})
    vwap = (mwh * df["price_eur_per_mwh"]).sum() / mwh.sum()
    assert 41 < vwap < 43  # "day VWAP about 42 EUR/MWh" (sample README)


def test_days_and_file_time_from_name(sample_dir):
    (f,) = scan(sample_dir, [sources.PRIVATE_TRADES]).files[sources.PRIVATE_TRADES.name]
    assert sources.PRIVATE_TRADES.days_covered(f) == {DAY}
    assert parser.export_time(f.basename) == datetime(2025, 6, 9, 0, 5, 16)
    load = load_day(sources.PUBLIC_TRADES, sample_dir, DAY)
    assert len(load.frame) == 53776 and not load.rejected
    assert set(load.frame["source_file"]) == {PUBLIC}


# ---------------------------------------------------------------------------------------------
# bad input


def test_empty_file(tmp_path):
    raises("empty-file", "", tmp_path)
    load = load_day(sources.PRIVATE_TRADES, tmp_path, DAY)
    assert [r.rule for r in load.rejected] == ["empty-file"]


def test_title_line(tmp_path):
    err = raises("title-line", HEADER + row(), tmp_path)  # title missing: the header is on line 1
    assert err.row == 1
    err = raises("title-line", TITLE.replace("Private", "Public") + HEADER + row(), tmp_path)
    assert "Public" in err.detail
    raises("title-line", TITLE.replace("2025-06-08 ", "2025-06-07 ") + HEADER + row(), tmp_path)


def test_missing_column(tmp_path):
    err = raises("missing-column", TITLE + HEADER.replace(";VolumeUnit", "") + row().rsplit(";", 1)[0] + "\n", tmp_path)
    assert err.row == 2 and "VolumeUnit" in err.detail


def test_unparseable_timestamp(tmp_path):
    err = raises("bad-timestamp", TITLE + HEADER + row() + row("2", start="08.06.2025 10:00"), tmp_path)
    assert err.row == 4 and "DeliveryStart" in err.detail
    err = raises("bad-timestamp", TITLE + HEADER + row(executed="soon"), tmp_path)
    assert err.row == 3 and "ExecutionTime" in err.detail


def test_product_side_and_value_rules(tmp_path):
    body = TITLE + HEADER
    assert raises("unknown-product", body + row(end="2025-06-08 10:30:00+00:00"), tmp_path).row == 3
    raises("product-grid", body + row(start="2025-06-08 10:15:00+00:00", end="2025-06-08 11:15:00+00:00"), tmp_path)
    raises("side", body + row(side="HOLD"), tmp_path)
    raises("bad-number", body + row(price="50,5"), tmp_path)
    raises("non-positive-volume", body + row(volume="0"), tmp_path)
    raises("volume-unit", body + row().replace("MWH", "KWH"), tmp_path)
    raises("duplicate-trade-id", body + row("7") + row("7"), tmp_path)
    raises("delivery-day-mismatch", body + row(start="2025-06-09 10:00:00+00:00", end="2025-06-09 11:00:00+00:00"), tmp_path)
    assert raises("malformed-row", body + row() + row().strip() + ";extra\n", tmp_path).row == 4


def test_header_only_export_means_no_trades(tmp_path):
    assert len(parser.parse_trades(write(tmp_path, PRIVATE, TITLE + HEADER), PRIVATE)) == 0


# ---------------------------------------------------------------------------------------------
# superseding and duplicates


def test_newer_export_supersedes_older_as_a_whole(tmp_path):
    older = "exchange/Private_Trades-20250608-20250608T220000000Z.csv"
    write(tmp_path, older, TITLE + HEADER + row("1") + row("2") + row("3", price="10"))
    write(tmp_path, PRIVATE, TITLE + HEADER + row("1") + row("3", price="12"))
    load = load_day(sources.PRIVATE_TRADES, tmp_path, DAY)
    assert load.superseded == [older] and load.files_used == [PRIVATE]
    got = load.frame.set_index("trade_id")
    assert sorted(got.index) == ["1", "3"]  # trade 2 is gone: it is not in the newest export
    assert got.loc["3", "price_eur_per_mwh"] == 12.0 and set(got["source_file"]) == {PRIVATE}


def test_broken_newest_export_falls_back_to_previous(tmp_path):
    older = "exchange/Private_Trades-20250608-20250608T220000000Z.csv"
    write(tmp_path, older, TITLE + HEADER + row("1"))
    write(tmp_path, PRIVATE, TITLE + HEADER + row("1", side="??"))
    load = load_day(sources.PRIVATE_TRADES, tmp_path, DAY)
    assert [r.rule for r in load.rejected] == ["side"] and load.files_used == [older]


def test_duplicate_delivery_loads_rows_once(tmp_path, sample_dir):
    data = (sample_dir / PRIVATE).read_bytes()
    copy = "exchange/Private_Trades-20250608-20250609T000516000Z (1).csv"
    write(tmp_path, PRIVATE, data)
    write(tmp_path, "exchange/Private_Trades-20250608-20250609T000517000Z.csv", data)  # same bytes, other name
    write(tmp_path, copy, data)  # does not match the naming pattern: ignored
    load = load_day(sources.PRIVATE_TRADES, tmp_path, DAY)
    assert len(load.frame) == 3349 and load.frame["trade_id"].is_unique
    assert load.duplicates == [(PRIVATE, "exchange/Private_Trades-20250608-20250609T000517000Z.csv")]
    assert scan(tmp_path, [sources.PRIVATE_TRADES]).unmatched == [copy]
