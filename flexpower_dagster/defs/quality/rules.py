"""Pure data-quality rules (pandas, no Dagster, no GX): derived frames for the suites and the
per-asset quarantine rules the marts use.

Quarantine (see docs/quality.md): a per-asset problem in staging data (e.g. one asset's final
production above 1.1 x capacity, or a metering point no contract knows) must not stop the whole
portfolio. The staging check reports it as a WARN, and the mart that would be corrupted excludes
that asset's rows of that source, so best-of-infeed falls back to the next source (live, forecast)
or ``missing``. The functions here return ``DataFrame[asset_id, reason]``; the mart drops the rows
with :func:`exclude_quarantined` and can keep the reason next to the asset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

#: Production above this multiple of the contract capacity is implausible.
CAPACITY_FACTOR = 1.1
#: Live samples may be slightly negative at night (own consumption); below this share of capacity is a fault.
LIVE_NEGATIVE_FACTOR = -0.05
QH_PER_DAY = 96

QUARANTINE_COLUMNS = ["asset_id", "reason"]


@dataclass(frozen=True)
class Refs:
    """Reference data a suite's derived frames may need: the partition and the day's contracts."""

    day: date | None = None
    contracts: pd.DataFrame | None = None  # staging.crm_contracts rows of the day (the whole snapshot)


# --------------------------------------------------------------------------------------------
# contracts helpers


def _day(s: pd.Series) -> pd.Series:
    out = pd.to_datetime(s)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.astype("datetime64[ns]").dt.normalize()


def contracts_in_force(contracts: pd.DataFrame | None, day: date | None) -> pd.DataFrame:
    """Contracts in force on ``day`` (all rows when ``day`` is None): begin <= day < end (end NULL = open)."""
    if contracts is None or not len(contracts):
        return pd.DataFrame(columns=["contract_id", "asset_id", "metering_point_id", "capacity_mw"])
    if day is None:
        return contracts
    d = pd.Timestamp(day)
    begin, end = _day(contracts["contract_begin"]), _day(contracts["contract_end"])
    return contracts.loc[((begin <= d) & (end.isna() | (d < end))).to_numpy()]


def portfolio(refs: Refs) -> pd.DataFrame:
    """One row per portfolio asset of the day: asset_id, contract_id, metering_point_id, capacity_mw."""
    c = contracts_in_force(refs.contracts, refs.day)
    cols = ["asset_id", "contract_id", "metering_point_id", "capacity_mw"]
    return c.loc[:, cols].drop_duplicates("asset_id", keep="last").reset_index(drop=True)


def _asset_terms(contracts: pd.DataFrame | None, day: date | None) -> pd.DataFrame:
    """Capacity and metering point per asset: the contract in force on the day, else any contract."""
    cols = ["asset_id", "metering_point_id", "capacity_mw"]
    if contracts is None or not len(contracts):
        return pd.DataFrame({c: pd.Series([], dtype="object" if c != "capacity_mw" else "float64") for c in cols})
    allc = contracts.loc[:, cols]
    forced = contracts_in_force(contracts, day).loc[:, cols] if day is not None else allc.iloc[0:0]
    return pd.concat([allc, forced]).drop_duplicates("asset_id", keep="last").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# derived frames (views) used by the suites


def _type_family(s: pd.Series) -> str:
    """The DuckDB type family a pandas column holds: DATE/TIMESTAMP, DOUBLE, BIGINT, BOOLEAN, VARCHAR or other."""
    dt = s.dtype
    if isinstance(dt, pd.BooleanDtype) or dt.kind == "b":
        return "BOOLEAN"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "TIMESTAMP"
    if pd.api.types.is_integer_dtype(dt):
        return "BIGINT"
    if pd.api.types.is_float_dtype(dt):
        return "DOUBLE"
    if isinstance(dt, pd.StringDtype):
        return "VARCHAR"
    if dt.kind == "O":
        kinds = set(s.dropna().map(type).unique())
        if not kinds or kinds <= {str}:
            return "VARCHAR"
        if kinds <= {bool, np.bool_}:
            return "BOOLEAN"
        return "object(" + ",".join(sorted(k.__name__ for k in kinds)) + ")"
    return str(dt)


_FAMILY = {"DATE": "TIMESTAMP", "TIMESTAMP": "TIMESTAMP", "DOUBLE": "DOUBLE", "BIGINT": "BIGINT", "INTEGER": "BIGINT",
           "BOOLEAN": "BOOLEAN", "VARCHAR": "VARCHAR"}


def column_types(frame: pd.DataFrame, refs: Refs, *, table) -> pd.DataFrame:
    """One row per declared column: ``column``, ``declared``, ``observed`` family, ``_type_ok``.

    A declared column missing from the frame is not a type error (the column-set expectation reports
    it); an all-NULL object column counts as any type. DATE is stored as a midnight timestamp.
    """
    rows = []
    for c in table.columns:
        if c.name not in frame.columns:
            continue
        s = frame[c.name]
        observed = _type_family(s)
        ok = observed == _FAMILY[c.type] or (s.dtype.kind == "O" and s.isna().all())
        if ok and c.type == "DATE" and len(s.dropna()):
            ok = bool(pd.to_datetime(s.dropna()).eq(pd.to_datetime(s.dropna()).dt.normalize()).all())
            observed = observed if ok else "TIMESTAMP (not at midnight)"
        rows.append({"column": c.name, "declared": c.type, "observed": observed, "_type_ok": bool(ok)})
    return pd.DataFrame(rows, columns=["column", "declared", "observed", "_type_ok"])


def with_contract_terms(
    frame: pd.DataFrame, refs: Refs, *, upper_factor: float = CAPACITY_FACTOR, lower_factor: float | None = None
) -> pd.DataFrame:
    """``frame`` (same rows, same order) plus the asset's contract terms and plausibility bounds.

    Adds ``_capacity_mw``, ``_max_mw`` (= upper_factor x capacity), ``_min_mw`` (= lower_factor x
    capacity, or 0), ``_asset_known`` (asset id in the contracts), ``_metering_point_known`` and
    ``_metering_point_matches`` (the contract of the asset names the row's metering point).
    """
    terms = _asset_terms(refs.contracts, refs.day)
    out = frame.reset_index(drop=True).copy()
    known_assets = set(terms["asset_id"].dropna())
    cap = out["asset_id"].map(dict(zip(terms["asset_id"], pd.to_numeric(terms["capacity_mw"], errors="coerce")))) if "asset_id" in out else np.nan
    out["_capacity_mw"] = pd.to_numeric(cap, errors="coerce").astype("float64")
    out["_max_mw"] = out["_capacity_mw"] * upper_factor
    out["_min_mw"] = out["_capacity_mw"] * lower_factor if lower_factor is not None else 0.0 * out["_capacity_mw"]
    out["_asset_known"] = out["asset_id"].isin(known_assets) if "asset_id" in out else False
    if "metering_point_id" in out:
        mp_of_asset = dict(zip(terms["asset_id"], terms["metering_point_id"]))
        all_mps = set(refs.contracts["metering_point_id"].dropna()) if refs.contracts is not None and len(refs.contracts) else set()
        out["_metering_point_known"] = out["metering_point_id"].isin(all_mps)
        out["_metering_point_matches"] = out["asset_id"].map(mp_of_asset).eq(out["metering_point_id"])
    return out


def qh_coverage(frame: pd.DataFrame, refs: Refs, *, entity: str | None = "asset_id", time_column: str = "delivery_start",
                universe: str = "portfolio") -> pd.DataFrame:
    """One row per entity with the number of distinct quarter-hours it has on the day.

    ``universe='portfolio'``: every portfolio asset of the day (contracts in force) plus every entity in
    the frame, so an asset without any row shows up with ``n_qh = 0``; ``'present'``: only entities in
    the frame; ``entity=None``: a single row for the whole table (``entity`` column = ``'all'``).
    Columns: entity, ``n_qh``, ``in_portfolio``, ``n_rows``.
    """
    name = entity or "scope"
    if entity is None:
        n = frame[time_column].nunique() if time_column in frame else 0
        return pd.DataFrame({name: ["all"], "n_qh": [int(n)], "in_portfolio": [True], "n_rows": [len(frame)]})
    if len(frame):
        t = pd.to_datetime(frame[time_column]).dt.floor("15min")
        counts = (
            frame.assign(_qh=t).groupby(entity, dropna=False).agg(n_qh=("_qh", "nunique"), n_rows=("_qh", "size")).reset_index()
        )
    else:
        counts = pd.DataFrame({entity: pd.Series([], dtype="object"), "n_qh": pd.Series([], dtype="int64"), "n_rows": pd.Series([], dtype="int64")})
    folio = set(portfolio(refs)["asset_id"]) if refs.contracts is not None else set()
    if universe == "portfolio" and folio:
        missing = sorted(folio - set(counts[entity].dropna()))
        counts = pd.concat(
            [counts, pd.DataFrame({entity: missing, "n_qh": [0] * len(missing), "n_rows": [0] * len(missing)})], ignore_index=True
        )
    counts["in_portfolio"] = counts[entity].isin(folio)
    counts["n_qh"] = counts["n_qh"].astype("int64")
    counts["n_rows"] = counts["n_rows"].astype("int64")
    return counts.sort_values(entity, kind="stable").reset_index(drop=True)


def snapshot_age(frame: pd.DataFrame, refs: Refs, *, column: str = "snapshot_created_at") -> pd.DataFrame:
    """One row per snapshot file: its age in days at the start of the delivery day (negative = newer)."""
    if not len(frame) or column not in frame:
        return pd.DataFrame({"source_file": pd.Series([], dtype="object"), "_age_days": pd.Series([], dtype="float64")})
    g = frame.groupby("source_file", dropna=False)[column].max().reset_index()
    day = pd.Timestamp(refs.day) if refs.day is not None else pd.to_datetime(frame["delivery_day"]).max()
    g["_age_days"] = (day - pd.to_datetime(g[column])).dt.total_seconds() / 86400.0
    return g


def with_qh_grid(frame: pd.DataFrame, refs: Refs) -> pd.DataFrame:
    """``frame`` plus ``_on_qh_grid`` (delivery_start on a QH boundary) and ``_duration_min`` (end - start)."""
    out = frame.reset_index(drop=True).copy()
    start = pd.to_datetime(out["delivery_start"])
    out["_on_qh_grid"] = start.eq(start.dt.floor("15min"))
    if "delivery_end" in out:
        out["_duration_min"] = (pd.to_datetime(out["delivery_end"]) - start).dt.total_seconds() / 60.0
    return out


# --------------------------------------------------------------------------------------------
# quarantine rules (per asset) for the marts


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
    f = with_contract_terms(frame, Refs(day=day, contracts=contracts), upper_factor=upper_factor, lower_factor=lower_factor)
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
