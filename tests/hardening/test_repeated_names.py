"""Hardening issue 22, items 1 and 2: a repeated column name (every CSV and JSON-table reader) and a repeated
JSON object key (every JSON reader) make the file malformed. Which of the two is meant is never guessed: the
file is rejected naming file, row (the header line) and rule, and the day keeps its figures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from flexpower_dagster.defs.crm.parser import parse_contracts
from flexpower_dagster.defs.dso.parser import parse_final_production, parse_redispatch_compensation, parse_redispatch_flags
from flexpower_dagster.defs.exchange.parser import parse_trades
from flexpower_dagster.defs.imbalance_prices.parser import parse_estimation, parse_final
from flexpower_dagster.defs.vpp.parser import parse_forecast, parse_live
from flexpower_dagster.defs.vpp.technical_data import parse_technical_data
from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.jsonparse import parse_json

from support import SAMPLE_DAY, resources_for, staging_asset

PRIVATE = "exchange/Private_Trades-20250608-20250609T000516000Z.csv"
FINAL = "imbalance/imbalance_price_final_20250608_170800.csv"
FORECAST = "vpp/forecasts/forecast_WND-DE-001_2025-06-08T000000Z.json"
LIVE = "vpp/live_measured_infeed/WND01_20250608.json"
TECHNICAL = "vpp/technical_data/technical_data_2025-06-02T125000Z.json"


@pytest.fixture
def landing(tmp_path, sample_dir) -> Path:
    root = tmp_path / "landing"
    shutil.copytree(sample_dir, root)
    return root


def _repeat_column(path: Path, header_line: int, column: str, *, before: bool = True, sep: str = ";") -> None:
    """Add a second ``column`` (values of the first one + 1000, or blank) before (or after) the real one."""
    lines = path.read_text().splitlines(keepends=True)
    header = lines[header_line - 1].rstrip("\n").split(sep)
    i = header.index(column)
    at = i if before else i + 1
    for n in range(header_line - 1, len(lines)):
        fields = lines[n].rstrip("\n").split(sep)
        fields.insert(at, column if n == header_line - 1 else (fields[i].replace(",", ".").split(".")[0] + "000"))
        lines[n] = sep.join(fields) + "\n"
    path.write_text("".join(lines))


# item 1: every delimited reader -------------------------------------------------------------------

CSV_CASES = [
    # (file, parser, header line, column, separator)
    (PRIVATE, parse_trades, 2, "Volume", ";"),
    ("exchange/Public_Trades-20250608-20250609T000516000Z.csv", parse_trades, 2, "Price", ";"),
    (FINAL, parse_final, 1, "reBAP unterdeckt", ";"),
    ("imbalance/imbalance_price_estimation_2025-06-07T041800Z.csv", parse_estimation, 1, "AEP-Schätzer", ";"),
    ("distribution_system_operator/redispatch_flag_MP-WND-003_20250609_1201.csv", parse_redispatch_flags, 1, "is_redispatched", ","),
    ("distribution_system_operator/redispatch_compensation_2025-06-20.csv", parse_redispatch_compensation, 1, "price__euro_per_mwh_", ","),
    ("crm/asset_contracts_20250608_043831.csv", parse_contracts, 1, "capacity", ","),
]


@pytest.mark.parametrize(("rel", "parse", "header_line", "column", "sep"), CSV_CASES, ids=[c[3] for c in CSV_CASES])
def test_a_repeated_column_rejects_the_file_in_every_reader(tmp_path, sample_dir, rel, parse, header_line, column, sep):
    path = tmp_path / Path(rel).name
    shutil.copy(sample_dir / rel, path)
    parse(path, rel)  # the untouched file is read
    _repeat_column(path, header_line, column, sep=sep)
    with pytest.raises(SourceFileError) as err:
        parse(path, rel)
    assert (err.value.rule, err.value.row, err.value.file) == ("duplicate-column", header_line, rel)
    assert column in err.value.detail


def test_a_repeated_final_production_column_rejects_the_file(tmp_path, sample_dir):
    rel = "distribution_system_operator/final_production_MP-SOL-002_20250609.csv"
    path = tmp_path / Path(rel).name
    text = (sample_dir / rel).read_text()
    path.write_text("\n".join(line + "," + line.split(",")[-1] if line else line for line in text.split("\n")))
    with pytest.raises(SourceFileError) as err:
        parse_final_production(path, rel)
    assert err.value.rule in ("duplicate-column", "final-production-header") and err.value.row == 1


def test_a_newer_trade_export_repeating_volume_is_rejected_and_the_older_one_stays(tmp_path, landing):
    """The incident: a newer private export whose header repeats ``Volume`` raised the day's revenue from
    12,254.13 to 396,693.39 EUR on a green run. Now it is rejected (file, row 2, rule) and the older export,
    with the day's real volumes, stays in use."""
    clean = tmp_path / "clean"
    clean.mkdir()
    assert _stage(clean, landing, "exchange_private_trades").success
    expected = _sum(clean, "SELECT sum(volume_mw), count(*) FROM staging.exchange_private_trades")
    newer = landing / PRIVATE.replace("20250609T000516000Z", "20250609T010000000Z")
    shutil.copy(landing / PRIVATE, newer)
    _repeat_column(newer, 2, "Volume", before=True)
    assert _stage(tmp_path, landing, "exchange_private_trades").success
    rel = newer.relative_to(landing).as_posix()
    (row,) = [r for r in _rejected(tmp_path) if r[1] == rel]
    assert row[2] == "duplicate-column" and "row 2" in row[3] and "Volume" in row[3]
    assert _sum(tmp_path, "SELECT sum(volume_mw), count(*) FROM staging.exchange_private_trades") == expected


