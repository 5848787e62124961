"""EPEX intraday exports: FlexPower's private trades and the public market, one file each per
delivery day (exported just after midnight), plus one intraday re-export that a later export
supersedes.

Private trades sell the portfolio forecast: hourly products sell the forecast available the
afternoon before (version D-1 15:00); quarter-hourly products then buy or sell the difference to
the tradeable forecast (version at gate closure). Lot sizes grow with the portfolio.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from flexpower_dagster.demo.physics import Market
from flexpower_dagster.demo.timegrid import QH, epoch, fmt_exec_time, fmt_utc, rng_for, to_dt, write_text

EXCHANGE_DIR = "exchange"
HEADER = "TradeId;Side;DeliveryStart;DeliveryEnd;ExecutionTime;Price;Currency;Volume;VolumeUnit"
ID_EPOCH = date(2025, 1, 1)


@dataclass
class Trades:
    side: np.ndarray  # str
    start: np.ndarray  # epoch s
    end: np.ndarray
    exec_us: np.ndarray  # epoch microseconds
    price: np.ndarray
    volume: np.ndarray


def _split(totals: np.ndarray, counts: np.ndarray, step: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split each total into ``counts`` random lots rounded to ``step``: (owner index, lot)."""
    owner = np.repeat(np.arange(len(totals)), counts)
    w = rng.uniform(0.4, 1.6, len(owner))
    share = w / np.bincount(owner, weights=w, minlength=len(totals))[owner]
    lots = np.round(totals[owner] * share / step) * step
    lots = np.round(lots, 2)
    keep = lots > 0
    return owner[keep], lots[keep]


