"""Dagster wiring of the infeed marts (logic in :mod:`flexpower_dagster.defs.infeed.sql`)."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.forecast.frames import md_table
from flexpower_dagster.defs.infeed.sql import best_of_infeed, live_infeed, portfolio_best_of_infeed
from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED, LIVE_INFEED, PORTFOLIO_BEST_OF_INFEED, SOURCES
from flexpower_dagster.defs.quality.rules import exclude_quarantined, quarantined_final_production
from flexpower_dagster.platform.partitions import DAILY_TAGS, daily_partitions
from flexpower_dagster.platform.staging import partition_day, table_metadata


def _r(x, n: int = 3) -> float | None:
    return None if pd.isna(x) else round(float(x), n)


@dg.asset(
    key=["marts", "live_infeed"],
    ins={"samples": dg.AssetIn(key=["staging", "vpp_live_samples"])},
    partitions_def=daily_partitions,
    tags=DAILY_TAGS,
    group_name="infeed",
    kinds={"duckdb"},
    description=(
        "Live measured infeed per asset and QH: mw = mean of the live samples with "
        "delivery_start <= timestamp < delivery_end, n_samples kept; a QH without samples has no row."
    ),
    metadata=table_metadata(LIVE_INFEED),
)
def marts_live_infeed(context: dg.AssetExecutionContext, samples: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    out = live_infeed(samples, partition_day(context))
    per_asset = (
        out.groupby("asset_id")
        .agg(qhs=("delivery_start", "size"), mwh=("mwh", "sum"), samples=("n_samples", "sum"), min_samples=("n_samples", "min"))
        .reset_index()
    )
    md = {
        "rows": len(out),
        "assets": int(out["asset_id"].nunique()),
        "mwh": _r(out["mwh"].sum()),
        "samples": int(out["n_samples"].sum()),
        "asset_qhs_without_sample": int(96 * out["asset_id"].nunique() - len(out)),
        "per_asset": dg.MetadataValue.md(md_table(per_asset)),
    }
    return dg.Output(out, metadata=md)


@dg.asset(
    key=["marts", "best_of_infeed"],
    ins={
        "contracts": dg.AssetIn(key=["staging", "crm_contracts"]),
        "final_production": dg.AssetIn(key=["staging", "dso_final_production"]),
        "redispatch_flags": dg.AssetIn(key=["staging", "dso_redispatch_flags"]),
        "live": dg.AssetIn(key=["marts", "live_infeed"]),
        "forecast": dg.AssetIn(key=["marts", "asset_forecast"]),
    },
    partitions_def=daily_partitions,
    tags=DAILY_TAGS,
    group_name="infeed",
    kinds={"duckdb"},
    description=(
        "Best-of-infeed per portfolio asset x 96 QHs: first of final DSO -> live VPP -> latest forecast "
        "(0 when redispatched), else source 'missing' with NULL mw/mwh; mwh = mw * 0.25."
    ),
    metadata=table_metadata(BEST_OF_INFEED),
)
def marts_best_of_infeed(
    context: dg.AssetExecutionContext,
    contracts: pd.DataFrame,
    final_production: pd.DataFrame,
    redispatch_flags: pd.DataFrame,
    live: pd.DataFrame,
    forecast: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    day = partition_day(context)
    # data-quality quarantine (docs/quality.md): an asset whose final production breaks a per-asset rule
    # (> 1.1 x capacity, < 0, unknown/mismatched metering point, duplicate QHs) loses its final rows and
    # falls back to live -> forecast -> missing; the rest of the portfolio is unaffected.
    quarantine = quarantined_final_production(final_production, contracts, day)
    if len(quarantine):
        final_production = exclude_quarantined(final_production, quarantine)
        context.log.warning("final production quarantined: " + "; ".join(quarantine["asset_id"] + ": " + quarantine["reason"]))
    out = best_of_infeed(contracts, final_production, live, forecast, redispatch_flags, day)
    counts = out["source"].value_counts()
    per_asset = pd.crosstab(out["asset_id"], out["source"]).reindex(columns=list(SOURCES), fill_value=0)
    per_asset["mwh"] = out.groupby("asset_id")["mwh"].sum().round(3)
    md: dict = {
        "rows": len(out),
        "portfolio_assets": int(out["asset_id"].nunique()),
        "mwh": _r(out["mwh"].sum()),
        **{f"share_{s}": _r(counts.get(s, 0) / len(out), 4) if len(out) else None for s in SOURCES},
        **{f"mwh_{s}": _r(out.loc[out["source"] == s, "mwh"].sum()) for s in SOURCES[:4]},
        "missing_asset_qhs": int(counts.get("missing", 0)),
        "per_asset": dg.MetadataValue.md(md_table(per_asset.reset_index())),
        "quarantined_final_production": dg.MetadataValue.md(md_table(quarantine)) if len(quarantine) else "none",
    }
    if md["missing_asset_qhs"]:
        context.log.warning(f"{md['missing_asset_qhs']} asset-QHs have no infeed value at all (source missing)")
    return dg.Output(out, metadata=md)


@dg.asset(
    key=["marts", "portfolio_best_of_infeed"],
    ins={"best": dg.AssetIn(key=["marts", "best_of_infeed"])},
    partitions_def=daily_partitions,
    tags=DAILY_TAGS,
    group_name="infeed",
    kinds={"duckdb"},
    description=(
        "Portfolio best-of-infeed per QH: mw/mwh = sum over the portfolio assets; x_share = share of the assets "
        "whose value came from source x (forecast_share includes forecast_redispatched; missing_share completes 1)."
    ),
    metadata=table_metadata(PORTFOLIO_BEST_OF_INFEED),
)
def marts_portfolio_best_of_infeed(context: dg.AssetExecutionContext, best: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    out = portfolio_best_of_infeed(best, partition_day(context))
    total = out["mwh"].sum()
    md = {
        "rows": len(out),
        "mwh": _r(total),
        "final_mwh": _r(out["final_mwh"].sum()),
        "live_mwh": _r(out["live_mwh"].sum()),
        "forecast_mwh": _r(out["forecast_mwh"].sum()),
        "mean_final_share": _r(out["final_share"].mean(), 4),
        "mean_live_share": _r(out["live_share"].mean(), 4),
        "mean_forecast_share": _r(out["forecast_share"].mean(), 4),
        "mean_missing_share": _r(out["missing_share"].mean(), 4),
        "incomplete_qhs": int((~out["complete"].astype(bool)).sum()),
    }
    return dg.Output(out, metadata=md)
