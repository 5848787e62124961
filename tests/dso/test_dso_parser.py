"""DSO parsers and sources on the real sample files, plus bad-input cases."""

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from flexpower_dagster.defs.dso import parser, sources
from flexpower_dagster.defs.dso.metering import metering_point_validator
from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.landing.files import scan
from flexpower_dagster.lib.landing.load import load_day

DAY = date(2025, 6, 8)
T = pd.Timestamp
FOLDER = "distribution_system_operator"
FINAL_WND2 = f"{FOLDER}/final_production_MP-WND-002_20250609.csv"
FLAGS = f"{FOLDER}/redispatch_flag_MP-WND-003_20250609_1201.csv"
COMPENSATION = f"{FOLDER}/redispatch_compensation_2025-06-20.csv"

CONTRACTS = pd.DataFrame(
    {
        "contract_id": ["C1", "C2", "C3", "C4", "C5"],
        "asset_id": ["SOL-DE-001", "SOL-DE-002", "WND-DE-001", "WND-DE-002", "WND-DE-003"],
        "metering_point_id": ["MP-SOL-001", "MP-SOL-002", "MP-WND-001", "MP-WND-002", "MP-WND-003"],
    }
)
VALIDATE_FINAL = metering_point_validator(header_row=1)(DAY, {"crm_contracts": CONTRACTS})


