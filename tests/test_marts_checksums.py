"""Every marts table of the sample day and of a small demo day is what it was when the golden files were
recorded (tests/golden/*.json, written by scripts/marts_checksums.py): refactors and speed-ups must not
change a single figure. New tables and columns are allowed (reported, not compared)."""

from __future__ import annotations

import json
import shutil

import pytest

from flexpower_dagster.lib.checksums import compare
from flexpower_dagster.settings import Settings

from support import GOLDEN_DIR, sample_checksums


def _assert_same(golden_name: str, settings: Settings) -> None:
    reference = json.loads((GOLDEN_DIR / golden_name).read_text())
    current = sample_checksums(settings.warehouse, reference=reference)
    result = compare(reference, current)
    assert result.identical, f"marts differ from {golden_name}:\n{result.report()}"


def test_sample_day_marts_unchanged(sample_month):
    assert sample_month.result.success  # the month's run (the day's: tests/conftest.py)
    _assert_same("sample_day_marts.json", sample_month.settings)


@pytest.mark.slow  # the demo case's day and month (make test-fast checks the sample day's)
def test_demo_day_marts_unchanged(demo_warehouse):
    assert demo_warehouse.result.success  # the month's run
    _assert_same("demo_day_marts.json", demo_warehouse.settings)


def test_comparison_detects_a_changed_figure(sample_warehouse, tmp_path):
    """The comparison is not blind: one changed cent in one row is found, naming the column."""
    import duckdb

    wh = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse.warehouse, wh)
    reference = sample_checksums(wh)
    with duckdb.connect(str(wh)) as conn:
        conn.execute("UPDATE marts.trading_daily SET revenue_eur = revenue_eur + 0.01")
    result = compare(reference, sample_checksums(wh, reference=reference))
    assert not result.identical
    assert result.changed == ["trading_daily.revenue_eur"]


@pytest.mark.parametrize("golden", ["sample_day_marts.json", "demo_day_marts.json"])
def test_golden_files_cover_every_mart(golden):
    tables = set(json.loads((GOLDEN_DIR / golden).read_text()))
    assert {"asset_forecast", "best_of_infeed", "imbalance", "trading_daily", "asset_performance", "invoices",
            "invoice_lines"} <= tables
