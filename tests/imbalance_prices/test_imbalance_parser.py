"""Imbalance price parsers and sources on the real sample files, plus bad-input cases."""

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from flexpower_dagster.defs.imbalance_prices import parser, sources
from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.landing.files import scan
from flexpower_dagster.lib.landing.load import load_day

DAY = date(2025, 6, 8)
T = pd.Timestamp
ESTIMATION = "imbalance/imbalance_price_estimation_2025-06-07T041800Z.csv"
FINAL = "imbalance/imbalance_price_final_20250608_170800.csv"
FINAL_HEADER = "Datum;Zeitzone;von;bis;Datenkategorie;Datentyp;Einheit;reBAP unterdeckt;reBAP ueberdeckt\n"
EST_HEADER = "Datum;Zeitzone;von;bis;Datenkategorie;Datentyp;Einheit;AEP-Schätzer;Status\n"


def final_row(von="00:00", bis="00:15", short="87,11", long="87,11", datum="08.06.2025", zone="UTC") -> str:
    return f"{datum};{zone};{von};{bis};reBAP;Qualitätsgesichert;EUR/MWh;{short};{long}\n"


def est_row(von="00:00", bis="00:15", price="10,00", datum="08.06.2025") -> str:
    return f"{datum};UTC;{von};{bis};AEP-Schätzer;Betrieblich;EUR/MWh;{price};0,00\n"