def write(root: Path, name: str, text: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def raises(rule: str, fn, *args) -> SourceFileError:
    with pytest.raises(SourceFileError) as exc:
        fn(*args)
    assert exc.value.rule == rule, exc.value
    return exc.value


# ---------------------------------------------------------------------------------------------
# sample files


def test_final_production_sample(sample_dir):
    df = parser.parse_final_production(sample_dir / FINAL_WND2, FINAL_WND2)
    assert len(df) == 96
    assert set(df["metering_point_id"]) == {"MP-WND-002"}
    first = df.iloc[0]
    assert first["delivery_start"] == T("2025-06-08 00:00") and first["delivery_end"] == T("2025-06-08 00:15")
    assert first["mw"] == pytest.approx(3.149764)  # 3149.764 kW (rule kw-to-mw)
    assert first["mwh"] == pytest.approx(3.149764 * 0.25)
    assert df["delivery_start"].iloc[-1] == T("2025-06-08 23:45")
    assert df["mw"].iloc[-1] == pytest.approx(3.40558)


def test_all_final_files_cover_the_sample_day(sample_dir):
    inv = scan(sample_dir, [sources.FINAL_PRODUCTION])
    files, unmatched = inv.files[sources.FINAL_PRODUCTION.name], inv.unmatched
    assert len(files) == 4 and not [u for u in unmatched if "final_production" in u]
    assert all(sources.FINAL_PRODUCTION.days_covered(f) == {DAY} for f in files)  # content, not the name date 06-09
    load = load_day(sources.FINAL_PRODUCTION, sample_dir, DAY, validate=VALIDATE_FINAL)
    assert not load.rejected
    assert len(load.frame) == 4 * 96
    assert set(load.frame["asset_id"]) == {"SOL-DE-001", "SOL-DE-002", "WND-DE-002", "WND-DE-003"}
    assert load.frame.groupby("asset_id")["mwh"].sum()["WND-DE-002"] == pytest.approx(79.711, abs=1e-3)


def test_redispatch_flags_sample(sample_dir):
    df = parser.parse_redispatch_flags(sample_dir / FLAGS, FLAGS)
    assert len(df) == 4
    assert set(df["metering_point_id"]) == {"MP-WND-003"}  # rule metering-point-from-name
    assert df["is_redispatched"].all()
    assert list(df["delivery_start"]) == list(pd.date_range("2025-06-08 10:15", periods=4, freq="15min"))
    assert (df["delivery_end"] - df["delivery_start"] == pd.Timedelta(minutes=15)).all()


def test_redispatch_compensation_sample(sample_dir):
    df = parser.parse_redispatch_compensation(sample_dir / COMPENSATION, COMPENSATION)
    assert len(df) == 385
    assert df["delivery_start"].iloc[0] == T("2025-06-07 00:00")
    assert df["price_eur_per_mwh"].iloc[0] == pytest.approx(95.7)
    (f,) = scan(sample_dir, [sources.REDISPATCH_COMPENSATION]).files[sources.REDISPATCH_COMPENSATION.name]
    assert sources.REDISPATCH_COMPENSATION.days_covered(f) == {date(2025, 6, d) for d in range(7, 12)}
    load = load_day(sources.REDISPATCH_COMPENSATION, sample_dir, DAY)
    assert len(load.frame) == 96
    assert load.frame["price_eur_per_mwh"].iloc[0] == pytest.approx(111.78)


# ---------------------------------------------------------------------------------------------
# bad input

HEADER = "delivery_start__utc_,MP-SOL-001__kw_\n"
NAME = f"{FOLDER}/final_production_MP-SOL-001_20250609.csv"


def test_empty_file(tmp_path):
    path = write(tmp_path, NAME, "")
    raises("empty-file", parser.parse_final_production, path, NAME)
    load = load_day(sources.FINAL_PRODUCTION, tmp_path, DAY)  # the day is guessed from the name (2025-06-09 - 1)
    assert [r.rule for r in load.rejected] == ["empty-file"] and not len(load.frame)


def test_header_only_file(tmp_path):
    raises("no-data-rows", parser.parse_final_production, write(tmp_path, NAME, HEADER), NAME)


def test_missing_column(tmp_path):
    name = f"{FOLDER}/redispatch_compensation_2025-06-20.csv"
    path = write(tmp_path, name, "delivery_start__utc_,delivery_end__utc_\n2025-06-08 00:00:00.000000 UTC,2025-06-08 00:15:00.000000 UTC\n")
    err = raises("missing-column", parser.parse_redispatch_compensation, path, name)
    assert err.row == 1 and "price__euro_per_mwh_" in err.detail
    flags = f"{FOLDER}/redispatch_flag_MP-WND-003_20250609_1201.csv"
    path = write(tmp_path, flags, "delivery_start,delivery_end\n2025-06-08T10:15:00Z,2025-06-08T10:30:00Z\n")
    assert raises("missing-column", parser.parse_redispatch_flags, path, flags).row == 1


def test_final_production_header_rules(tmp_path):
    path = write(tmp_path, NAME, "delivery_start__utc_,MP-SOL-002__kw_\n2025-06-08 00:00:00.000000 UTC,1.0\n")
    err = raises("metering-point-mismatch", parser.parse_final_production, path, NAME)
    assert err.row == 1 and "MP-SOL-002" in str(err)
    path = write(tmp_path, NAME, "delivery_start__utc_,MP-SOL-001__mw_\n2025-06-08 00:00:00.000000 UTC,1.0\n")
    raises("final-production-header", parser.parse_final_production, path, NAME)


def test_unparseable_timestamp_names_the_line(tmp_path):
    body = HEADER + "2025-06-08 00:00:00.000000 UTC,1.0\n2025-06-08 25:00:00.000000 UTC,2.0\n"
    err = raises("bad-timestamp", parser.parse_final_production, write(tmp_path, NAME, body), NAME)
    assert err.row == 3 and NAME in str(err) and "25:00" in str(err)
    body = HEADER + "2025-06-08 00:00:00.000000 UTC,1.0\n2025-06-08 00:15:00.000000,2.0\n"
    assert raises("utc-suffix", parser.parse_final_production, write(tmp_path, NAME, body), NAME).row == 3
    flags = f"{FOLDER}/redispatch_flag_MP-WND-003_20250609_1201.csv"
    body = "delivery_start,delivery_end,is_redispatched\n2025-06-08T10:15:00Z,2025-06-08T10:30:00Z,1\nyesterday,2025-06-08T10:45:00Z,1\n"
    assert raises("bad-timestamp", parser.parse_redispatch_flags, write(tmp_path, flags, body), flags).row == 3


def test_other_row_rules(tmp_path):
    body = HEADER + "2025-06-08 00:00:00.000000 UTC,abc\n"
    assert raises("bad-number", parser.parse_final_production, write(tmp_path, NAME, body), NAME).row == 2
    body = HEADER + "2025-06-08 00:07:00.000000 UTC,1\n"
    raises("quarter-hour-grid", parser.parse_final_production, write(tmp_path, NAME, body), NAME)
    body = HEADER + "2025-06-08 00:00:00.000000 UTC,1\n2025-06-08 00:00:00.000000 UTC,2\n"
    assert raises("duplicate-quarter-hour", parser.parse_final_production, write(tmp_path, NAME, body), NAME).row == 3
    body = HEADER + "2025-06-08 00:00:00.000000 UTC,1,7\n"
    assert raises("malformed-row", parser.parse_final_production, write(tmp_path, NAME, body), NAME).row == 2
    body = HEADER + "2025-06-08 00:00:00.000000 UTC\n"  # truncated row
    assert raises("missing-value", parser.parse_final_production, write(tmp_path, NAME, body), NAME).row == 2
    flags = f"{FOLDER}/redispatch_flag_MP-WND-003_20250609_1201.csv"
    body = "delivery_start,delivery_end,is_redispatched\n2025-06-08T10:15:00Z,2025-06-08T10:30:00Z,yes\n"
    raises("redispatch-flag", parser.parse_redispatch_flags, write(tmp_path, flags, body), flags)
    body = "delivery_start,delivery_end,is_redispatched\n2025-06-08T10:15:00Z,2025-06-08T11:15:00Z,1\n"
    raises("quarter-hour-duration", parser.parse_redispatch_flags, write(tmp_path, flags, body), flags)


def test_unknown_metering_point_is_rejected_others_load(tmp_path, sample_dir):
    shutil.copytree(sample_dir / FOLDER, tmp_path / FOLDER)
    write(tmp_path, f"{FOLDER}/final_production_MP-XYZ-999_20250609.csv", "delivery_start__utc_,MP-XYZ-999__kw_\n2025-06-08 00:00:00.000000 UTC,5\n")
    load = load_day(sources.FINAL_PRODUCTION, tmp_path, DAY, validate=VALIDATE_FINAL)
    assert [(r.rule, r.row) for r in load.rejected] == [("unknown-metering-point", 1)]
    assert "MP-XYZ-999" in load.rejected[0].reason
    assert len(load.frame) == 4 * 96
    validate_flags = metering_point_validator(header_row=None)(DAY, {"crm_contracts": CONTRACTS.iloc[:2]})
    flags = load_day(sources.REDISPATCH_FLAGS, tmp_path, DAY, validate=validate_flags)
    assert [r.rule for r in flags.rejected] == ["unknown-metering-point"] and not len(flags.frame)


def test_no_crm_snapshot_rejects_with_clear_reason():
    validate = metering_point_validator(header_row=1)(DAY, {"crm_contracts": pd.DataFrame()})
    frame = pd.DataFrame({"metering_point_id": ["MP-SOL-001"], "asset_id": [None]})
    err = raises("unknown-metering-point", validate, NAME, frame)
    assert "no CRM snapshot" in err.detail


def test_duplicate_delivery_loads_rows_once(tmp_path, sample_dir):
    src = sample_dir / FINAL_WND2
    write(tmp_path, FINAL_WND2, src.read_bytes())
    write(tmp_path, f"{FOLDER}/final_production_MP-WND-002_20250610.csv", src.read_bytes())  # same bytes, other name
    load = load_day(sources.FINAL_PRODUCTION, tmp_path, DAY, validate=VALIDATE_FINAL)
    assert len(load.frame) == 96
    assert load.duplicates == [(FINAL_WND2, f"{FOLDER}/final_production_MP-WND-002_20250610.csv")]


def _day_rows(starts, kw=lambda i: 1000) -> str:
    return "".join(f"{T(t):%Y-%m-%d %H:%M:%S}.000000 UTC,{kw(i)}\n" for i, t in enumerate(starts))


def test_newer_final_file_wins_per_quarter_hour(tmp_path):
    qhs = parser.day_quarter_hours(DAY)["UTC"]
    write(tmp_path, NAME, HEADER + _day_rows(qhs))
    newer = f"{FOLDER}/final_production_MP-SOL-001_20250610.csv"
    write(tmp_path, newer, HEADER + _day_rows(qhs, lambda i: 2000 if i == 1 else 1000))
    load = load_day(sources.FINAL_PRODUCTION, tmp_path, DAY, validate=VALIDATE_FINAL)
    got = load.frame.set_index("delivery_start")
    assert len(got) == 96 and set(got["source_file"]) == {newer}
    assert got.loc[T("2025-06-08 00:00"), "mw"] == 1.0 and got.loc[T("2025-06-08 00:15"), "mw"] == 2.0


def test_a_final_file_short_of_its_day_is_incomplete(tmp_path):
    qhs = parser.day_quarter_hours(DAY)["UTC"]
    write(tmp_path, NAME, HEADER + _day_rows(qhs))
    newer = f"{FOLDER}/final_production_MP-SOL-001_20250610.csv"
    write(tmp_path, newer, HEADER + _day_rows(qhs[:95], lambda i: 2000))  # the last QH missing
    load = load_day(sources.FINAL_PRODUCTION, tmp_path, DAY, validate=VALIDATE_FINAL)
    assert [(r.file, r.rule) for r in load.rejected] == [(newer, "incomplete-day")]
    assert "95 quarter-hours" in load.rejected[0].reason and "2025-06-08 23:45:00" in load.rejected[0].reason
    assert len(load.frame) == 96 and set(load.frame["source_file"]) == {NAME}


@pytest.mark.parametrize(("day", "n"), [(date(2025, 3, 30), 92), (date(2025, 6, 8), 96), (date(2025, 10, 26), 100)])
def test_a_whole_local_day_is_complete_across_the_clock_change(day, n):
    local = parser.day_quarter_hours(day)[parser.LOCAL_TZ]
    assert len(local) == n
    parser.check_whole_day(pd.DataFrame({"delivery_start": local}), NAME)
    parser.check_whole_day(pd.DataFrame({"delivery_start": parser.day_quarter_hours(day)["UTC"]}), NAME)
    with pytest.raises(SourceFileError) as err:
        parser.check_whole_day(pd.DataFrame({"delivery_start": local[:-1]}), NAME)
    assert err.value.rule == "incomplete-day"


def test_days_covered_falls_back_to_name_and_never_raises(tmp_path):
    write(tmp_path, NAME, "garbage\n\x00\n")
    (f,) = scan(tmp_path, [sources.FINAL_PRODUCTION]).files[sources.FINAL_PRODUCTION.name]
    assert sources.FINAL_PRODUCTION.days_covered(f) == {DAY}
    flags = f"{FOLDER}/redispatch_flag_MP-WND-003_20250609_1201.csv"
    write(tmp_path, flags, "")
    (f,) = scan(tmp_path, [sources.REDISPATCH_FLAGS]).files[sources.REDISPATCH_FLAGS.name]
    assert sources.REDISPATCH_FLAGS.days_covered(f) == {DAY, date(2025, 6, 9)}


def test_bom_and_crlf_are_tolerated(tmp_path):
    body = "\ufeff" + (HEADER + "2025-06-08 00:00:00.000000 UTC,1500\n").replace("\n", "\r\n")
    df = parser.parse_final_production(write(tmp_path, NAME, body), NAME)
    assert df["mw"].tolist() == [1.5] and df["metering_point_id"].tolist() == ["MP-SOL-001"]


def test_plain_final_files_take_the_fast_path_with_the_full_parsers_values(sample_dir, monkeypatch):
    """Every sample final-production file is plain: the pandas-free path reads it, to the same frame."""
    files = sorted((sample_dir / FOLDER).glob("final_production_*.csv"))
    assert files
    fast = {f.name: parser.parse_final_production(f, f.name) for f in files}
    assert all(parser._final_production_plain(f.read_text()) is not None for f in files)
    monkeypatch.setattr(parser, "_final_production_plain", lambda text: None)  # the full parser only
    for f in files:
        pd.testing.assert_frame_equal(fast[f.name], parser.parse_final_production(f, f.name), check_exact=True)


@pytest.mark.parametrize(
    "row",
    [
        "2025-06-08 00:00:00.000000 UTC,1.5\r",  # CRLF
        "2025-06-08 00:00:00.000000 UTC, 1.5",  # blank
        "2025-06-08 00:00:00.000000 UTC,1e3",  # exponent
        "2025-06-08 00:00:00.000000 UTC,",  # empty value
        "2025-06-08 00:07:00.000000 UTC,1.5",  # off the grid
        "2025-02-30 00:00:00.000000 UTC,1.5",  # no such day
        "2025-06-08 00:00:00.000000 UTC,99999999",  # out of bounds (kW)
        "2025-06-08 00:00:00.000000,1.5",  # no UTC suffix
    ],
)
def test_anything_not_plain_goes_to_the_full_parser(row):
    header = "delivery_start__utc_,MP-WND-002__kw_\n"
    assert parser._final_production_plain(header + row + "\n") is None
    assert parser._final_production_plain(header + "2025-06-08 00:00:00.000000 UTC,1.5\n") is not None
    dup = "2025-06-08 00:00:00.000000 UTC,1.5\n"
    assert parser._final_production_plain(header + dup + dup) is None  # a repeated quarter-hour
