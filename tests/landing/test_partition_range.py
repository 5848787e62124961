"""The partition range: from the settings, else the landing zone's file names (flexpower_dagster/partition_range.py)."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from flexpower_dagster.lib.landing.span import name_day_span
from flexpower_dagster.partition_range import DEFAULT_FIRST_DAY, compute, day_defining_sources, resolve
from flexpower_dagster.settings import TOMORROW, Settings

from support import demo_landing

TODAY = date(2026, 12, 1)


def _settings(landing: Path = Path("/nonexistent"), **kw) -> Settings:
    return Settings(landing_dir=landing, warehouse=Path("/tmp/w.duckdb"), data_dir=Path("/tmp/d"), **kw)


def test_day_defining_sources_are_those_the_code_location_declares():
    from flexpower_dagster.definitions import landing_sources

    assert [s.name for s in day_defining_sources()] == sorted(s.name for s in landing_sources() if s.defines_days)


def test_the_sample_spans_its_forecast_and_live_days(sample_dir):
    # live WND01_20250608 (German day) starts 2025-06-07 22:00Z; the newest forecast version (06-08 23:45) runs 48 h
    assert name_day_span(sample_dir, day_defining_sources()) == (date(2025, 6, 7), date(2025, 6, 10))
    r = compute(_settings(sample_dir), today=TODAY)
    assert (r.first_day, r.last_day) == (date(2025, 6, 7), date(2025, 6, 10))  # history: the range ends with the data


def test_the_shortcut_dates_the_same_extremes_as_every_name(sample_dir, tmp_path):
    demo = demo_landing(tmp_path / "demo")
    specs = day_defining_sources()
    for root in (sample_dir, demo):
        assert name_day_span(root, specs) == name_day_span(root, specs, every_name=True)


def test_names_only_files_being_written_hidden_and_undatable_ignored(tmp_path, sample_dir):
    landing = tmp_path / "landing"
    shutil.copytree(sample_dir / "exchange", landing / "exchange")
    (landing / "exchange" / "Private_Trades-20250101-20250102T000516000Z.csv.tmp").write_text("")
    (landing / "exchange" / ".Private_Trades-20250102-20250103T000516000Z.csv").write_text("")
    (landing / "exchange" / "Private_Trades-20259999-20250102T000516000Z.csv").write_text("")  # no real day
    (landing / "exchange" / "Private_Trades-20250701-20250702T000516000Z.csv").write_text("not even a CSV")
    assert name_day_span(landing, day_defining_sources()) == (date(2025, 6, 8), date(2025, 7, 1))
    assert name_day_span(tmp_path / "empty", day_defining_sources()) is None


def test_settings_win_and_an_empty_landing_zone_gets_the_default():
    span = (date(2025, 6, 7), date(2025, 6, 10))
    r = resolve(_settings(first_day=date(2025, 6, 1), last_day=date(2025, 6, 30)), span, TODAY)
    assert (r.first_day, r.last_day) == (date(2025, 6, 1), date(2025, 6, 30))
    r = resolve(_settings(last_day=TOMORROW), span, TODAY)
    assert (r.first_day, r.last_day) == (date(2025, 6, 7), None)
    r = resolve(_settings(), None, TODAY)
    assert (r.first_day, r.last_day) == (DEFAULT_FIRST_DAY, None)
    with pytest.raises(ValueError, match="FLEXPOWER_LAST_DAY=2025-05-01 is before the first day"):
        resolve(_settings(first_day=date(2025, 6, 1), last_day=date(2025, 5, 1)), span, TODAY)


def test_current_data_grows_with_the_clock_history_ends_with_its_last_day():
    assert resolve(_settings(), (date(2026, 11, 1), date(2026, 12, 3)), TODAY).last_day is None  # live: tomorrow
    assert resolve(_settings(), (date(2026, 11, 1), date(2026, 11, 24)), TODAY).last_day is None  # 7 days: still live
    assert resolve(_settings(), (date(2026, 11, 1), date(2026, 11, 23)), TODAY).last_day == date(2026, 11, 23)


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
