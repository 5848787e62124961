"""Dagster wiring of the forecast marts (logic in :mod:`flexpower_dagster.defs.forecast.sql`)."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.forecast.frames import md_table
from flexpower_dagster.defs.forecast.sql import asset_forecast, portfolio_forecast
from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST, PORTFOLIO_FORECAST
from flexpower_dagster.platform.partitions import DAILY_TAGS, daily_partitions
from flexpower_dagster.platform.staging import partition_day, table_metadata


def _r(x, n: int = 3) -> float | None:
    return None if pd.isna(x) else round(float(x), n)


@dg.asset(
    key=["marts", "asset_forecast"],
    ins={
        "forecasts": dg.AssetIn(key=["staging", "vpp_forecasts"]),
        "contracts": dg.AssetIn(key=["staging", "crm_contracts"]),
    },
    partitions_def=daily_partitions,
    tags=DAILY_TAGS,
    group_name="forecast",
    kinds={"duckdb"},
    description=(
        "Latest and tradeable forecast per portfolio asset and QH. "
        "latest = value of newest version <= delivery_start; tradeable = newest version <= delivery_start - 15 min."
    ),
    metadata=table_metadata(ASSET_FORECAST),
)
def marts_asset_forecast(
    context: dg.AssetExecutionContext, forecasts: pd.DataFrame, contracts: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    day = partition_day(context)
    out = asset_forecast(forecasts, contracts, day)
    per_asset = (
        out.groupby("asset_id")
        .agg(
            latest_mwh=("latest_mwh", "sum"),
            tradeable_mwh=("tradeable_mwh", "sum"),
            qhs_without_latest=("latest_mw", lambda s: int(s.isna().sum())),
            qhs_without_tradeable=("tradeable_mw", lambda s: int(s.isna().sum())),
            newest_tradeable_version=("tradeable_version", "max"),
        )
        .reset_index()
    )
    forecast_assets = set(forecasts["asset_id"].dropna().unique()) if "asset_id" in forecasts else set()
    ignored = sorted(forecast_assets - set(out["asset_id"]))
    md = {
        "rows": len(out),
        "portfolio_assets": int(out["asset_id"].nunique()),
        "latest_mwh": _r(out["latest_mwh"].sum()),
        "tradeable_mwh": _r(out["tradeable_mwh"].sum()),
        "qhs_without_latest": int(out["latest_mw"].isna().sum()),
        "qhs_without_tradeable": int(out["tradeable_mw"].isna().sum()),
        "staged_forecast_rows": len(forecasts),
        "forecast_assets_not_in_portfolio": dg.MetadataValue.json(ignored),
        "per_asset": dg.MetadataValue.md(md_table(per_asset)),
    }
    if md["qhs_without_tradeable"]:
        context.log.warning(f"{md['qhs_without_tradeable']} asset-QHs have no tradeable forecast")
    return dg.Output(out, metadata=md)


@dg.asset(
    key=["marts", "portfolio_forecast"],
    ins={"asset_forecast": dg.AssetIn(key=["marts", "asset_forecast"])},
    partitions_def=daily_partitions,
    tags=DAILY_TAGS,
    group_name="forecast",
    kinds={"duckdb"},
    description=(
        "Portfolio forecast per QH: latest_mw / tradeable_mw = sum over the portfolio assets "
        "(contracts in force) of marts.asset_forecast, with n_assets."
    ),
    metadata=table_metadata(PORTFOLIO_FORECAST),
)
def marts_portfolio_forecast(context: dg.AssetExecutionContext, asset_forecast: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    day = partition_day(context)
    out = portfolio_forecast(asset_forecast, day)
    peak = out.loc[out["latest_mw"].idxmax()] if out["latest_mw"].notna().any() else None
    md = {
        "rows": len(out),
        "n_assets": int(out["n_assets"].max()) if len(out) else 0,
        "latest_mwh": _r(out["latest_mwh"].sum()),
        "tradeable_mwh": _r(out["tradeable_mwh"].sum()),
        "peak_latest_mw": _r(peak["latest_mw"]) if peak is not None else None,
        "peak_qh": str(peak["delivery_start"]) if peak is not None else None,
        "qhs_with_incomplete_tradeable": int((out["n_assets_without_tradeable"] > 0).sum()),
    }
    return dg.Output(out, metadata=md)
