"""DSO files: final production per metering point (next day), redispatch flags, compensation prices."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np

from flexpower_dagster.demo.physics import AssetTruth, Market
from flexpower_dagster.demo.portfolio import Asset
from flexpower_dagster.demo.timegrid import QH, Window, epoch, fmt_floats, fmt_utc, rng_for, write_text

DSO_DIR = "distribution_system_operator"
FINAL_SHARE = 0.9  # share of asset-days whose final data has arrived


def _day_slice(truth: AssetTruth, day: date) -> slice:
    i0 = (epoch(day) - int(truth.qh_start[0])) // QH
    return slice(i0, i0 + 96)


def write_asset_files(root: Path, asset: Asset, truth: AssetTruth, window: Window, seed: int) -> dict[str, int]:
    counts = {"final_production": 0, "redispatch_flag": 0}
    qh_kw = truth.qh_mean(truth.actual_mw) * 1000.0
    mp = asset.metering_point_id
    for day in window.delivery_days:
        if not asset.in_force(day):
            continue
        rng = rng_for(seed, "dso", asset.index, day.toordinal())
        sl = _day_slice(truth, day)
        next_day = day + timedelta(days=1)
        if rng.random() < FINAL_SHARE:
            starts = fmt_utc(truth.qh_start[sl], "dso")
            values = fmt_floats(np.round(qh_kw[sl], 3) + 0.0)
            body = "\n".join(f"{s},{v}" for s, v in zip(starts.tolist(), values))
            write_text(root / DSO_DIR / f"final_production_{mp}_{next_day:%Y%m%d}.csv",
                       f"delivery_start__utc_,{mp}__kw_\n{body}\n")
            counts["final_production"] += 1
        flagged = truth.redispatched_qh[sl]
        if flagged.any():
            starts = truth.qh_start[sl][flagged]
            s, e = fmt_utc(starts, "iso_z"), fmt_utc(starts + QH, "iso_z")
            body = "\n".join(f"{a},{b},1" for a, b in zip(s.tolist(), e.tolist()))
            hhmm = f"{int(rng.integers(9, 15)):02d}{int(rng.integers(0, 60)):02d}"
            write_text(root / DSO_DIR / f"redispatch_flag_{mp}_{next_day:%Y%m%d}_{hhmm}.csv",
                       f"delivery_start,delivery_end,is_redispatched\n{body}\n")
            counts["redispatch_flag"] += 1
    return counts


def write_compensation(root: Path, market: Market, window: Window, block_days: int = 7) -> int:
    """Compensation prices in blocks of ``block_days`` days, each file also carrying the first QH of
    the next block (as the sample does), named by a publication date after the block."""
    written = 0
    for b in range(0, window.days, block_days):
        first = window.start + timedelta(days=b)
        last = min(window.start + timedelta(days=b + block_days), window.end)
        t0, t1 = epoch(first), epoch(last) + QH
        m = (market.qh_start >= t0) & (market.qh_start < t1)
        starts = market.qh_start[m]
        s, e = fmt_utc(starts, "dso"), fmt_utc(starts + QH, "dso")
        prices = fmt_floats(market.compensation[m])
        body = "\n".join(f"{a},{b_},{p}" for a, b_, p in zip(s.tolist(), e.tolist(), prices))
        published = last + timedelta(days=6)
        write_text(root / DSO_DIR / f"redispatch_compensation_{published:%Y-%m-%d}.csv",
                   f"delivery_start__utc_,delivery_end__utc_,price__euro_per_mwh_\n{body}\n")
        written += 1
    return written
