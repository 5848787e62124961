"""Per-asset quarantine: which assets' rows of a source the marts must not use (pure pandas, no Dagster).

A per-asset problem in staging data (e.g. one asset's final production above 1.1 x capacity, or a
metering point no contract knows) must not stop the whole portfolio. The staging check reports it as
a WARN (check ``quarantine``), and the mart that would be corrupted excludes that asset's rows of that
source, so best-of-infeed falls back to the next source (live, forecast) or ``missing``. The rules
return ``DataFrame[asset_id, reason]``; :func:`exclude_quarantined` drops the rows. See docs/quality.md.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from flexpower_dagster.defs.crm.portfolio import CAPACITY_FACTOR, CONTRACTS_REF, LIVE_NEGATIVE_FACTOR, with_contract_terms
from flexpower_dagster.lib.quality.views import Refs

QUARANTINE_COLUMNS = ["asset_id", "reason"]


def _empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({"asset_id": pd.Series([], dtype="object"), "reason": pd.Series([], dtype="object")})


def quarantined_assets(
    frame: pd.DataFrame,
    contracts: pd.DataFrame | None,
    *,
    day: date | None = None,
    value_column: str = "mw",
    source: str = "final production",
    upper_factor: float = CAPACITY_FACTOR,
    lower_factor: float | None = None,
    check_metering_point: bool = True,
) -> pd.DataFrame:
    """Assets whose rows in ``frame`` must not be used, with the reason: ``DataFrame[asset_id, reason]``.

    An asset is quarantined for this source when any of its rows

    * names an asset no contract knows, or (``check_metering_point``) a metering point that is not the
      one the asset's contract names;
    * has no contract capacity to bound it;
    * has ``value_column`` above ``upper_factor`` x capacity, or below 0 (``lower_factor`` None) or
      below ``lower_factor`` x capacity;
    * repeats a quarter-hour (two values for the same asset and ``delivery_start``).

    All reasons of an asset are joined with '; '. ``contracts`` are the day's ``staging.crm_contracts``
    rows (the capacity of the contract in force on ``day`` wins when ``day`` is given).
    """
    if frame is None or not len(frame):
        return _empty_quarantine()
    f = with_contract_terms(frame, Refs(day=day, tables={CONTRACTS_REF: contracts}), upper_factor=upper_factor, lower_factor=lower_factor)
    v = pd.to_numeric(f[value_column], errors="coerce")
    low = f["_min_mw"] if lower_factor is not None else 0.0
    checks: list[tuple[pd.Series, str]] = [
        (~f["_asset_known"], "asset unknown to the contracts"),
        (f["_asset_known"] & f["_capacity_mw"].isna(), "contract has no capacity"),
        (v > f["_max_mw"], f"{source} above {upper_factor:g} x capacity"),
        (v < low, f"{source} below {'0 MW' if lower_factor is None else f'{lower_factor:g} x capacity'}"),
    ]
    if check_metering_point and "_metering_point_matches" in f:
        checks.append((f["_asset_known"] & ~f["_metering_point_matches"].fillna(False).astype(bool), "metering point does not match the asset's contract"))
    if "delivery_start" in f:
        checks.append((f.duplicated(["asset_id", "delivery_start"], keep=False), "duplicate quarter-hours"))
    parts = []
    for mask, text in checks:
        mask = mask.fillna(False).astype(bool) if isinstance(mask, pd.Series) else mask
        if not mask.any():
            continue
        g = f.loc[mask].assign(_v=v[mask]).groupby("asset_id", dropna=False).agg(n=("_v", "size"), lo=("_v", "min"), hi=("_v", "max"), cap=("_capacity_mw", "first"))
        g = g.reset_index()
        detail = g["n"].astype(str) + " rows"
        if "above" in text or "below" in text:
            detail = detail + " (values " + g["lo"].round(3).astype(str) + ".." + g["hi"].round(3).astype(str) + " MW, capacity " + g["cap"].round(3).astype(str) + " MW)"
        parts.append(pd.DataFrame({"asset_id": g["asset_id"], "reason": text + ": " + detail}))
    if not parts:
        return _empty_quarantine()
    out = pd.concat(parts, ignore_index=True)
    out["asset_id"] = out["asset_id"].astype("object")
    return out.groupby("asset_id", dropna=False, sort=True)["reason"].agg("; ".join).reset_index().loc[:, QUARANTINE_COLUMNS]


def quarantined_final_production(final: pd.DataFrame, contracts: pd.DataFrame | None, day: date | None = None) -> pd.DataFrame:
    """Quarantine rule for ``staging.dso_final_production`` (0 <= mw <= 1.1 x capacity, known metering point)."""
    return quarantined_assets(final, contracts, day=day, source="final production")


def quarantined_live_samples(live: pd.DataFrame, contracts: pd.DataFrame | None, day: date | None = None) -> pd.DataFrame:
    """Quarantine rule for ``staging.vpp_live_samples`` (-5 % x capacity <= mw <= 1.1 x capacity, known asset).

    Samples are not on the QH grid, so no duplicate-QH rule here.
    """
    f = live.drop(columns=["delivery_start"], errors="ignore") if live is not None else live
    return quarantined_assets(f, contracts, day=day, source="live power", lower_factor=LIVE_NEGATIVE_FACTOR, check_metering_point=False)


def quarantined_forecasts(forecasts: pd.DataFrame, contracts: pd.DataFrame | None, day: date | None = None) -> pd.DataFrame:
    """Quarantine rule for ``staging.vpp_forecasts`` (0 <= mw <= 1.1 x capacity, known asset).

    Several versions per QH are expected, so duplicates are judged per (asset, version, QH) by the
    staging key, not here.
    """
    if forecasts is None or not len(forecasts):
        return _empty_quarantine()
    f = forecasts.drop(columns=["delivery_start"], errors="ignore")
    return quarantined_assets(f, contracts, day=day, source="forecast", check_metering_point=False)


def exclude_quarantined(frame: pd.DataFrame, quarantine: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the rows of quarantined assets."""
    if quarantine is None or not len(quarantine) or not len(frame):
        return frame
    return frame.loc[~frame["asset_id"].isin(set(quarantine["asset_id"]))]