def test_an_imbalance_price_file_with_an_extra_short_price_column_is_rejected(tmp_path, landing):
    _repeat_column(landing / FINAL, 1, "reBAP unterdeckt", before=True)
    assert _stage(tmp_path, landing, "imbalance_price_final").success
    (row,) = [r for r in _rejected(tmp_path) if r[1] == FINAL]
    assert row[2] == "duplicate-column" and "row 1" in row[3]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM staging.imbalance_price_final").fetchone()[0] == 0


def test_a_json_table_repeating_a_column_id_is_rejected(tmp_path, sample_dir):
    doc = json.loads((sample_dir / FORECAST).read_text())
    doc["column_ids"].append("power")
    doc["units"].append("kW")
    doc["values"].append([v * 1000 for v in doc["values"][3]])
    path = tmp_path / Path(FORECAST).name
    path.write_text(json.dumps(doc))
    with pytest.raises(SourceFileError) as err:
        parse_forecast(path, FORECAST)
    assert err.value.rule == "duplicate-column" and "power" in err.value.detail


# item 2: repeated JSON keys -----------------------------------------------------------------------

def _twice(text: str, key: str, value: str) -> str:
    """``text`` with ``"key": value,`` inserted before the first ``"key":`` (the object then repeats it)."""
    i = text.index(f'"{key}"')
    return text[:i] + f'"{key}": {value}, ' + text[i:]


def test_a_forecast_with_two_values_arrays_is_rejected(tmp_path, sample_dir):
    text = (sample_dir / FORECAST).read_text()
    doc = json.loads(text)
    path = tmp_path / Path(FORECAST).name
    path.write_text(_twice(text, "values", json.dumps([*doc["values"][:3], [9999.0] * len(doc["values"][3])])))
    with pytest.raises(SourceFileError) as err:
        parse_forecast(path, FORECAST)
    assert err.value.rule == "duplicate-key" and "values" in err.value.detail


@pytest.mark.parametrize(("rel", "parse"), [(FORECAST, parse_forecast), (LIVE, parse_live)])
def test_a_key_object_with_two_asset_ids_is_rejected(tmp_path, sample_dir, rel, parse):
    path = tmp_path / Path(rel).name
    path.write_text(_twice((sample_dir / rel).read_text(), "asset_id", '"SOL-DE-001"'))
    with pytest.raises(SourceFileError) as err:
        parse(path, rel)
    assert err.value.rule == "duplicate-key" and "asset_id" in err.value.detail


def test_a_technical_data_asset_with_two_capacities_is_rejected(tmp_path, sample_dir):
    path = tmp_path / Path(TECHNICAL).name
    path.write_text(_twice((sample_dir / TECHNICAL).read_text(), "capacity_kw", "1"))
    with pytest.raises(SourceFileError) as err:
        parse_technical_data(path, TECHNICAL)
    assert err.value.rule == "duplicate-key" and "capacity_kw" in err.value.detail
    parse_technical_data(sample_dir / TECHNICAL, TECHNICAL)  # keys repeated across assets are fine


@pytest.mark.parametrize("doc", [
    b'{"a": 1, "a": 2}',
    b'{"a": {"b": 1, "b": 1}}',
    b'[{"x": 1}, {"y": [1, {"z": 0, "z": 0}]}]',
    b'{"a\\u0062": 1, "ab": 2}',  # the same key spelled two ways
    b'{"s": "\\" :", "s": 1}',  # a quote and a colon inside a string value
    b'\xef\xbb\xbf{"a": 1, "a": 2}',  # BOM: refused by the fast reader, the strict one still checks keys
])
def test_the_fast_json_path_never_keeps_one_of_two_keys(doc):
    with pytest.raises(SourceFileError) as err:
        parse_json(doc, "f.json")
    assert err.value.rule == "duplicate-key"


@pytest.mark.parametrize(("doc", "value"), [
    (b'[{"a": 1}, {"a": 2}]', [{"a": 1}, {"a": 2}]),
    (b'{"a": "a:", "b": {"a": 1}}', {"a": "a:", "b": {"a": 1}}),
    (b'{"a\\"": 1, "a": 2}', {'a"': 1, "a": 2}),
])
def test_keys_repeated_in_different_objects_are_fine(doc, value):
    assert parse_json(doc, "f.json") == value


def test_the_sample_json_files_are_unchanged(sample_dir):
    for path in sorted((sample_dir / "vpp").rglob("*.json"))[::40]:
        data = path.read_bytes()
        assert parse_json(data, path.name) == json.loads(data)


# helpers ------------------------------------------------------------------------------------------

def _stage(tmp_path: Path, landing: Path, *names: str):
    import dagster as dg

    assets = [staging_asset("crm_contracts"), *[staging_asset(n) for n in names]]
    return dg.materialize(assets, partition_key=SAMPLE_DAY, resources=resources_for(landing, tmp_path / "w.duckdb"),
                          raise_on_error=False)


def _rejected(tmp_path: Path) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        return conn.execute("SELECT source, file, rule, reason FROM staging.rejected_files ORDER BY file").fetchall()


def _sum(tmp_path: Path, sql: str) -> tuple:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchone()
