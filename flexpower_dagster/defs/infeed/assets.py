"""Dagster wiring of the infeed marts (logic in :mod:`flexpower_dagster.defs.infeed.sql`) and their checks."""

from datetime import date

import dagster as dg
import duckdb
import pandas as pd

from flexpower_dagster.defs.crm.quarantine import quarantined_final_production, quarantined_live_samples
from flexpower_dagster.defs.crm.tables import CRM_CONTRACTS
from flexpower_dagster.defs.dso.tables import DSO_FINAL_PRODUCTION
from flexpower_dagster.defs.infeed.expectations import BEST_OF_INFEED_SUITE, LIVE_INFEED_SUITE, PORTFOLIO_BEST_OF_INFEED_SUITE
from flexpower_dagster.defs.infeed.sql import BEST_OF_INFEED_SQL, LIVE_INFEED_SQL, PORTFOLIO_BEST_OF_INFEED_SQL
from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED, LIVE_INFEED, PORTFOLIO_BEST_OF_INFEED, SOURCES
from flexpower_dagster.defs.vpp.tables import VPP_LIVE_SAMPLES
from flexpower_dagster.lib.dagster.checks import build_suite_checks
from flexpower_dagster.lib.dagster.marts import daily_sql_mart
from flexpower_dagster.lib.dagster.metadata import md
from flexpower_dagster.lib.markdown import rounded
from flexpower_dagster.lib.warehouse import read_partitions


def summarize_live_infeed(out: pd.DataFrame) -> dict:
    per_asset = (
        out.groupby("asset_id")
        .agg(qhs=("delivery_start", "size"), mwh=("mwh", "sum"), samples=("n_samples", "sum"), min_samples=("n_samples", "min"))
        .reset_index()
    )
    return {
        "assets": int(out["asset_id"].nunique()),
        "mwh": rounded(out["mwh"].sum()),
        "samples": int(out["n_samples"].sum()),
        "asset_qhs_without_sample": int(96 * out["asset_id"].nunique() * out["delivery_day"].nunique() - len(out)),
        "per_asset": md(per_asset),
    }


def quarantine_live_samples(conn: duckdb.DuckDBPyConnection, day: date, log: dg.DagsterLogManager) -> tuple[dict, dict]:
    """Quarantine (docs/quality.md): an asset whose live samples break a per-asset rule (beyond -5 %..110 % of
    the contract capacity, unknown asset) loses its live infeed for the day; the rest of the portfolio keeps it."""
    samples = read_partitions(conn, VPP_LIVE_SAMPLES, [day])
    contracts = read_partitions(conn, CRM_CONTRACTS, [day])
    quarantine = quarantined_live_samples(samples, contracts, day)
    if len(quarantine):
        log.warning("live samples quarantined: " + "; ".join(quarantine["asset_id"] + ": " + quarantine["reason"]))
    return (
        {"quarantined": quarantine["asset_id"].tolist()},
        {"quarantined_live_samples": md(quarantine) if len(quarantine) else "none"},
    )


def quarantine_final_production(conn: duckdb.DuckDBPyConnection, day: date, log: dg.DagsterLogManager) -> tuple[dict, dict]:
    """Data-quality quarantine (docs/quality.md): an asset whose final production breaks a per-asset rule
    (> 1.1 x capacity, < 0, unknown/mismatched metering point, duplicate QHs) loses its final rows and
    falls back to live -> forecast -> missing; the rest of the portfolio is unaffected."""
    final = read_partitions(conn, DSO_FINAL_PRODUCTION, [day])
    contracts = read_partitions(conn, CRM_CONTRACTS, [day])
    quarantine = quarantined_final_production(final, contracts, day)
    if len(quarantine):
        log.warning("final production quarantined: " + "; ".join(quarantine["asset_id"] + ": " + quarantine["reason"]))
    return (
        {"quarantined": quarantine["asset_id"].tolist()},
        {"quarantined_final_production": md(quarantine) if len(quarantine) else "none"},
    )


