"""Imbalance prices: daily estimation files (several days each) and final reBAP files with gaps.

German regulator layout: ``;``-separated, ``,`` decimals, ``Datum`` dd.mm.yyyy, ``von``/``bis`` HH:MM
(``bis`` 00:00 for the last QH), UTF-8 with umlauts in the headers.

The final file has two prices per QH: ``reBAP unterdeckt`` (paid by a balancing group that is short) and
``reBAP ueberdeckt`` (paid to one that is long). The German reBAP is symmetric (both columns equal, as on every
QH of the sample day) except in exceptional scarcity QHs, when the short side pays more. The demo has such
scarcity episodes on some days (:func:`scarcity_surcharge`): there the short price is the reBAP plus a
surcharge and the long price stays the reBAP, so the portfolio's netting (pricing the netted volume instead of
each asset's) is worth something. The estimate (``AEP-Schätzer``) is one price for both sides.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np

from flexpower_dagster.demo.physics import Market
from flexpower_dagster.demo.timegrid import QH, Window, epoch, fmt_decimal_comma, rng_for, to_dt, write_text

IMBALANCE_DIR = "imbalance"
EST_HEADER = "Datum;Zeitzone;von;bis;Datenkategorie;Datentyp;Einheit;AEP-Schätzer;Status"
FINAL_HEADER = "Datum;Zeitzone;von;bis;Datenkategorie;Datentyp;Einheit;reBAP unterdeckt;reBAP ueberdeckt"

#: Scarcity episodes (short price above long price): episodes per day (Poisson mean), QHs per episode
#: (uniform, both ends included), surcharge on the short price in EUR/MWh (uniform per episode). About 2 % of
#: the QHs: a few episodes in a demo month, most days without one.
SCARCITY_EPISODES_PER_DAY = 0.4
SCARCITY_QHS = (1, 8)
SCARCITY_SURCHARGE_EUR_PER_MWH = (80.0, 300.0)


def _time_columns(starts: np.ndarray) -> tuple[list[str], list[str], list[str]]:
    dt = np.asarray(starts, dtype="int64").astype("datetime64[s]")
    iso = np.datetime_as_string(dt, unit="m").tolist()  # 2025-06-08T00:15
    nxt = np.datetime_as_string(dt + np.timedelta64(QH, "s"), unit="m").tolist()
    return [f"{s[8:10]}.{s[5:7]}.{s[:4]}" for s in iso], [s[11:] for s in iso], [s[11:] for s in nxt]


def estimation_csv(market: Market, t0: int, t1: int) -> str:
    m = (market.qh_start >= t0) & (market.qh_start < t1)
    datum, von, bis = _time_columns(market.qh_start[m])
    price = fmt_decimal_comma(market.estimate[m])
    rows = [f"{a};UTC;{b};{c};AEP-Schätzer;Betrieblich;EUR/MWh;{p};0,00"
            for a, b, c, p in zip(datum, von, bis, price.tolist())]
    return "\n".join([EST_HEADER, *rows]) + "\n"


def scarcity_surcharge(seed: int, day: date) -> np.ndarray:
    """EUR/MWh added to the short price (``reBAP unterdeckt``) in each of the day's 96 QHs: 0 outside the
    day's scarcity episodes. Its own random stream per calendar day, so a day's episodes do not depend on the
    demo window (nor change any other demo figure)."""
    rng = rng_for(seed, "imbalance-scarcity", day.toordinal())
    surcharge = np.zeros(96)
    lo, hi = SCARCITY_QHS
    for _ in range(int(rng.poisson(SCARCITY_EPISODES_PER_DAY))):
        length = int(rng.integers(lo, hi + 1))
        first = int(rng.integers(0, 96 - length + 1))
        surcharge[first:first + length] = np.round(rng.uniform(*SCARCITY_SURCHARGE_EUR_PER_MWH), 2)
    return surcharge


def final_prices(market: Market, day: date, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The day's 96 QH starts with their final short and long prices (EUR/MWh)."""
    d0 = epoch(day)
    m = (market.qh_start >= d0) & (market.qh_start < d0 + 96 * QH)
    long = market.rebap[m]
    return market.qh_start[m], np.round(long + scarcity_surcharge(seed, day), 2), long


def final_csv(market: Market, day: date, missing: np.ndarray, seed: int) -> str:
    starts, short, long = (a[~missing] for a in final_prices(market, day, seed))
    datum, von, bis = _time_columns(starts)
    rows = [f"{a};UTC;{b};{c};reBAP;Qualitätsgesichert;EUR/MWh;{s};{lg}"
            for a, b, c, s, lg in zip(datum, von, bis, fmt_decimal_comma(short).tolist(), fmt_decimal_comma(long).tolist())]
    return "\n".join([FINAL_HEADER, *rows]) + "\n"


def write_files(root: Path, market: Market, window: Window, seed: int) -> dict[str, int]:
    counts = {"estimation": 0, "final": 0}
    # estimations: published daily ~04:10-04:30 UTC, covering from 23:15 four days back to 18:15 two days ahead
    for i in range(-1, window.days + 1):
        day = window.start + timedelta(days=i)
        rng = rng_for(seed, "imbalance-estimation", day.toordinal())
        at = epoch(day) + 4 * 3600 + int(rng.integers(10, 30)) * 60
        t0 = epoch(day - timedelta(days=3)) - 45 * 60
        t1 = epoch(day + timedelta(days=2)) + 18 * 3600 + QH
        write_text(root / IMBALANCE_DIR / f"imbalance_price_estimation_{to_dt(at):%Y-%m-%dT%H%M%S}Z.csv",
                   estimation_csv(market, t0, t1))
        counts["estimation"] += 1
    # finals: one per delivery day except the last (not yet published), some QHs missing
    for day in window.delivery_days[:-1]:
        rng = rng_for(seed, "imbalance-final", day.toordinal())
        missing = np.zeros(96, dtype=bool)
        if rng.random() < 0.5:
            missing[rng.choice(96, size=int(rng.integers(1, 13)), replace=False)] = True
        at = epoch(day) + int(rng.integers(16 * 3600, 18 * 3600))
        write_text(root / IMBALANCE_DIR / f"imbalance_price_final_{to_dt(at):%Y%m%d_%H%M%S}.csv",
                   final_csv(market, day, missing, seed))
        counts["final"] += 1
    return counts
