"""Which delivery days each VPP file feeds, and how a day is cut from the files."""

from datetime import date
from pathlib import Path

import pandas as pd

from flexpower_dagster.defs.vpp.sources import (
    VPP_FORECASTS_SOURCE,
    VPP_LIVE_SAMPLES_SOURCE,
    forecast_days,
    live_days,
)
from flexpower_dagster.lib.landing.files import scan
from flexpower_dagster.lib.landing.load import load_day
from flexpower_dagster.lib.landing.source import LandingFile


def _lf(name: str) -> LandingFile:
    return LandingFile(Path("/nowhere"), name, 1, 0)


def test_forecast_days_from_the_name():
    # version T covers [T, T+48h+15min): midnight versions touch three UTC days
    assert forecast_days(_lf("vpp/forecasts/forecast_SOL-DE-001_2025-06-07T000000Z.json")) == {
        date(2025, 6, 7), date(2025, 6, 8), date(2025, 6, 9)
    }
    assert forecast_days(_lf("vpp/forecasts/forecast_SOL-DE-001_2025-06-08T234500Z.json")) == {
        date(2025, 6, 8), date(2025, 6, 9), date(2025, 6, 10)
    }


def test_live_days_german_local_day_touches_two_utc_days():
    assert live_days(_lf("vpp/live_measured_infeed/WND01_20250608.json")) == {date(2025, 6, 7), date(2025, 6, 8)}


def test_sample_files_match_their_patterns(sample_dir):
    for spec, n in ((VPP_FORECASTS_SOURCE, 960), (VPP_LIVE_SAMPLES_SOURCE, 4)):
        inv = scan(sample_dir, [spec])
        files, unmatched = inv.files[spec.name], inv.unmatched
        assert len(files) == n and unmatched == []


def test_live_file_is_split_over_utc_days(sample_dir):
    day = load_day(VPP_LIVE_SAMPLES_SOURCE, sample_dir, date(2025, 6, 8)).frame
    prev = load_day(VPP_LIVE_SAMPLES_SOURCE, sample_dir, date(2025, 6, 7)).frame
    assert set(day["asset_id"]) == {"SOL-DE-002", "WND-DE-001", "WND-DE-002", "WND-DE-003"}
    assert day["timestamp"].min() == pd.Timestamp("2025-06-08 00:00")
    assert prev["timestamp"].min() == pd.Timestamp("2025-06-07 22:00")
    assert prev["timestamp"].max() < pd.Timestamp("2025-06-08")
    # every sample lands in exactly one day
    assert len(day) + len(prev) == 1437 + 1434 + 1440 + 1436
    assert len(day) == 5269


def test_forecast_day_holds_every_version_covering_it(sample_dir):
    frame = load_day(VPP_FORECASTS_SOURCE, sample_dir, date(2025, 6, 8)).frame
    assert frame["delivery_start"].min() == pd.Timestamp("2025-06-08")
    assert frame["delivery_start"].max() == pd.Timestamp("2025-06-08 23:45")
    per_asset = frame.groupby("asset_id").size()
    # 97 versions up to 06-08 00:00 cover all 96 QHs; the 95 later ones cover the rest of the day
    assert (per_asset == 97 * 96 + sum(range(1, 96))).all()
    assert not frame.duplicated(["asset_id", "version", "delivery_start"]).any()
