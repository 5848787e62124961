"""The demo data is physically plausible: sun, wind, forecasts, live samples, trades."""

from __future__ import annotations

import itertools
import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from flexpower_dagster.demo.physics import asset_truth, simulate_weather, sin_solar_elevation
from flexpower_dagster.demo.portfolio import SAMPLE_ASSETS, build_portfolio
from flexpower_dagster.demo.timegrid import QH, Window, epoch
from flexpower_dagster.demo.vpp import forecast_set, live_samples

WINDOW = Window(date(2025, 6, 7), 3)
SEED = 11


@pytest.fixture(scope="module")
def truths():
    assets = list(SAMPLE_ASSETS)
    weather = simulate_weather(assets, WINDOW, SEED)
    return {a.asset_id: (a, asset_truth(a, weather, i, WINDOW, SEED)) for i, a in enumerate(assets)}


def _series(truth, values):
    return pd.Series(truth.qh_mean(values), index=pd.to_datetime(truth.qh_start, unit="s"))


def test_solar_zero_at_night_and_peaks_around_local_noon(truths):
    for asset_id in ("SOL-DE-001", "SOL-DE-002"):
        a, t = truths[asset_id]
        qh = _series(t, t.actual_mw)
        sun = sin_solar_elevation(t.qh_start + QH // 2, a.latitude, a.longitude)
        assert (qh[sun < -0.05] == 0).all()
        assert qh.max() <= a.capacity_mw
        # solar noon at ~13 deg E is ~11:05 UTC in June; the daily maximum of the clear-sky shape
        # and the hour of the centroid of the production must be close to it
        for day in WINDOW.delivery_days:
            d = qh[str(day)]
            hours = d.index.hour + d.index.minute / 60
            centroid = (hours * d).sum() / d.sum()
            assert 10.0 <= centroid <= 12.5, (asset_id, day, centroid)
            assert d[(hours < 2) | (hours > 21)].sum() == 0


def test_wind_is_persistent(truths):
    for asset_id in ("WND-DE-001", "WND-DE-002", "WND-DE-003"):
        a, t = truths[asset_id]
        qh = _series(t, t.unconstrained_mw)
        assert qh.autocorr(1) > 0.85 and qh.autocorr(4) > 0.6, asset_id  # QH and one hour
        assert qh.min() >= 0 and qh.max() <= a.capacity_mw
        assert qh.std() > 0.05 * a.capacity_mw  # but it does move


def test_forecast_error_shrinks_with_lead_time(truths):
    for asset_id in ("SOL-DE-001", "WND-DE-002"):
        a, t = truths[asset_id]
        fc = forecast_set(a, t, WINDOW, SEED)
        target = t.qh_mean(t.unconstrained_mw)
        k = np.arange(fc.mw.shape[1])
        idx = np.arange(fc.mw.shape[0])[:, None] + k[None, :]
        abs_err = np.abs(fc.mw - target[idx])
        by_lead = [abs_err[:, lo:hi].mean() for lo, hi in ((0, 4), (4, 24), (24, 96), (96, 193))]
        assert all(x < y for x, y in itertools.pairwise(by_lead)), (asset_id, by_lead)
        assert by_lead[0] < 0.05 * a.capacity_mw
        assert (fc.mw >= 0).all() and (fc.mw <= a.capacity_mw).all()


def test_live_samples_are_actual_plus_noise(truths):
    for asset_id in ("SOL-DE-002", "WND-DE-001", "WND-DE-003"):
        a, t = truths[asset_id]
        got = None
        for day in WINDOW.delivery_days:
            got = live_samples(a, t, day, SEED)
            if got is not None:
                break
        assert got is not None
        ts, kw = got
        assert np.all(np.diff(ts) >= 60) and 1300 < len(ts) <= 1440 + 60  # ~1/min, with gaps
        live = pd.Series(kw / 1000.0, index=pd.to_datetime(ts, unit="s")).resample("15min").mean()
        actual = _series(t, t.actual_mw).reindex(live.index)
        assert (live - actual).abs().mean() < 0.03 * a.capacity_mw
        if a.technology == "solar":
            assert (kw < 0).any() and kw.min() > -1.0  # small negative values at night


def test_generated_files_tie_together(demo_dir):
    """Private trades sell roughly the portfolio forecast; DSO finals agree with live samples."""
    day = "20250608"
    trades = pd.read_csv(next((demo_dir / "exchange").glob(f"Private_Trades-{day}-*T00*.csv")), sep=";", skiprows=1)
    hours = (pd.to_datetime(trades.DeliveryEnd) - pd.to_datetime(trades.DeliveryStart)).dt.total_seconds() / 3600
    sign = np.where(trades.Side == "SELL", 1.0, -1.0)
    sold_mwh = (sign * trades.Volume * hours).sum()
    assert set(trades.Side) == {"BUY", "SELL"} and set(hours) == {0.25, 1.0}
    final = 0.0
    for p in (demo_dir / "distribution_system_operator").glob("final_production_*_20250609.csv"):
        final += pd.read_csv(p).iloc[:, 1].sum() / 1000 * 0.25
    assert final > 0
    public = pd.read_csv(next((demo_dir / "exchange").glob(f"Public_Trades-{day}-*.csv")), sep=";", skiprows=1)
    assert len(public) > 2 * len(trades)
    vwap = (public.Price * public.Volume).sum() / public.Volume.sum()
    assert 0 < vwap < 150
    # the traded volume is of the order of the produced energy (forecast errors, missing finals aside)
    assert 0.4 < sold_mwh / final < 2.5, (sold_mwh, final)
    # live file: timestamps in ms, key from the asset
    live = json.loads(next((demo_dir / "vpp/live_measured_infeed").glob(f"WND*_{day}.json")).read_text())
    assert live["values"][0][0] > 1e12


def test_thousand_assets_portfolio():
    assets = build_portfolio(1000, 42, date(2025, 6, 1), 14)
    assert len({a.asset_id for a in assets}) == 1000
    assert len({a.short_code for a in assets}) == 1000
    assert len({a.metering_point_id for a in assets}) == 1000
    assert {a.price_model for a in assets} == {"fixed", "market"}
    assert {a.fee_model for a in assets} == {"fixed_as_produced", "fixed_for_capacity", "percent_of_market"}
    assert sum(a.contract_end is None for a in assets) > 300
    assert any(date(2025, 6, 1) < a.contract_begin < date(2025, 6, 15) for a in assets)
    assert any(a.contract_end and date(2025, 6, 1) < a.contract_end < date(2025, 6, 15) for a in assets)
    assert epoch(date(2025, 6, 8)) == 1749340800
