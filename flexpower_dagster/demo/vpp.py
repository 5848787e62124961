"""VPP files: technical data snapshots, forecast versions and live measured infeed.

Formats follow the sample exactly: forecast JSON on one line with timestamps in *seconds* although
the units say ``ms`` and ``type_id`` ``pv-forecast-real`` for every technology; live JSON indented by
two spaces, ``asset_id`` or ``entity_id`` key, file named by the asset's short code and the German
local day it covers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from flexpower_dagster.demo.physics import AssetTruth, ar1
from flexpower_dagster.demo.portfolio import Asset
from flexpower_dagster.demo.timegrid import (
    MINUTE,
    QH,
    WRITTEN,
    Window,
    epoch,
    local_day_bounds,
    rng_for,
    to_dt,
    write_text,
)

HORIZON_QH = 193  # 48 h ahead, both ends included (as the VPP API returns)
FORECAST_DIR = "vpp/forecasts"
LIVE_DIR = "vpp/live_measured_infeed"
TECH_DIR = "vpp/technical_data"


# ---------------------------------------------------------------------------------------------
# forecasts


@dataclass
class ForecastSet:
    versions: np.ndarray  # (J,) epoch seconds; version j starts at target QH j of the truth grid
    mw: np.ndarray  # (J, HORIZON_QH)


def forecast_errors_sigma(lead_qh: np.ndarray) -> np.ndarray:
    """Forecast error (fraction of capacity, 1 sigma) by lead time in quarter-hours: 3 % at gate
    closure growing to about 22 % two days ahead."""
    return 0.03 + 0.19 * np.sqrt(lead_qh / (HORIZON_QH - 1))


def forecast_set(asset: Asset, truth: AssetTruth, window: Window, seed: int) -> ForecastSet:
    rng = rng_for(seed, "forecast", asset.index)
    n_versions = (window.days + 1) * 96
    target_u = truth.qh_mean(truth.unconstrained_mw)  # forecasts do not know about redispatch
    clear = truth.qh_mean(truth.clear_sky_frac)
    k = np.arange(HORIZON_QH)
    idx = np.arange(n_versions)[:, None] + k[None, :]
    shared = ar1(rng.standard_normal(len(target_u)), 0.9)[idx]  # the weather error of the target QH
    own = ar1(rng.standard_normal((n_versions, HORIZON_QH)), 0.9)  # what each new run changes
    err = forecast_errors_sigma(k)[None, :] * (0.8 * shared + 0.6 * own) * asset.capacity_mw
    if asset.technology == "solar":
        err = err * np.clip(clear[idx] * 1.3, 0.0, 1.0)
    mw = np.clip(target_u[idx] + err, 0.0, asset.capacity_mw)
    return ForecastSet(versions=truth.qh_start[:n_versions], mw=mw)


def forecast_name(asset_id: str, version: int) -> str:
    return f"forecast_{asset_id}_{to_dt(version):%Y-%m-%dT%H%M%S}Z.json"


def write_forecasts(root: Path, asset: Asset, fc: ForecastSet) -> int:
    folder = root / FORECAST_DIR
    folder.mkdir(parents=True, exist_ok=True)
    key = json.dumps({"asset_id": asset.asset_id, "type_id": "pv-forecast-real"})
    head = f'{{"key": {key}, "column_ids": ["start", "end", "version", "power"], "units": ["ms", "ms", "ms", "kW"], "values": '
    written = 0
    kw = fc.mw * 1000.0
    steps = np.arange(HORIZON_QH, dtype="float64") * QH
    for j, version in enumerate(fc.versions.tolist()):
        vday = to_dt(version).date()
        if not (asset.in_force(vday) or asset.in_force(vday + timedelta(days=1))):
            continue
        start = float(version) + steps
        values = [start.tolist(), (start + QH).tolist(), [float(version)] * HORIZON_QH, kw[j].tolist()]
        path = folder / forecast_name(asset.asset_id, version)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(head + json.dumps(values) + "}")
        WRITTEN.append(path)  # its time is set with the others': never mistaken for a file still being written
        written += 1
    return written


# ---------------------------------------------------------------------------------------------
# live measured infeed


def live_json(key_name: str, asset_id: str, ts_ms: np.ndarray, kw: list[str], quality: np.ndarray) -> str:
    """The live file text exactly as ``json.dumps(obj, indent=2)`` writes it (built directly: faster)."""
    sep = ",\n      "
    ts = sep.join(repr(x) for x in ts_ms.tolist())
    q = sep.join(repr(x) for x in quality.tolist())
    return (
        "{\n"
        f'  "key": {{\n    "{key_name}": "{asset_id}",\n    "type_id": "power-measurement-live"\n  }},\n'
        '  "column_ids": [\n    "timestamp",\n    "value",\n    "quality"\n  ],\n'
        '  "units": [\n    "ms",\n    "kW",\n    "factor"\n  ],\n'
        '  "values": [\n    [\n      ' + ts + "\n    ],\n    [\n      " + sep.join(kw) + "\n    ],\n    [\n      " + q
        + "\n    ]\n  ]\n}\n"
    )


def live_samples(asset: Asset, truth: AssetTruth, day: date, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(epoch seconds, kW) of the local day's samples, or None when the file is missing."""
    rng = rng_for(seed, "live", asset.index, day.toordinal())
    if rng.random() < 0.03:  # the VPP sometimes never delivers a day's file
        return None
    t0, t1 = local_day_bounds(day)
    i0 = (t0 - int(truth.minute_start[0])) // MINUTE
    i1 = (t1 - int(truth.minute_start[0])) // MINUTE
    t = truth.minute_start[i0:i1]
    actual = truth.actual_mw[i0:i1] * 1000.0
    n = len(t)
    keep = rng.random(n) > 0.003  # single lost samples
    for _ in range(int(rng.poisson(1.5))):  # short gaps of a few minutes
        g = int(rng.integers(0, n))
        keep[g : g + int(rng.integers(2, 5))] = False
    if rng.random() < 0.08:  # a longer outage
        g = int(rng.integers(0, n))
        keep[g : g + int(rng.integers(20, 90))] = False
    cap_kw = asset.capacity_mw * 1000.0
    if asset.technology == "wind":
        kw = np.round((actual + rng.normal(0.0, 0.02 * cap_kw, n)) * 2.0) / 2.0
        kw = np.clip(kw, 0.0, None)
    else:
        noise = rng.normal(0.0, 0.01, n) * actual
        night = -rng.uniform(0.14, 0.34, n)  # inverters draw a little at night
        kw = np.where(truth.sun_up[i0:i1] | (actual > 0), np.clip(actual + noise, 0.0, None), night)
        kw = np.round(kw, 8)
    return t[keep], kw[keep]


