"""The benchmark's floor computes the same ``marts.asset_forecast`` as the project (domain.md quantity 2),
on the real sample day and on the small demo case, and the comparison finds a changed or missing row.

If the floor drifted from the domain rules, the benchmark would compare the project against the cost of a
different computation; these tests keep it honest (docs/benchmarks.md)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from benchmark.floor import compare_asset_forecast, day_files, run_floor
from support import SAMPLE_DAY

DAY = date.fromisoformat(SAMPLE_DAY)


def _floor(landing: Path, tmp_path: Path) -> Path:
    db = tmp_path / "floor.duckdb"
    result = run_floor(db, landing, [DAY])
    assert result["days"][0]["rows"]["marts.asset_forecast"] > 0
    return db


def test_floor_equals_project_on_the_sample_day(sample_warehouse, sample_dir, tmp_path):
    db = _floor(sample_dir, tmp_path)
    check = compare_asset_forecast(db, sample_warehouse.warehouse, [DAY])
    assert check["differences"] == 0, check["examples"]
    assert check["floor_rows"] == check["project_rows"] == 5 * 96


@pytest.mark.slow  # the demo case's day and month
def test_floor_equals_project_on_the_demo_case(demo_warehouse, tmp_path):
    settings = demo_warehouse.settings  # the demo case's day (and month), once per session: tests/conftest.py
    db = _floor(settings.landing_dir, tmp_path)
    check = compare_asset_forecast(db, settings.warehouse, [DAY])
    assert check["differences"] == 0, check["examples"]
    assert check["project_rows"] == 8 * 96


def test_comparison_finds_a_changed_value_and_a_missing_row(sample_warehouse, sample_dir, tmp_path):
    db = _floor(sample_dir, tmp_path)
    wh = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse.warehouse, wh)
    with duckdb.connect(str(wh)) as con:
        con.execute("UPDATE marts.asset_forecast SET latest_mw = latest_mw + 0.001 "
                    "WHERE asset_id = 'SOL-DE-001' AND delivery_start = TIMESTAMP '2025-06-08 12:00:00'")
        con.execute("DELETE FROM marts.asset_forecast "
                    "WHERE asset_id = 'WND-DE-001' AND delivery_start = TIMESTAMP '2025-06-08 00:00:00'")
    check = compare_asset_forecast(db, wh, [DAY])
    assert check["differences"] == 2
    assert check["by_kind"] == {"values differ": 1, "only in floor": 1}


@pytest.mark.parametrize(
    ("name", "feeds"),
    [
        ("forecast_SOL-DE-001_2025-06-06T000000Z.json", True),  # 48 h ahead: its last QH is 2025-06-08 00:00
        ("forecast_SOL-DE-001_2025-06-05T234500Z.json", False),
        ("forecast_SOL-DE-001_2025-06-08T234500Z.json", True),
        ("forecast_SOL-DE-001_2025-06-09T000000Z.json", False),
    ],
)
def test_forecast_files_of_the_day_by_name(tmp_path, name, feeds):
    folder = tmp_path / "vpp" / "forecasts"
    folder.mkdir(parents=True)
    (folder / name).write_text("{}")
    assert bool(day_files(tmp_path, DAY).lists["forecasts"]) is feeds