def _exec_times(rng, start: np.ndarray, open_at: np.ndarray, close_before: int, max_lead: int, a: float, b: float,
                resolution_us: int) -> np.ndarray:
    latest = start - close_before
    span = np.clip(np.minimum(latest - open_at, max_lead), 60, None)
    secs = latest - rng.beta(a, b, len(start)) * span
    us = np.floor(secs).astype("int64") * 1_000_000 + rng.integers(0, 1_000_000 // resolution_us, len(start)) * resolution_us
    zero = rng.random(len(start)) < 0.003  # the export drops the fraction when it is zero
    return np.where(zero, (us // 1_000_000) * 1_000_000, us)


def private_trades(day: date, da_mw: np.ndarray, tradeable_mw: np.ndarray, market: Market, capacity_mw: float,
                   seed: int) -> Trades:
    """``da_mw``/``tradeable_mw``: the portfolio forecasts for the day's 96 QHs (MW)."""
    rng = rng_for(seed, "private-trades", day.toordinal())
    d0 = epoch(day)
    scale = max(1.0, capacity_mw / 20.0)
    prices = market.price[(market.qh_start >= d0) & (market.qh_start < d0 + 96 * QH)]
    # hourly products: sell the day-ahead-afternoon forecast
    hourly = da_mw.reshape(24, 4).mean(axis=1)
    n_h = np.where(hourly >= 0.05, np.ceil(hourly / (0.3 * scale)).astype(int), 0)
    h_owner, h_lot = _split(hourly, n_h, 0.1 if scale < 5 else 0.5, rng)
    h_start = d0 + h_owner * 3600
    opened = np.full(len(h_owner), d0 - 9 * 3600)  # D-1 15:00
    h_exec = _exec_times(rng, h_start, opened, 45 * 60, 10 * 3600, 1.2, 2.0, 1000)
    h_price = prices.reshape(24, 4).mean(axis=1)[h_owner] + rng.normal(-1.0, 6.0, len(h_owner))
    # quarter-hourly products: trade the difference to the tradeable forecast
    sold = np.repeat(np.bincount(h_owner, weights=h_lot, minlength=24), 4)
    diff = tradeable_mw - sold
    n_q = np.where(np.abs(diff) >= 0.05, np.ceil(np.abs(diff) / (0.1 * scale)).astype(int), 0)
    q_owner, q_lot = _split(np.abs(diff), n_q, 0.05 if scale < 5 else 0.1, rng)
    q_start = d0 + q_owner * QH
    q_exec = _exec_times(rng, q_start, np.full(len(q_owner), d0 - 8 * 3600), 5 * 60, 3 * 3600, 1.0, 2.5, 1000)
    q_price = prices[q_owner] + rng.normal(0.0, 9.0, len(q_owner))
    return Trades(
        side=np.concatenate([np.full(len(h_owner), "SELL"), np.where(diff[q_owner] > 0, "SELL", "BUY")]),
        start=np.concatenate([h_start, q_start]),
        end=np.concatenate([h_start + 3600, q_start + QH]),
        exec_us=np.concatenate([h_exec, q_exec]),
        price=np.round(np.concatenate([h_price, q_price]), 2),
        volume=np.concatenate([h_lot, q_lot]),
    )


def public_trades(day: date, market: Market, n_trades: int, seed: int) -> Trades:
    rng = rng_for(seed, "public-trades", day.toordinal())
    d0 = epoch(day)
    prices = market.price[(market.qh_start >= d0) & (market.qh_start < d0 + 96 * QH)]
    hourly = rng.random(n_trades) < 0.4
    slot = np.where(hourly, rng.integers(0, 24, n_trades), rng.integers(0, 96, n_trades))
    start = d0 + np.where(hourly, slot * 3600, slot * QH)
    end = start + np.where(hourly, 3600, QH)
    level = np.where(hourly, prices.reshape(24, 4).mean(axis=1)[np.minimum(slot, 23)], prices[slot])
    opened = np.where(hourly, d0 - 19 * 3600, d0 - 8 * 3600)
    exec_us = _exec_times(rng, start, opened, 5 * 60, 20 * 3600, 1.1, 2.2, 1)
    volume = np.round(np.clip(rng.gamma(1.1, 0.6, n_trades), 0.1, 25.0), 1)
    return Trades(
        side=np.where(rng.random(n_trades) < 0.5, "BUY", "SELL"),
        start=start, end=end, exec_us=exec_us,
        price=np.round(level + rng.normal(0.0, 8.0, n_trades), 2), volume=volume,
    )


def trades_csv(kind: str, day: date, exported_us: int, t: Trades, id_base: int, id_span: int, rng, mask=None) -> str:
    """The export text: title line, header, rows sorted by delivery start (ids by execution time)."""
    by_exec = np.argsort(t.exec_us, kind="stable")
    step = max(2, id_span // max(1, len(by_exec)))
    ids = np.empty(len(by_exec), dtype="int64")
    ids[by_exec] = id_base + np.cumsum(rng.integers(1, step, len(by_exec)))
    keep = np.ones(len(ids), dtype=bool) if mask is None else mask
    order = np.lexsort((rng.random(len(ids)), -(t.end - t.start), t.start))
    order = order[keep[order]]
    start, end = fmt_utc(t.start[order], "trade"), fmt_utc(t.end[order], "trade")
    execs = fmt_exec_time(t.exec_us[order])
    rows = [
        f"{i};{s};{a};{b};{e};{p!r};EUR;{v!r};MWH"
        for i, s, a, b, e, p, v in zip(ids[order].tolist(), t.side[order].tolist(), start.tolist(), end.tolist(),
                                        execs.tolist(), t.price[order].tolist(), t.volume[order].tolist())
    ]
    exported = to_dt(exported_us // 1_000_000)
    title = f"# {kind} Trades - {day:%Y-%m-%d} - {exported:%Y-%m-%dT%H:%M:%S}.000Z;;;;;;;;"
    return "\n".join([title, HEADER, *rows]) + "\n"


def write_day(root: Path, day: date, private: Trades, public: Trades, seed: int, intraday_export: bool) -> int:
    rng = rng_for(seed, "exchange-export", day.toordinal())
    nxt = day + timedelta(days=1)
    exported = (epoch(nxt) + int(rng.integers(180, 600))) * 1_000_000
    stamp = f"{to_dt(exported // 1_000_000):%Y%m%dT%H%M%S}000Z"
    days_since = (day - ID_EPOCH).days
    written = 0
    for kind, trades, base, span in (("Private", private, 2_000_000_000 + days_since * 400_000, 350_000),
                                     ("Public", public, 3_000_000_000 + days_since * 2_000_000, 1_900_000)):
        id_rng = rng_for(seed, f"ids-{kind}", day.toordinal())
        text = trades_csv(kind, day, exported, trades, base, span, id_rng)
        write_text(root / EXCHANGE_DIR / f"{kind}_Trades-{day:%Y%m%d}-{stamp}.csv", text)
        written += 1
        if kind == "Private" and intraday_export:  # an earlier export of the same day, superseded
            at = (epoch(day) + 16 * 3600 + int(rng.integers(0, 1800))) * 1_000_000
            id_rng = rng_for(seed, f"ids-{kind}", day.toordinal())
            text = trades_csv(kind, day, at, trades, base, span, id_rng, mask=trades.exec_us < at)
            write_text(root / EXCHANGE_DIR / f"{kind}_Trades-{day:%Y%m%d}-{to_dt(at // 1_000_000):%Y%m%dT%H%M%S}000Z.csv", text)
            written += 1
    return written
