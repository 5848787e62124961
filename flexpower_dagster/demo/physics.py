"""Physically plausible synthetic truth: sun position, clouds, wind, power, prices.

Everything is computed on a quarter-hour grid vectorised over all assets (persistent weather as
AR(1) processes with a shared regional component) and refined to one-minute resolution per asset
(interpolation plus short-lived turbulence / cloud flicker). Power is in MW.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flexpower_dagster.demo.portfolio import Asset
from flexpower_dagster.demo.timegrid import DAY, MINUTE, QH, Window, rng_for

CUT_IN, RATED, CUT_OUT = 3.0, 12.5, 25.0  # m/s


def sin_solar_elevation(t: np.ndarray, lat_deg: float | np.ndarray, lon_deg: float | np.ndarray) -> np.ndarray:
    """sin(solar elevation) at epoch seconds ``t`` for a site (low-precision almanac, < 0.1 deg)."""
    d = (np.asarray(t, dtype="float64") - 946_728_000.0) / DAY  # days since J2000.0 (2000-01-01 12:00Z)
    g = np.radians(357.529 + 0.98560028 * d)
    q = 280.459 + 0.98564736 * d
    lam = np.radians(q + 1.915 * np.sin(g) + 0.020 * np.sin(2 * g))
    eps = np.radians(23.439 - 0.00000036 * d)
    decl = np.arcsin(np.sin(eps) * np.sin(lam))
    ra = np.degrees(np.arctan2(np.cos(eps) * np.sin(lam), np.cos(lam)))
    gmst = (18.697374558 + 24.06570982441908 * d) % 24.0
    hour_angle = np.radians(gmst * 15.0 + lon_deg - ra)
    lat = np.radians(lat_deg)
    return np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)


def ar1(innovations: np.ndarray, phi: float) -> np.ndarray:
    """Stationary AR(1) with unit variance along the last axis (vectorised over the leading axes)."""
    out = np.empty_like(innovations)
    scale = np.sqrt(1.0 - phi * phi)
    out[..., 0] = innovations[..., 0]
    for k in range(1, innovations.shape[-1]):
        out[..., k] = phi * out[..., k - 1] + scale * innovations[..., k]
    return out


def smooth_noise(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """Unit-variance noise correlated over about ``width`` samples (moving average of white noise)."""
    w = np.hanning(width + 2)[1:-1]
    w /= np.sqrt((w * w).sum())
    return np.convolve(rng.standard_normal(n + width), w, mode="same")[width // 2 : width // 2 + n]


@dataclass
class Weather:
    """Quarter-hour weather states for all assets (unit-variance processes)."""

    qh_start: np.ndarray  # (T,) epoch seconds
    wind: np.ndarray  # (n, T)
    cloud: np.ndarray  # (n, T)
    day_cloudiness: np.ndarray  # (n, T) slow regime


def simulate_weather(assets: list[Asset], window: Window, seed: int) -> Weather:
    t = np.arange(window.sim_start, window.sim_end, QH, dtype="int64")
    n, T = len(assets), len(t)
    common = rng_for(seed, "weather-common")
    wind_common = ar1(common.standard_normal(T), 0.975)
    cloud_common = ar1(common.standard_normal(T), 0.95)
    regime_common = ar1(common.standard_normal(T), 0.995)
    idio_wind = np.stack([rng_for(seed, "wind", a.index).standard_normal(T) for a in assets])
    idio_cloud = np.stack([rng_for(seed, "cloud", a.index).standard_normal(T) for a in assets])
    wind = 0.8 * wind_common + 0.6 * ar1(idio_wind, 0.96)
    cloud = 0.6 * cloud_common + 0.8 * ar1(idio_cloud, 0.85)
    return Weather(qh_start=t, wind=wind, cloud=cloud, day_cloudiness=np.broadcast_to(regime_common, (n, T)))


@dataclass
class AssetTruth:
    """One asset's simulated truth. ``*_mw`` at one-minute resolution from ``minute_start``."""

    minute_start: np.ndarray  # (Tm,) epoch seconds
    unconstrained_mw: np.ndarray  # what the weather allows
    actual_mw: np.ndarray  # after redispatch (switched off in flagged QHs)
    clear_sky_frac: np.ndarray  # (Tm,) solar potential / capacity (1 for wind)
    sun_up: np.ndarray  # (Tm,) bool
    redispatched_qh: np.ndarray  # (Tq,) bool
    qh_start: np.ndarray  # (Tq,)

    def qh_mean(self, minute_values: np.ndarray) -> np.ndarray:
        return minute_values.reshape(-1, QH // MINUTE).mean(axis=1)


def asset_truth(asset: Asset, weather: Weather, row: int, window: Window, seed: int) -> AssetTruth:
    rng = rng_for(seed, "minute", asset.index)
    tq = weather.qh_start
    tm = np.arange(tq[0], tq[-1] + QH, MINUTE, dtype="int64")
    mid = tq + QH // 2
    cap = asset.capacity_mw
    if asset.technology == "wind":
        z = np.interp(tm, mid, weather.wind[row]) + 0.15 * smooth_noise(rng, len(tm), 9)
        site_mean = 6.0 + 0.6 * (asset.latitude - 50.0)  # windier near the coast
        speed = site_mean * np.exp(0.42 * z - 0.09)
        frac = np.clip((speed**3 - CUT_IN**3) / (RATED**3 - CUT_IN**3), 0.0, 1.0)
        frac = np.where(speed > CUT_OUT, 0.0, frac) * 0.97  # availability
        unconstrained = cap * frac
        clear = np.ones(len(tm))
        sun_up = np.ones(len(tm), dtype=bool)
    else:
        sin_e = sin_solar_elevation(tm + MINUTE // 2, asset.latitude, asset.longitude)
        tracking = dict(asset.tech_attributes).get("tracking_type") == "single_axis"
        clear = np.clip(sin_e, 0.0, None) ** (0.7 if tracking else 1.2) * (0.86 if tracking else 0.82)
        clear = np.where(sin_e > 0.02, clear, 0.0)
        regime = np.interp(tm, mid, weather.day_cloudiness[row])
        z = np.interp(tm, mid, weather.cloud[row]) + 0.5 * smooth_noise(rng, len(tm), 7)
        transmit = 0.15 + 0.85 / (1.0 + np.exp(-(1.3 + 1.1 * regime + 1.4 * z)))
        unconstrained = cap * clear * transmit
        sun_up = sin_e > 0.0
    unconstrained = np.clip(unconstrained, 0.0, cap)

    # redispatch: on a few asset-days the DSO switches the asset off for 2-6 QHs around midday
    red_rng = rng_for(seed, "redispatch", asset.index)
    flagged = np.zeros(len(tq), dtype=bool)
    p = 0.07 if asset.technology == "wind" else 0.03
    day0 = int((tq[0] + DAY) // DAY)  # first delivery day (sim starts one day earlier)
    for i in range(window.days):
        hit, start_qh, length = red_rng.random(), int(red_rng.integers(32, 60)), int(red_rng.integers(2, 7))
        if asset.index == 4 and i == window.days // 2:  # always one event, as in the sample (WND-DE-003, 10:15-11:15)
            hit, start_qh, length = 0.0, 41, 4
        if hit < p:
            q0 = (day0 + i) * 96 - int(tq[0] // QH) + start_qh
            flagged[q0 : q0 + length] = True
    per_minute = np.repeat(flagged, QH // MINUTE)
    ramp = np.repeat(np.concatenate([[False], flagged[:-1]]) | ~flagged, QH // MINUTE)  # first QH ramps down
    minute_in_qh = np.tile(np.arange(QH // MINUTE), len(tq))
    factor = np.where(per_minute & ~ramp, 0.0, 1.0)
    factor = np.where(per_minute & ramp, np.clip(1.0 - minute_in_qh / 3.0, 0.0, 1.0), factor)
    actual = unconstrained * factor
    return AssetTruth(tm, unconstrained, actual, clear, sun_up, flagged, tq)


# ---------------------------------------------------------------------------------------------
# market


@dataclass
class Market:
    qh_start: np.ndarray  # (T,) epoch seconds
    price: np.ndarray  # intraday market level per QH, EUR/MWh
    rebap: np.ndarray  # final imbalance price per QH
    estimate: np.ndarray  # imbalance price estimate per QH
    compensation: np.ndarray  # DSO redispatch compensation price per QH


def simulate_market(seed: int, t0: int, t1: int) -> Market:
    """Prices with a daily shape (morning/evening peaks, solar dip at noon, weekend discount) and noise."""
    rng = rng_for(seed, "market")
    t = np.arange(t0, t1, QH, dtype="int64")
    hour_local = ((t % DAY) / 3600.0 + 2.0) % 24.0
    weekday = ((t // DAY) + 3) % 7  # 0 = Monday
    n_days = int((t1 - t0) // DAY) + 2
    day_level = 68.0 + 10.0 * ar1(rng.standard_normal(n_days), 0.7)
    level = day_level[(t - t0) // DAY] - np.where(weekday >= 5, 12.0, 0.0)
    peaks = 22.0 * np.exp(-((hour_local - 8.0) ** 2) / 3.0) + 35.0 * np.exp(-((hour_local - 20.5) ** 2) / 4.0)
    sun = np.clip(sin_solar_elevation(t + QH // 2, 51.0, 10.5), 0.0, None)
    price = level + peaks - 70.0 * sun**1.5 + 6.0 * ar1(rng.standard_normal(len(t)), 0.8)
    price = np.round(price, 2)
    spikes = np.where(rng.random(len(t)) < 0.03, rng.normal(0.0, 150.0, len(t)), 0.0)
    rebap = np.round(price + 45.0 * ar1(rng.standard_normal(len(t)), 0.5) + spikes, 2)
    estimate = np.round(rebap + rng.normal(0.0, 12.0, len(t)), 2)
    compensation = np.round(np.clip(price, 20.0, None) + 18.0 + rng.normal(0.0, 3.0, len(t)), 2)
    return Market(t, price, rebap, estimate, compensation)
