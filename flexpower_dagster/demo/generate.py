"""Orchestrates the demo landing zone: one deterministic pass over all source systems."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from flexpower_dagster.demo import crm, dso, exchange, imbalance, vpp
from flexpower_dagster.demo.physics import Market, asset_truth, simulate_market, simulate_weather
from flexpower_dagster.demo.portfolio import Asset, build_portfolio
from flexpower_dagster.demo.timegrid import DAY, WRITTEN, Window
from flexpower_dagster.settings import LANDING_SETTINGS_FILE

DEFAULT_START = date(2025, 6, 1)
DEFAULT_DAYS = 14
DEFAULT_ASSETS = 5
DEFAULT_SEED = 42
DEFAULT_PUBLIC_TRADES = 20_000


@dataclass
class DemoSummary:
    out: Path
    assets: int
    start: date
    days: int
    seed: int
    files: Counter = field(default_factory=Counter)  # folder -> number of files
    seconds: float = 0.0

    def lines(self) -> list[str]:
        last = self.start + timedelta(days=self.days - 1)
        out = [f"demo landing zone in {self.out}: {self.assets} assets, {self.start}..{last}, seed {self.seed}, "
               f"{sum(self.files.values())} files in {self.seconds:.1f} s"]
        out += [f"  {folder:<40} {n:>7}" for folder, n in sorted(self.files.items())]
        return out


def generate(
    out: Path,
    n_assets: int = DEFAULT_ASSETS,
    start: date = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    seed: int = DEFAULT_SEED,
    public_trades_per_day: int = DEFAULT_PUBLIC_TRADES,
) -> DemoSummary:
    """Write the synthetic landing zone into ``out`` (existing files of the same name are replaced,
    other files are left alone). The same arguments always produce the same bytes."""
    if days < 1:
        raise ValueError("days must be at least 1")
    t_begin = time.perf_counter()
    WRITTEN.clear()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    window = Window(start, days)
    summary = DemoSummary(out=out, assets=n_assets, start=start, days=days, seed=seed)
    files = summary.files
    assets = build_portfolio(n_assets, seed, start, days)
    weather = simulate_weather(assets, window, seed)
    market = demo_market(window, seed)

    n_qh = len(weather.qh_start)
    da_mw = np.zeros(n_qh)  # portfolio forecast available on D-1 15:00, per target QH
    tradeable_mw = np.zeros(n_qh)  # portfolio forecast at gate closure (version = start - 15 min)
    for row, asset in enumerate(assets):
        truth = asset_truth(asset, weather, row, window, seed)
        fc = vpp.forecast_set(asset, truth, window, seed)
        files[vpp.FORECAST_DIR] += vpp.write_forecasts(out, asset, fc)
        files[vpp.LIVE_DIR] += vpp.write_live(out, asset, truth, window, seed)
        for n in dso.write_asset_files(out, asset, truth, window, seed).values():
            files[dso.DSO_DIR] += n
        _add_portfolio_forecasts(asset, fc, window, da_mw, tradeable_mw)

    files[crm.CRM_DIR] += crm.write_snapshots(out, assets, window, seed)
    files[vpp.TECH_DIR] += vpp.write_technical_data(out, assets, window, seed)
    files[dso.DSO_DIR] += dso.write_compensation(out, market, window)
    files[imbalance.IMBALANCE_DIR] += sum(imbalance.write_files(out, market, window, seed).values())
    for i, day in enumerate(window.delivery_days):
        q = slice(96 * (i + 1), 96 * (i + 2))
        capacity = sum(a.capacity_mw for a in assets if a.in_force(day))
        private = exchange.private_trades(day, da_mw[q], tradeable_mw[q], market, capacity, seed)
        public = exchange.public_trades(day, market, max(public_trades_per_day, 5 * len(private.side)), seed)
        files[exchange.EXCHANGE_DIR] += exchange.write_day(out, day, private, public, seed, intraday_export=(i == 2))
    # every file "arrived" by the end of the day after the window: complete, never mistaken for a file
    # still being written (FLEXPOWER_SETTLE_SECONDS), and the same times on every run
    arrived = datetime.combine(window.delivery_days[-1] + timedelta(days=2), datetime.min.time(), tzinfo=UTC).timestamp()
    for path in WRITTEN:
        os.utime(path, (arrived, arrived))
    WRITTEN.clear()
    write_replay_settings(out, window.delivery_days[0], window.delivery_days[-1])
    summary.seconds = time.perf_counter() - t_begin
    return summary


def demo_market(window: Window, seed: int) -> Market:
    """The market of a demo window: prices from a week before to three days after the simulated span."""
    return simulate_market(seed, window.sim_start - 7 * DAY, window.sim_end + 3 * DAY)


def write_replay_settings(out: Path, first: date, last: date) -> Path:
    """The demo sets the platform's settings for its data (``settings.LANDING_SETTINGS_FILE``, read by
    ``Settings.from_env`` under the environment): its first delivered day is the first partition (the
    forecast-only day before it is no partition: its files are refused by rule ``before_first_day``), and its
    clock is noon of the day after its last delivered day, so arrival deadlines are judged as they were then
    (the running day and tomorrow are not late)."""
    path = Path(out) / LANDING_SETTINGS_FILE
    now = datetime.combine(last + timedelta(days=1), datetime.min.time()) + timedelta(hours=12)
    path.write_text(
        "# written by the demo generator: the platform's settings for this landing zone (environment wins)\n"
        f"FLEXPOWER_FIRST_DAY={first.isoformat()}\nFLEXPOWER_NOW={now.isoformat(timespec='minutes')}Z\n"
    )
    return path


def _add_portfolio_forecasts(asset: Asset, fc: vpp.ForecastSet, window: Window, da: np.ndarray, tradeable: np.ndarray) -> None:
    for i, day in enumerate(window.delivery_days):
        if not asset.in_force(day):
            continue
        q = np.arange(96 * (i + 1), 96 * (i + 2))
        tradeable[q] += fc.mw[q - 1, 1]  # version at gate closure: one QH before delivery
        v = 96 * i + 60  # version D-1 15:00
        da[q] += fc.mw[v, q - v]