def write(root: Path, name: str, data: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def raises(rule: str, fn, path: Path, name: str) -> SourceFileError:
    with pytest.raises(SourceFileError) as exc:
        fn(path, name)
    assert exc.value.rule == rule, exc.value
    return exc.value


# ---------------------------------------------------------------------------------------------
# sample files


def test_estimation_sample(sample_dir):
    df = parser.parse_estimation(sample_dir / ESTIMATION, ESTIMATION)
    assert len(df) == 556
    first = df.iloc[0]
    assert first["delivery_start"] == T("2025-06-03 23:15") and first["price_eur_per_mwh"] == 144.24  # '144,24'
    assert first["status"] == "0,00" and first["published_at"] == T("2025-06-07 04:18")
    midnight = df.loc[df["delivery_start"] == T("2025-06-03 23:45")].iloc[0]
    assert midnight["delivery_end"] == T("2025-06-04 00:00")  # bis 00:00 = next day
    assert df["delivery_start"].is_unique
    (f,) = scan(sample_dir, [sources.ESTIMATES]).files[sources.ESTIMATES.name]
    assert sources.ESTIMATES.days_covered(f) == {date(2025, 6, d) for d in range(3, 10)}  # content, not the name
    load = load_day(sources.ESTIMATES, sample_dir, DAY)
    assert len(load.frame) == 96 and not load.rejected


def test_final_sample_lacks_ten_quarter_hours(sample_dir):
    df = parser.parse_final(sample_dir / FINAL, FINAL)
    assert len(df) == 86
    assert df.loc[df["delivery_start"] == T("2025-06-08 00:15"), "price_short_eur_per_mwh"].item() == -14.35
    assert df.loc[df["delivery_start"] == T("2025-06-08 00:45"), "price_long_eur_per_mwh"].item() == 39.10
    assert (df["published_at"] == T("2025-06-08 17:08")).all()
    grid = pd.date_range("2025-06-08", periods=96, freq="15min")
    missing = grid.difference(pd.DatetimeIndex(df["delivery_start"]))
    assert list(missing.strftime("%H:%M")) == [
        "02:00", "02:15", "02:30", "02:45", "03:00", "03:15", "03:30", "17:30", "17:45", "18:00"
    ]
    assert df["delivery_end"].iloc[-1] == T("2025-06-09 00:00")
    load = load_day(sources.FINAL, sample_dir, DAY)
    assert len(load.frame) == 86


def test_file_times():
    assert parser.estimation_time("imbalance_price_estimation_2025-06-07T041800Z.csv") == datetime(2025, 6, 7, 4, 18)
    assert parser.final_time("imbalance_price_final_20250608_170800.csv") == datetime(2025, 6, 8, 17, 8)
    assert parser.final_time("imbalance_price_final_20251399_170800.csv") == datetime.min  # never raises


# ---------------------------------------------------------------------------------------------
# bad input


def test_latin1_file_is_an_encoding_error(tmp_path, sample_dir):
    latin1 = (sample_dir / FINAL).read_text(encoding="utf-8").encode("latin-1")
    path = write(tmp_path, FINAL, latin1)
    err = raises("encoding", parser.parse_final, path, FINAL)
    assert err.row == 2 and "UTF-8" in err.detail  # line 2: 'Qualitätsgesichert'
    est = (sample_dir / ESTIMATION).read_text(encoding="utf-8").encode("latin-1")
    assert raises("encoding", parser.parse_estimation, write(tmp_path, ESTIMATION, est), ESTIMATION).row == 1
    load = load_day(sources.FINAL, tmp_path, DAY)  # days guessed from the name: the error is reported
    assert [r.rule for r in load.rejected] == ["encoding"] and not len(load.frame)


def test_empty_file(tmp_path):
    raises("empty-file", parser.parse_final, write(tmp_path, FINAL, ""), FINAL)
    raises("no-data-rows", parser.parse_final, write(tmp_path, FINAL, FINAL_HEADER), FINAL)


def test_missing_column(tmp_path):
    body = FINAL_HEADER.replace(";reBAP ueberdeckt", "") + final_row().rsplit(";", 1)[0] + "\n"
    err = raises("missing-column", parser.parse_final, write(tmp_path, FINAL, body), FINAL)
    assert err.row == 1 and "reBAP ueberdeckt" in err.detail


def test_timezone_must_be_utc(tmp_path):
    body = FINAL_HEADER + final_row() + final_row("00:15", "00:30", zone="CET")
    err = raises("timezone", parser.parse_final, write(tmp_path, FINAL, body), FINAL)
    assert err.row == 3 and "CET" in err.detail


def test_unparseable_date_time_and_number(tmp_path):
    body = FINAL_HEADER + final_row(datum="2025-06-08")
    assert raises("bad-date", parser.parse_final, write(tmp_path, FINAL, body), FINAL).row == 2
    body = FINAL_HEADER + final_row(von="0:00")
    raises("bad-time", parser.parse_final, write(tmp_path, FINAL, body), FINAL)
    body = FINAL_HEADER + final_row() + final_row("00:15", "00:30", short="87.11")  # '.' decimal: not German
    assert raises("bad-number", parser.parse_final, write(tmp_path, FINAL, body), FINAL).row == 3
    body = FINAL_HEADER + final_row("00:00", "00:30")
    raises("quarter-hour-duration", parser.parse_final, write(tmp_path, FINAL, body), FINAL)
    body = FINAL_HEADER + final_row() + final_row()
    assert raises("duplicate-quarter-hour", parser.parse_final, write(tmp_path, FINAL, body), FINAL).row == 3


def test_german_numbers_and_gaps(tmp_path):
    body = FINAL_HEADER + final_row(short="1234,5", long="-0,5") + final_row("00:15", "00:30", short="", long="")
    df = parser.parse_final(write(tmp_path, FINAL, body), FINAL)
    assert len(df) == 1  # the all-empty row is a gap (rule empty-price-gap)
    assert df["price_short_eur_per_mwh"].item() == 1234.5 and df["price_long_eur_per_mwh"].item() == -0.5
    body = FINAL_HEADER + final_row(short="87.110")  # never read as 87110
    raises("bad-number", parser.parse_final, write(tmp_path, FINAL, body), FINAL)


def test_newest_estimation_wins_per_quarter_hour(tmp_path):
    old = "imbalance/imbalance_price_estimation_2025-06-07T041800Z.csv"
    new = "imbalance/imbalance_price_estimation_2025-06-08T041800Z.csv"
    write(tmp_path, old, EST_HEADER + est_row("00:00", "00:15", "1,0") + est_row("00:15", "00:30", "2,0"))
    write(tmp_path, new, EST_HEADER + est_row("00:15", "00:30", "3,0"))
    load = load_day(sources.ESTIMATES, tmp_path, DAY)
    got = load.frame.set_index("delivery_start")["price_eur_per_mwh"]
    assert got.to_dict() == {T("2025-06-08 00:00"): 1.0, T("2025-06-08 00:15"): 3.0}


def test_duplicate_delivery_loads_rows_once(tmp_path, sample_dir):
    data = (sample_dir / FINAL).read_bytes()
    write(tmp_path, FINAL, data)
    write(tmp_path, "imbalance/imbalance_price_final_20250608_170900.csv", data)
    load = load_day(sources.FINAL, tmp_path, DAY)
    assert len(load.frame) == 86 and len(load.duplicates) == 1
