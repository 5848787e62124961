"""The partition range is configuration, never data (flexpower_dagster/lib/dagster/partitions.py): the first day is
the go-live (``FLEXPOWER_FIRST_DAY``), the last moves with the clock; a file for days outside is refused by rule."""

from __future__ import annotations

import ast
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from flexpower_dagster.lib.dagster.partitions import FUTURE_HORIZON_DAYS, PartitionRange, resolve
from flexpower_dagster.settings import GO_LIVE, PROJECT_ROOT, TOMORROW, Settings

from sensor_helpers import drop, tick, touch

TODAY = date(2026, 12, 1)


def _settings(landing: Path = Path("/nonexistent"), **kw) -> Settings:
    return Settings(landing_dir=landing, warehouse=Path("/tmp/w.duckdb"), data_dir=Path("/tmp/d"), **kw)


def test_the_range_comes_from_the_settings_alone():
    r = resolve(_settings())
    assert (r.first_day, r.last_day) == (GO_LIVE, None)  # go-live .. tomorrow
    assert r.current_last_day(TODAY) == date(2026, 12, 2)
    assert r.horizon(TODAY) == date(2026, 12, 2) + timedelta(days=FUTURE_HORIZON_DAYS)
    r = resolve(_settings(first_day=date(2025, 6, 1), last_day=date(2025, 6, 30)))
    assert (r.first_day, r.last_day) == (date(2025, 6, 1), date(2025, 6, 30))
    assert resolve(_settings(last_day=TOMORROW)).last_day is None
    with pytest.raises(ValueError, match="FLEXPOWER_LAST_DAY=2025-05-01 is before the first day"):
        resolve(_settings(first_day=date(2025, 6, 1), last_day=date(2025, 5, 1)))


def test_nothing_is_scanned_when_the_definitions_load():
    """No module the code location imports at load time lists the landing zone (the range used to come from it)."""
    source = (PROJECT_ROOT / "flexpower_dagster" / "lib" / "dagster" / "partitions.py").read_text()
    imported = {n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)}
    assert not any(m.startswith(("flexpower_dagster.lib.landing", "flexpower_dagster.defs")) for m in imported)
    assert not (PROJECT_ROOT / "flexpower_dagster" / "partition_range.py").exists()


def test_environment_settings_are_read_and_checked():
    env = {"FLEXPOWER_FIRST_DAY": "2025-05-31", "FLEXPOWER_LAST_DAY": "Tomorrow"}
    s = Settings.from_env(env)
    assert (s.first_day, s.last_day) == (date(2025, 5, 31), TOMORROW)
    assert Settings.from_env({"FLEXPOWER_LAST_DAY": "2025-06-16"}).last_day == date(2025, 6, 16)
    with pytest.raises(ValueError, match=re.escape("FLEXPOWER_FIRST_DAY='31.05.2025': expected a day as YYYY-MM-DD")):
        Settings.from_env({"FLEXPOWER_FIRST_DAY": "31.05.2025"})


def test_monthly_partitions_start_with_the_first_days_month():
    from flexpower_dagster.lib.dagster.partitions import FIRST_DELIVERY_DAY, daily_partitions, monthly_partitions

    # tests/conftest.py pins 2025-01-01 .. tomorrow
    assert FIRST_DELIVERY_DAY == daily_partitions.get_first_partition_key() == "2025-01-01"
    assert monthly_partitions.get_first_partition_key() == "2025-01-01"
    assert PartitionRange(date(2025, 1, 1), None).describe().startswith("2025-01-01 .. tomorrow")


def test_files_before_the_first_day_or_absurdly_far_ahead_are_refused_by_name_and_rule(sample_dir, tmp_path):
    """A trade export for 2024-12-31 (before the pinned first day 2025-01-01), one for year 9999 and a forecast
    version of year 9999: refused in the tick log with their rule, no run requested, never a failed run."""
    landing = tmp_path / "landing"
    drop(sample_dir, landing, "exchange/Private_Trades-*")
    [real] = sorted((landing / "exchange").glob("Private_Trades-*"))
    early = real.with_name("Private_Trades-20241231-20250101T000516000Z.csv")
    absurd = real.with_name("Private_Trades-99991230-20250101T000516000Z.csv")
    early.write_bytes(real.read_bytes())
    absurd.write_bytes(real.read_bytes())
    forecast = landing / "vpp" / "forecasts" / "WND-DE-001_9999-12-31T000000Z.json"
    forecast.parent.mkdir(parents=True)
    forecast.write_text("{}")
    for p in (early, absurd, forecast):
        touch(p)

    requests, _, _ = tick("exchange", landing, None)
    assert {r.partition_key for r in requests} == {"2025-06-08"}  # only the real export's day
    # the refusals are in the tick log (SkipReason on a tick without runs): tick again from scratch without the real file
    real.unlink()
    requests, skip, _ = tick("exchange", landing, None)
    assert requests == []
    assert "Private_Trades-20241231-20250101T000516000Z.csv" in skip and "rule before_first_day" in skip
    assert "Private_Trades-99991230-20250101T000516000Z.csv" in skip and "rule day_out_of_window" in skip
    requests, skip, _ = tick("vpp", landing, None)
    assert requests == [] and "WND-DE-001_9999-12-31T000000Z.json" in skip
