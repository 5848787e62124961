"""Hand-computed cases for marts.live_infeed, marts.best_of_infeed and marts.portfolio_best_of_infeed."""

from datetime import date

import pandas as pd
import pytest

from flexpower_dagster.defs.forecast.sql import asset_forecast
from flexpower_dagster.defs.infeed.sql import best_of_infeed, live_infeed, portfolio_best_of_infeed

DAY = date(2025, 6, 8)
T = pd.Timestamp


def row(df, start, asset=None):
    hit = df[df.delivery_start == T(start)]
    if asset is not None:
        hit = hit[hit.asset_id == asset]
    assert len(hit) == 1
    return hit.iloc[0]


# ---------------------------------------------------------------------------------------------
# live infeed


def samples() -> pd.DataFrame:
    rows = [
        ("A", T("2025-06-08 10:00:00"), 1.0),  # == delivery_start: in
        ("A", T("2025-06-08 10:07:00"), 2.0),
        ("A", T("2025-06-08 10:14:59"), 3.0),
        ("A", T("2025-06-08 10:15:00"), 9.0),  # == delivery_end: next QH
        ("A", T("2025-06-08 10:16:00"), None),  # NULL value: not a sample
        ("A", T("2025-06-07 23:59:00"), 7.0),  # previous day
        ("A", T("2025-06-08 02:00:00"), -0.004),  # small negative night value kept
    ]
    return pd.DataFrame(rows, columns=["asset_id", "timestamp", "mw"])


def test_live_infeed_means_per_qh():
    live = live_infeed(samples(), DAY)
    r = row(live, "2025-06-08 10:00", "A")
    assert r.mw == pytest.approx(2.0) and r.n_samples == 3 and r.mwh == pytest.approx(0.5)
    assert (r.min_mw, r.max_mw) == (1.0, 3.0)
    r = row(live, "2025-06-08 10:15", "A")
    assert r.mw == 9.0 and r.n_samples == 1
    assert row(live, "2025-06-08 02:00", "A").mw == pytest.approx(-0.004)
    # QHs without samples have no row
    assert len(live) == 3
    assert live.delivery_start.min() >= T("2025-06-08")


# ---------------------------------------------------------------------------------------------
# best of infeed: asset A walks through every source, asset B has final data everywhere


def contracts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "contract_id": ["C-A", "C-B"],
            "asset_id": ["A", "B"],
            "metering_point_id": ["MP-A", "MP-B"],
            "contract_begin": [T("2025-01-01")] * 2,
            "contract_end": [None, None],
        }
    )


QHS = pd.date_range("2025-06-08", periods=96, freq="15min")


def final_production() -> pd.DataFrame:
    a = pd.DataFrame(
        {
            "metering_point_id": ["MP-A", "MP-A"],
            "asset_id": ["A", "A"],
            "delivery_start": [T("2025-06-08 10:00"), T("2025-06-08 12:00")],
            "mw": [5.0, 1.5],
        }
    )
    b = pd.DataFrame({"metering_point_id": "MP-B", "asset_id": "B", "delivery_start": QHS, "mw": 1.0})
    return pd.concat([a, b], ignore_index=True)


def forecasts() -> pd.DataFrame:
    v = T("2025-06-08 06:00")
    rows = [
        ("A", v, T("2025-06-08 10:00"), 7.0),
        ("A", v, T("2025-06-08 10:15"), 7.0),
        ("A", v, T("2025-06-08 10:30"), 4.0),
        ("A", v, T("2025-06-08 10:45"), 4.0),
        ("A", v, T("2025-06-08 12:00"), 4.0),
    ]
    return pd.DataFrame(rows, columns=["asset_id", "version", "delivery_start", "mw"])


def flags() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "metering_point_id": ["MP-A", "MP-A", "MP-A"],
            "asset_id": ["A", "A", "A"],
            "delivery_start": [T("2025-06-08 10:45"), T("2025-06-08 12:00"), T("2025-06-08 13:00")],
            "is_redispatched": [True, True, True],
        }
    )


@pytest.fixture
def boi() -> pd.DataFrame:
    live = live_infeed(samples(), DAY)  # A: 10:00 -> 2.0, 10:15 -> 9.0, 02:00 -> -0.004
    af = asset_forecast(forecasts(), contracts(), DAY)
    return best_of_infeed(contracts(), final_production(), live, af, flags(), DAY)


def test_every_asset_has_96_qhs(boi):
    assert boi.groupby("asset_id").size().to_dict() == {"A": 96, "B": 96}


def test_final_beats_live(boi):
    r = row(boi, "2025-06-08 10:00", "A")
    assert (r.source, r.mw, r.mwh, r.live_mw) == ("final", 5.0, 1.25, 2.0)


def test_live_only(boi):
    r = row(boi, "2025-06-08 10:15", "A")
    assert (r.source, r.mw, r.live_n_samples) == ("live", 9.0, 1)


def test_forecast_only(boi):
    r = row(boi, "2025-06-08 10:30", "A")
    assert (r.source, r.mw, r.mwh) == ("forecast", 4.0, 1.0)


def test_redispatched_forecast_is_zero(boi):
    r = row(boi, "2025-06-08 10:45", "A")
    assert (r.source, r.mw, r.mwh, r.forecast_mw, r.redispatched) == ("forecast_redispatched", 0.0, 0.0, 4.0, True)


def test_redispatched_without_forecast_is_zero(boi):
    r = row(boi, "2025-06-08 13:00", "A")
    assert (r.source, r.mw) == ("forecast_redispatched", 0.0) and pd.isna(r.forecast_mw)


def test_final_beats_redispatch_flag(boi):
    r = row(boi, "2025-06-08 12:00", "A")
    assert (r.source, r.mw, r.redispatched) == ("final", 1.5, True)


def test_nothing_is_missing_not_zero(boi):
    r = row(boi, "2025-06-08 11:00", "A")
    assert r.source == "missing" and pd.isna(r.mw) and pd.isna(r.mwh)


def test_portfolio_best_of_infeed(boi):
    p = portfolio_best_of_infeed(boi, DAY)
    assert len(p) == 96
    r = row(p, "2025-06-08 10:00")  # A final 5 + B final 1
    assert (r.mw, r.mwh, r.final_share, r.n_assets, r.complete) == (6.0, 1.5, 1.0, 2, True)
    r = row(p, "2025-06-08 10:15")  # A live 9 + B final 1
    assert (r.mw, r.final_share, r.live_share) == (10.0, 0.5, 0.5)
    assert (r.final_mwh, r.live_mwh) == (0.25, 2.25)
    r = row(p, "2025-06-08 10:45")  # A redispatched: counted in forecast_share
    assert (r.mw, r.forecast_share, r.forecast_redispatched_share) == (1.0, 0.5, 0.5)
    r = row(p, "2025-06-08 11:00")  # A missing: B only, incomplete
    assert (r.mw, r.missing_share, r.n_missing, r.complete) == (1.0, 0.5, 1, False)
    shares = p.final_share + p.live_share + p.forecast_share + p.missing_share
    assert shares.round(12).eq(1.0).all()