def write_live(root: Path, asset: Asset, truth: AssetTruth, window: Window, seed: int) -> int:
    written = 0
    for day in window.delivery_days:
        if not asset.in_force(day):
            continue
        got = live_samples(asset, truth, day, seed)
        if got is None:
            continue
        t, kw = got
        text = live_json(asset.live_key, asset.asset_id, t.astype("float64") * 1000.0,
                         [repr(x) for x in kw.tolist()], np.ones(len(t)))
        write_text(root / LIVE_DIR / f"{asset.short_code}_{day:%Y%m%d}.json", text)
        written += 1
    return written


# ---------------------------------------------------------------------------------------------
# technical data snapshots


def technical_data(assets: list[Asset], integer_capacity: bool) -> str:
    rows = []
    for a in assets:
        cap_kw = round(a.capacity_mw * 1000.0, 3)
        attrs = {"capacity_kw": int(cap_kw) if integer_capacity and cap_kw.is_integer() else cap_kw}
        attrs.update(dict(a.tech_attributes))
        attrs["commissioning_date"] = a.commissioning_date
        rows.append({
            "asset_id": a.asset_id,
            "name": a.name,
            "type": a.technology,
            "location": {"latitude": a.latitude, "longitude": a.longitude, "timezone": "Europe/Berlin"},
            "technical_attributes": attrs,
            "status": "operational",
            "owner": {"name": a.owner},
        })
    return json.dumps({"assets": rows}, indent=2, ensure_ascii=False) + "\n"


def write_technical_data(root: Path, assets: list[Asset], window: Window, seed: int) -> int:
    """One snapshot a day between 12:30 and 13:00 UTC, from two days before the window; the oldest
    writes integral capacities as JSON integers (as the sample's oldest snapshot does)."""
    written = 0
    first = window.start - timedelta(days=2)
    for i in range((window.end - first).days):
        day = first + timedelta(days=i)
        rng = rng_for(seed, "technical-data", day.toordinal())
        at = epoch(day) + 12 * 3600 + 30 * 60 + int(rng.integers(0, 30 * 60))
        listed = [a for a in assets if date.fromisoformat(a.commissioning_date) <= day]
        name = f"technical_data_{to_dt(at):%Y-%m-%dT%H%M%S}Z.json"
        write_text(root / TECH_DIR / name, technical_data(listed, integer_capacity=(i == 0)))
        written += 1
    return written

