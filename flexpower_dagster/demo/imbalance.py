"""Imbalance prices: daily estimation files (several days each) and final reBAP files with gaps.

German regulator layout: ``;``-separated, ``,`` decimals, ``Datum`` dd.mm.yyyy, ``von``/``bis`` HH:MM
(``bis`` 00:00 for the last QH), UTF-8 with umlauts in the headers.
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


def final_csv(market: Market, day: date, missing: np.ndarray) -> str:
    d0 = epoch(day)
    m = (market.qh_start >= d0) & (market.qh_start < d0 + 96 * QH)
    starts = market.qh_start[m][~missing]
    short = market.rebap[m][~missing]
    datum, von, bis = _time_columns(starts)
    s = fmt_decimal_comma(short)
    rows = [f"{a};UTC;{b};{c};reBAP;Qualitätsgesichert;EUR/MWh;{p};{p}"
            for a, b, c, p in zip(datum, von, bis, s.tolist())]
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
                   final_csv(market, day, missing))
        counts["final"] += 1
    return counts
