"""The portfolio of a delivery day, defined once (domain.md quantity 1), and the contract terms of its assets.

A contract is **in force** on day D when ``contract_begin <= D`` and (``contract_end`` is NULL or
``D < contract_end``): :func:`in_force_sql` is that predicate, the only place it is written. The SQL
marts use it directly (:data:`PORTFOLIO_CTE`); :func:`in_force` applies the same SQL to a pandas
frame of contract rows (the contracts_in_force mart, data-quality views, quarantine rules).

The portfolio of D = the assets of the contracts in force on D in the CRM snapshot in effect for D
(``staging.crm_contracts`` of D), valid or not: inconsistent commercial terms block a contract's invoice,
not its physics or trading. Pure module: no Dagster.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from flexpower_dagster.lib.quality.views import Refs

#: Production above this multiple of the contract capacity is implausible.
CAPACITY_FACTOR = 1.1
#: Live samples may be slightly negative at night (own consumption); below this share of capacity is a fault.
LIVE_NEGATIVE_FACTOR = -0.05
#: The reference table name under which data-quality suites receive the day's contract snapshot.
CONTRACTS_REF = "contracts"


def in_force_sql(day: str = "$day", alias: str = "") -> str:
    """The in-force predicate as SQL for the day expression ``day`` (a parameter or a column)."""
    p = f"{alias}." if alias else ""
    d = f"CAST({day} AS DATE)"
    return (
        f"(CAST({p}contract_begin AS DATE) <= {d} "
        f"AND ({p}contract_end IS NULL OR {d} < CAST({p}contract_end AS DATE)))"
    )


def in_force(contracts: pd.DataFrame | None, day: date | None) -> pd.DataFrame:
    """The rows of ``contracts`` in force on ``day`` (by :func:`in_force_sql`), with the input's columns
    and dtypes; all rows when ``day`` is None. A row without ``contract_begin`` is never in force."""
    if contracts is None or not len(contracts):
        return contracts if contracts is not None else pd.DataFrame(
            columns=["contract_id", "asset_id", "metering_point_id", "capacity_mw", "contract_begin", "contract_end"]
        )
    if day is None:
        return contracts
    dates = pd.DataFrame(  # noqa: F841 (scanned by DuckDB)
        {
            "i": np.arange(len(contracts)),
            "contract_begin": as_dates(contracts["contract_begin"]),
            "contract_end": as_dates(contracts["contract_end"]),
        }
    )
    with duckdb.connect() as con:
        ok = con.execute(f"SELECT coalesce({in_force_sql()}, false) FROM dates ORDER BY i", {"day": day}).fetchnumpy()
    mask = next(iter(ok.values())).astype(bool)
    return contracts.loc[mask].copy()


def as_dates(s: pd.Series) -> pd.Series:
    """Dates as ``datetime64[ns]`` at midnight, whatever came in (date objects, strings, timestamps)."""
    out = pd.to_datetime(s)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.astype("datetime64[ns]").dt.normalize()


#: Portfolio of the day in the SQL marts, one row per asset, with the 96 QHs of the day per asset
#: (``asset_grid``). Reads ``staging.crm_contracts`` of ``$day``; needs ``$day_start``/``$day_end``
#: (:func:`flexpower_dagster.lib.sql.day_params`). Two contracts in force for one asset (a CRM error)
#: still give one portfolio row; ``n_contracts`` tells.
PORTFOLIO_CTE = f"""
portfolio AS (
    SELECT asset_id,
           min(contract_id) AS contract_id,
           min(metering_point_id) AS metering_point_id,
           count(*) AS n_contracts
    FROM staging.crm_contracts
    WHERE delivery_day = CAST($day AS DATE) AND {in_force_sql()} AND asset_id IS NOT NULL
    GROUP BY asset_id
),
asset_grid AS (
    SELECT p.asset_id, p.contract_id, p.metering_point_id, q.delivery_start, q.delivery_end
    FROM portfolio p CROSS JOIN qh_grid q
)"""


#: Contract terms per asset for data-quality checks in SQL (the SQL twin of :func:`asset_terms`): every
#: asset of the day's CRM snapshot with the capacity and metering point of its contract in force on ``$day``,
#: else of its latest-beginning contract.
ASSET_TERMS_CTE = f"""
asset_terms AS (
    SELECT asset_id,
           first(capacity_mw ORDER BY coalesce({in_force_sql()}, false) DESC, contract_begin DESC NULLS LAST, contract_id DESC)
               AS capacity_mw,
           first(metering_point_id ORDER BY coalesce({in_force_sql()}, false) DESC, contract_begin DESC NULLS LAST, contract_id DESC)
               AS metering_point_id
    FROM staging.crm_contracts
    WHERE delivery_day = CAST($day AS DATE) AND asset_id IS NOT NULL
    GROUP BY asset_id
)"""


def asset_contract_sql(contracts: str) -> str:
    """The contract of each asset and day among the contract rows ``contracts`` (a table or a subquery of
    ``marts.contracts_in_force``): the smallest contract id, as :data:`PORTFOLIO_CTE` picks it when the CRM
    names two contracts in force for one asset."""
    return (
        f"SELECT * FROM {contracts} WHERE asset_id IS NOT NULL "
        "QUALIFY row_number() OVER (PARTITION BY delivery_day, asset_id ORDER BY contract_id) = 1"
    )


# --------------------------------------------------------------------------------------------
# contract terms of a day's assets, for data-quality views and quarantine rules


def portfolio(refs: Refs) -> pd.DataFrame:
    """One row per portfolio asset of the day: asset_id, contract_id, metering_point_id, capacity_mw."""
    c = in_force(refs.table(CONTRACTS_REF), refs.day)
    cols = ["asset_id", "contract_id", "metering_point_id", "capacity_mw"]
    return c.loc[:, cols].drop_duplicates("asset_id", keep="last").reset_index(drop=True)


def portfolio_assets(refs: Refs) -> set[str] | None:
    """The day's portfolio asset ids (None when the suite was given no contracts)."""
    if refs.table(CONTRACTS_REF) is None:
        return None
    return set(portfolio(refs)["asset_id"])