def summarize_best_of_infeed(out: pd.DataFrame) -> dict:
    counts = out["source"].value_counts()
    per_asset = pd.crosstab(out["asset_id"], out["source"]).reindex(columns=list(SOURCES), fill_value=0)
    per_asset["mwh"] = out.groupby("asset_id")["mwh"].sum().round(3)
    return {
        "portfolio_assets": int(out["asset_id"].nunique()),
        "mwh": rounded(out["mwh"].sum()),
        **{f"share_{s}": rounded(counts.get(s, 0) / len(out), 4) if len(out) else None for s in SOURCES},
        **{f"mwh_{s}": rounded(out.loc[out["source"] == s, "mwh"].sum()) for s in SOURCES[:4]},
        "missing_asset_qhs": int(counts.get("missing", 0)),
        "per_asset": md(per_asset.reset_index()),
    }


def summarize_portfolio_best_of_infeed(out: pd.DataFrame) -> dict:
    return {
        "mwh": rounded(out["mwh"].sum()),
        "final_mwh": rounded(out["final_mwh"].sum()),
        "live_mwh": rounded(out["live_mwh"].sum()),
        "forecast_mwh": rounded(out["forecast_mwh"].sum()),
        "mean_final_share": rounded(out["final_share"].mean(), 4),
        "mean_live_share": rounded(out["live_share"].mean(), 4),
        "mean_forecast_share": rounded(out["forecast_share"].mean(), 4),
        "mean_missing_share": rounded(out["missing_share"].mean(), 4),
        "incomplete_qhs": int((~out["complete"].astype(bool)).sum()),
    }


marts_live_infeed = daily_sql_mart(
    LIVE_INFEED,
    LIVE_INFEED_SQL,
    deps=[["staging", "vpp_live_samples"]],
    group_name="marts_infeed",
    description=(
        "Live measured infeed per asset and QH: mw = mean of the live samples with "
        "delivery_start <= timestamp < delivery_end, n_samples kept; a QH without samples has no row."
    ),
    summarize=summarize_live_infeed,
    prepare=quarantine_live_samples,
)

marts_best_of_infeed = daily_sql_mart(
    BEST_OF_INFEED,
    BEST_OF_INFEED_SQL,
    deps=[
        ["staging", "crm_contracts"],
        ["staging", "dso_final_production"],
        ["staging", "dso_redispatch_flags"],
        ["marts", "live_infeed"],
        ["marts", "asset_forecast"],
    ],
    group_name="marts_infeed",
    description=(
        "Best-of-infeed per portfolio asset x 96 QHs: first of final DSO -> live VPP -> latest forecast "
        "(0 when redispatched), else source 'missing' with NULL mw/mwh; mwh = mw * 0.25. Final production of an "
        "asset that breaks a per-asset rule is quarantined (not used) and named in the metadata."
    ),
    summarize=summarize_best_of_infeed,
    prepare=quarantine_final_production,
)

marts_portfolio_best_of_infeed = daily_sql_mart(
    PORTFOLIO_BEST_OF_INFEED,
    PORTFOLIO_BEST_OF_INFEED_SQL,
    deps=[["marts", "best_of_infeed"]],
    group_name="marts_infeed",
    description=(
        "Portfolio best-of-infeed per QH: mw/mwh = sum over the portfolio assets; x_share = share of the assets "
        "whose value came from source x (forecast_share includes forecast_redispatched; missing_share completes 1)."
    ),
    summarize=summarize_portfolio_best_of_infeed,
)

live_infeed_checks = build_suite_checks(LIVE_INFEED_SUITE)
best_of_infeed_checks = build_suite_checks(BEST_OF_INFEED_SUITE)
portfolio_best_of_infeed_checks = build_suite_checks(PORTFOLIO_BEST_OF_INFEED_SUITE)
