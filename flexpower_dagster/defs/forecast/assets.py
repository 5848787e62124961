"""Dagster wiring of the forecast marts (logic in :mod:`flexpower_dagster.defs.forecast.sql`) and their checks."""

import pandas as pd

from flexpower_dagster.defs.forecast.expectations import ASSET_FORECAST_SUITE, PORTFOLIO_FORECAST_SUITE
from flexpower_dagster.defs.forecast.sql import ASSET_FORECAST_SQL, PORTFOLIO_FORECAST_SQL
from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST, PORTFOLIO_FORECAST
from flexpower_dagster.lib.dagster.checks import build_suite_checks
from flexpower_dagster.lib.dagster.marts import daily_sql_mart
from flexpower_dagster.lib.dagster.metadata import md
from flexpower_dagster.lib.markdown import rounded


def summarize_asset_forecast(out: pd.DataFrame) -> dict:
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
    return {
        "portfolio_assets": int(out["asset_id"].nunique()),
        "latest_mwh": rounded(out["latest_mwh"].sum()),
        "tradeable_mwh": rounded(out["tradeable_mwh"].sum()),
        "qhs_without_latest": int(out["latest_mw"].isna().sum()),
        "qhs_without_tradeable": int(out["tradeable_mw"].isna().sum()),
        "per_asset": md(per_asset),
    }


def summarize_portfolio_forecast(out: pd.DataFrame) -> dict:
    peak = out.loc[out["latest_mw"].idxmax()] if out["latest_mw"].notna().any() else None
    return {
        "n_assets": int(out["n_assets"].max()) if len(out) else 0,
        "latest_mwh": rounded(out["latest_mwh"].sum()),
        "tradeable_mwh": rounded(out["tradeable_mwh"].sum()),
        "peak_latest_mw": rounded(peak["latest_mw"]) if peak is not None else None,
        "peak_qh": str(peak["delivery_start"]) if peak is not None else None,
        "qhs_with_incomplete_tradeable": int((out["n_assets_without_tradeable"] > 0).sum()),
    }


marts_asset_forecast = daily_sql_mart(
    ASSET_FORECAST,
    ASSET_FORECAST_SQL,
    deps=[["staging", "vpp_forecasts"], ["staging", "crm_contracts"]],
    group_name="marts_forecast",
    description=(
        "Latest and tradeable forecast per portfolio asset and QH. "
        "latest = value of newest version <= delivery_start; tradeable = newest version <= delivery_start - 15 min."
    ),
    summarize=summarize_asset_forecast,
)

marts_portfolio_forecast = daily_sql_mart(
    PORTFOLIO_FORECAST,
    PORTFOLIO_FORECAST_SQL,
    deps=[["marts", "asset_forecast"]],
    group_name="marts_forecast",
    description=(
        "Portfolio forecast per QH: latest_mw / tradeable_mw = sum over the portfolio assets "
        "(contracts in force) of marts.asset_forecast, with n_assets."
    ),
    summarize=summarize_portfolio_forecast,
)

asset_forecast_checks = build_suite_checks(ASSET_FORECAST_SUITE)
portfolio_forecast_checks = build_suite_checks(PORTFOLIO_FORECAST_SUITE)

