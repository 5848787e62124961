"""Hand-computed cases for marts.asset_forecast and marts.portfolio_forecast."""

from datetime import date

import pandas as pd
import pytest

from flexpower_dagster.defs.forecast.sql import asset_forecast, portfolio_forecast

DAY = date(2025, 6, 8)
T = pd.Timestamp


def contracts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "contract_id": ["C-A", "C-B", "C-C"],
            "asset_id": ["A", "B", "C"],
            "metering_point_id": ["MP-A", "MP-B", "MP-C"],
            "contract_begin": [T("2025-01-01"), T("2025-01-01"), T("2025-06-08")],
            # B ends on the day: not in force (D < contract_end is false)
            "contract_end": [None, T("2025-06-08"), None],
        }
    )


def forecasts() -> pd.DataFrame:
    qh = T("2025-06-08 10:00")
    rows = [
        # asset A, QH 10:00: versions around the gate-closure boundary (09:45) and delivery start (10:00)
        ("A", T("2025-06-07 12:00"), qh, 0.5),
        ("A", T("2025-06-08 09:30"), qh, 1.0),
        ("A", T("2025-06-08 09:45"), qh, 2.0),  # == delivery_start - 15 min: still tradeable
        ("A", T("2025-06-08 09:50"), qh, 2.5),  # after gate closure: latest candidate only
        ("A", T("2025-06-08 10:00"), qh, 3.0),  # == delivery_start: the latest
        ("A", T("2025-06-08 10:05"), qh, 4.0),  # after delivery start: never used
        # asset A, QH 10:15: only one early version
        ("A", T("2025-06-08 09:00"), T("2025-06-08 10:15"), 6.0),
        # asset B is not in force: ignored
        ("B", T("2025-06-08 09:00"), qh, 100.0),
        # asset C, QH 10:00: one version after gate closure: latest but no tradeable
        ("C", T("2025-06-08 09:55"), qh, 8.0),
        # another day's QH: not in this partition
        ("A", T("2025-06-08 09:00"), T("2025-06-09 10:00"), 50.0),
    ]
    return pd.DataFrame(rows, columns=["asset_id", "version", "delivery_start", "mw"])


@pytest.fixture
def af() -> pd.DataFrame:
    return asset_forecast(forecasts(), contracts(), DAY)


def row(df, asset, start):
    hit = df[(df.asset_id == asset) & (df.delivery_start == T(start))]
    assert len(hit) == 1
    return hit.iloc[0]


def test_grid_is_portfolio_times_96(af):
    assert sorted(af.asset_id.unique()) == ["A", "C"]  # B's contract ended
    assert af.groupby("asset_id").size().tolist() == [96, 96]
    assert not af.duplicated(["asset_id", "delivery_start"]).any()


def test_latest_and_tradeable_at_the_boundaries(af):
    r = row(af, "A", "2025-06-08 10:00")
    assert r.latest_mw == 3.0 and r.latest_version == T("2025-06-08 10:00")
    assert r.latest_mwh == pytest.approx(0.75)
    assert r.tradeable_mw == 2.0 and r.tradeable_version == T("2025-06-08 09:45")
    assert r.tradeable_mwh == pytest.approx(0.5)
    assert r.n_versions == 6


def test_single_old_version_is_both(af):
    r = row(af, "A", "2025-06-08 10:15")
    assert r.latest_mw == r.tradeable_mw == 6.0


def test_version_after_gate_closure_is_not_tradeable(af):
    r = row(af, "C", "2025-06-08 10:00")
    assert r.latest_mw == 8.0
    assert pd.isna(r.tradeable_mw) and pd.isna(r.tradeable_version)


def test_no_forecast_is_null_not_zero(af):
    r = row(af, "C", "2025-06-08 11:00")
    assert pd.isna(r.latest_mw) and pd.isna(r.tradeable_mw) and r.n_versions == 0


def test_portfolio_forecast(af):
    pf = portfolio_forecast(af, DAY)
    assert len(pf) == 96
    r = pf[pf.delivery_start == T("2025-06-08 10:00")].iloc[0]
    assert r.latest_mw == pytest.approx(3.0 + 8.0)
    assert r.tradeable_mw == pytest.approx(2.0)  # C has none
    assert (r.n_assets, r.n_assets_without_latest, r.n_assets_without_tradeable) == (2, 0, 1)
    empty = pf[pf.delivery_start == T("2025-06-08 00:00")].iloc[0]
    assert pd.isna(empty.latest_mw) and empty.n_assets == 2 and empty.n_assets_without_latest == 2


def test_empty_inputs_give_typed_empty_marts():
    af = asset_forecast(pd.DataFrame(), pd.DataFrame(), DAY)
    assert len(af) == 0
    pf = portfolio_forecast(af, DAY)
    assert len(pf) == 96 and (pf.n_assets == 0).all()
