"""A stalled, half-written file is never read as complete (issue 22, item 4), on a temporary copy of the sample day:
the completed-file signal (``<file>.done`` markers) and the content rules for files that come without a signal
(a shrunk trade export, a DSO day with too few quarter-hours, a forecast short of its horizon)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from flexpower_dagster.defs.trading.sql import trading_daily
from flexpower_dagster.lib.landing.files import DONE_SUFFIX, scan

from support import SAMPLE_DAY, resources_for, source_spec, staging_asset

PRIVATE = "exchange/Private_Trades-20250608-20250609T000516000Z.csv"
PUBLIC = "exchange/Public_Trades-20250608-20250609T000516000Z.csv"
FINAL = "distribution_system_operator/final_production_MP-SOL-002_20250609.csv"
#: the sample day's trading revenue (marts.trading_daily, tests/golden)
REVENUE_EUR = 12_254.13


@pytest.fixture
def landing(tmp_path, sample_dir) -> Path:
    root = tmp_path / "landing"
    shutil.copytree(sample_dir, root)
    return root


def _names(landing: Path, spec) -> list[str]:
    return [f.name for f in scan(landing, [spec]).files[spec.name]]


# the completed-file signal ------------------------------------------------------------------------

def test_a_folder_without_markers_keeps_todays_rule(landing):
    spec = source_spec("exchange_private_trades")
    assert _names(landing, spec) == [PRIVATE]


def test_in_a_folder_with_markers_a_file_waits_for_its_marker(landing):
    spec = source_spec("exchange_private_trades")
    newer = PRIVATE.replace("20250609T000516000Z", "20250609T010000000Z")
    (landing / newer).write_bytes((landing / PRIVATE).read_bytes())
    old = 1_700_000_000
    os.utime(landing / newer, (old, old))
    (landing / (PRIVATE + DONE_SUFFIX)).touch()  # the provider marks its finished files: the folder uses markers
    inventory = scan(landing, [spec])
    assert [f.name for f in inventory.files[spec.name]] == [PRIVATE]
    assert newer in inventory.waiting  # no marker yet: not read, however long it has been quiet
    assert not [n for n in inventory.unmatched if n.endswith(DONE_SUFFIX)]  # markers are signals, not strays
    (landing / (newer + DONE_SUFFIX)).touch()
    assert _names(landing, spec) == [PRIVATE, newer]


def test_a_marker_older_than_its_file_belongs_to_an_earlier_version(landing):
    spec = source_spec("exchange_private_trades")
    marker = landing / (PRIVATE + DONE_SUFFIX)
    marker.touch()
    os.utime(marker, (1_600_000_000, 1_600_000_000))  # the file was rewritten after its marker
    assert _names(landing, spec) == []
    marker.touch()
    assert _names(landing, spec) == [PRIVATE]


def test_a_source_declared_with_markers_waits_for_the_first_one(landing):
    spec = dataclasses.replace(source_spec("exchange_public_trades"), done_markers=True)
    assert _names(landing, spec) == []
    (landing / (PUBLIC + DONE_SUFFIX)).touch()
    assert _names(landing, spec) == [PUBLIC]


# content rules for files without a signal ----------------------------------------------------------

def _stage(warehouse: Path, landing: Path, *names: str) -> dg.ExecuteInProcessResult:
    assets = [staging_asset("crm_contracts"), *[staging_asset(n) for n in names]]
    return dg.materialize(assets, partition_key=SAMPLE_DAY, resources=resources_for(landing, warehouse), raise_on_error=False)


def _query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_a_stalled_trade_export_never_replaces_the_full_one(tmp_path, landing):
    """The copy of a newer export stopped after 2,000 of 3,351 lines (1,998 of 3,349 trades), at a line end and
    quiet for longer than the settle time: it parses cleanly, so the shrink against the previous export holds it."""
    text = (landing / PRIVATE).read_text()
    assert text.count("\n") == 3351
    stalled = PRIVATE.replace("20250609T000516000Z", "20250609T010000000Z")
    head = "".join(text.splitlines(keepends=True)[:2000])
    (landing / stalled).write_text(head.replace("2025-06-09T00:05:16.000Z", "2025-06-09T01:00:00.000Z", 1))
    old = 1_700_000_000
    os.utime(landing / stalled, (old, old))  # long settled: the quiet-time rule cannot tell it from a finished file
    warehouse = tmp_path / "w.duckdb"
    assert _stage(warehouse, landing, "exchange_private_trades", "exchange_public_trades").success
    ((rule, reason),) = _query(warehouse, f"SELECT rule, reason FROM staging.rejected_files WHERE file = '{stalled}'")
    assert rule == "shrunk-redelivery"
    assert stalled in reason and PRIVATE in reason and "1998 rows" in reason and "3349" in reason
    assert _query(warehouse, "SELECT count(*), min(source_file), max(source_file) FROM staging.exchange_private_trades") == [
        (3349, PRIVATE, PRIVATE)]  # the previous export stays in use
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        private = conn.execute("SELECT * FROM staging.exchange_private_trades").df()
        public = conn.execute("SELECT * FROM staging.exchange_public_trades").df()
    daily = trading_daily(private, public, date(2025, 6, 8)).iloc[0]
    assert round(daily.revenue_eur, 2) == REVENUE_EUR and daily.n_trades == private["trade_id"].nunique()


def test_a_dso_file_cut_after_50_quarter_hours_is_incomplete(tmp_path, landing):
    warehouse = tmp_path / "w.duckdb"
    assert _stage(warehouse, landing, "dso_final_production").success
    mp = "SELECT count(*) FROM staging.dso_final_production WHERE metering_point_id = 'MP-SOL-002'"
    assert _query(warehouse, mp) == [(96,)]
    path = landing / FINAL
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:51]))  # header + 50 QHs, cut at a line end: well-formed, but half a day
    assert _stage(warehouse, landing, "dso_final_production").success
    ((rule, reason),) = _query(warehouse, f"SELECT rule, reason FROM staging.rejected_files WHERE file = '{FINAL}'")
    assert rule == "incomplete-day" and "50 quarter-hours" in reason and "96" in reason
    assert _query(warehouse, mp) == [(96,)]  # what the complete file stored is carried forward
    fresh = tmp_path / "fresh.duckdb"  # a warehouse that never saw the complete file: no rows, never half a day
    assert _stage(fresh, landing, "dso_final_production").success
    assert _query(fresh, mp) == [(0,)]


def test_a_forecast_version_short_of_its_horizon_is_incomplete(tmp_path, landing):
    latest = sorted((landing / "vpp" / "forecasts").glob("forecast_WND-DE-001_*"))[-1]
    doc = json.loads(latest.read_text())
    doc["values"] = [v[:100] for v in doc["values"]]  # a complete JSON document of 25 h of a 48 h forecast
    latest.write_text(json.dumps(doc))
    warehouse = tmp_path / "w.duckdb"
    assert _stage(warehouse, landing, "vpp_forecasts").success
    rel = latest.relative_to(landing).as_posix()
    assert [r[0] for r in _query(warehouse, f"SELECT rule FROM staging.rejected_files WHERE file = '{rel}'")] == ["forecast-horizon"]
    assert _query(warehouse, f"SELECT count(*) FROM staging.vpp_forecasts WHERE source_file = '{rel}'") == [(0,)]


def test_absurd_dates_in_names_never_stop_a_days_staging(tmp_path, landing):
    """Issue 22.6: a forecast named for 9999-12-31 failed the whole day's forecast staging with OverflowError, a trade
    export named for year 1 stretched the partition range. Dates in names are input: such a file feeds no day (the
    sensors refuse it by rule, tests/sensors/test_partition_range.py) and the day's other files load."""
    forecasts = landing / "vpp" / "forecasts"
    absurd = forecasts / "forecast_WND-DE-001_9999-12-31T000000Z.json"
    absurd.write_bytes(next(iter(sorted(forecasts.glob("forecast_WND-DE-001_2025-06-08*.json")))).read_bytes())
    exports = landing / "exchange"
    private = next(iter(sorted(exports.glob("Private_Trades-*.csv"))))
    (exports / "Private_Trades-00010101-20250609T000516000Z.csv").write_bytes(private.read_bytes())
    result = _stage(tmp_path / "w.duckdb", landing, "vpp_forecasts", "exchange_private_trades")
    assert result.success
    n = _query(tmp_path / "w.duckdb", f"SELECT count(*) FROM staging.vpp_forecasts WHERE delivery_day = '{SAMPLE_DAY}'")
    assert n[0][0] > 0