def asset_terms(contracts: pd.DataFrame | None, day: date | None) -> pd.DataFrame:
    """Capacity and metering point per asset: the contract in force on the day, else any contract."""
    cols = ["asset_id", "metering_point_id", "capacity_mw"]
    if contracts is None or not len(contracts):
        return pd.DataFrame({c: pd.Series([], dtype="object" if c != "capacity_mw" else "float64") for c in cols})
    allc = contracts.loc[:, cols]
    forced = in_force(contracts, day).loc[:, cols] if day is not None else allc.iloc[0:0]
    return pd.concat([allc, forced]).drop_duplicates("asset_id", keep="last").reset_index(drop=True)


def with_contract_terms(
    frame: pd.DataFrame, refs: Refs, *, upper_factor: float = CAPACITY_FACTOR, lower_factor: float | None = None
) -> pd.DataFrame:
    """``frame`` (same rows, same order) plus the asset's contract terms and plausibility bounds.

    Adds ``_capacity_mw``, ``_max_mw`` (= upper_factor x capacity), ``_min_mw`` (= lower_factor x
    capacity, or 0), ``_asset_known`` (asset id in the contracts), ``_metering_point_known`` and
    ``_metering_point_matches`` (the contract of the asset names the row's metering point).
    """
    contracts = refs.table(CONTRACTS_REF)
    terms = asset_terms(contracts, refs.day)
    out = frame.reset_index(drop=True).copy()
    known_assets = set(terms["asset_id"].dropna())
    capacity = dict(zip(terms["asset_id"], pd.to_numeric(terms["capacity_mw"], errors="coerce")))
    cap = out["asset_id"].map(capacity) if "asset_id" in out else np.nan
    out["_capacity_mw"] = pd.to_numeric(cap, errors="coerce").astype("float64")
    out["_max_mw"] = out["_capacity_mw"] * upper_factor
    out["_min_mw"] = out["_capacity_mw"] * lower_factor if lower_factor is not None else 0.0 * out["_capacity_mw"]
    out["_asset_known"] = out["asset_id"].isin(known_assets) if "asset_id" in out else False
    if "metering_point_id" in out:
        mp_of_asset = dict(zip(terms["asset_id"], terms["metering_point_id"]))
        all_mps = set(contracts["metering_point_id"].dropna()) if contracts is not None and len(contracts) else set()
        out["_metering_point_known"] = out["metering_point_id"].isin(all_mps)
        out["_metering_point_matches"] = out["asset_id"].map(mp_of_asset).eq(out["metering_point_id"])
    return out
