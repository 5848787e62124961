"""Dagster wiring of the performance mart (logic in :mod:`flexpower_dagster.defs.performance.sql`) and its checks."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.performance.expectations import ASSET_PERFORMANCE_SUITE
from flexpower_dagster.defs.performance.sql import ASSET_PERFORMANCE_SQL
from flexpower_dagster.defs.performance.tables import ASSET_PERFORMANCE
from flexpower_dagster.lib.dagster.checks import build_suite_checks
from flexpower_dagster.lib.dagster.marts import daily_sql_mart
from flexpower_dagster.lib.dagster.metadata import md
from flexpower_dagster.lib.markdown import rounded

PER_ASSET_COLUMNS = [
    "asset_id",
    "bestof_mwh",
    "tradeable_mae_pct_capacity",
    "tradeable_bias_pct_capacity",
    "capture_rate",
    "imbalance_cost_eur_per_mwh",
    "margin_known_eur",
    "margin_complete",
]


def summarize_asset_performance(out: pd.DataFrame) -> dict:
    incomplete = out.loc[~out["margin_complete"].fillna(False).astype(bool)]
    priced_mwh = out["market_priced_mwh"].sum()
    return {
        "assets": len(out),
        "bestof_mwh": rounded(out["bestof_mwh"].sum()),
        "market_value_eur": rounded(out["market_value_eur"].sum(), 2),
        "portfolio_capture_price_eur_per_mwh": rounded(out["market_value_eur"].sum() / priced_mwh, 3) if priced_mwh else None,
        "trading_revenue_allocated_eur": rounded(out["trading_revenue_eur"].sum(), 2),
        "imbalance_cost_eur": rounded(out["imbalance_cost_eur"].sum(), 2),
        "margin_known_eur": rounded(out["margin_known_eur"].sum(), 2),
        "assets_with_incomplete_margin": len(incomplete),
        "margin_caveats": dg.MetadataValue.json(
            {str(a): str(c) for a, c in zip(out["asset_id"], out["margin_caveat"]) if isinstance(c, str)}
        ),
        "per_asset": md(out[PER_ASSET_COLUMNS]),
    }


marts_asset_performance = daily_sql_mart(
    ASSET_PERFORMANCE,
    ASSET_PERFORMANCE_SQL,
    deps=[
        ["marts", "contracts_in_force"],
        ["marts", "best_of_infeed"],
        ["marts", "asset_forecast"],
        ["marts", "imbalance"],
        ["marts", "trading_qh"],
    ],
    group_name="marts_performance",
    description=(
        "Per-asset performance of the delivery day, for the report site and month-end reviews: forecast accuracy "
        "(MAE and bias of latest and tradeable forecast vs measured best-of-infeed, MWh per QH and % of capacity), "
        "market value of the production (sum of MWh x market VWAP per QH) and capture rate vs the day's baseload, "
        "imbalance long/short volume and cost and cost per produced MWh, trading revenue allocated by tradeable "
        "forecast share, payout and fee estimates (the contract's formulas, defs/crm/formulas.py) and the margin "
        "(NULL with a caveat when a part is unknown, e.g. invalid contract terms that block the invoice). "
        "Definitions: docs/performance.md."
    ),
    summarize=summarize_asset_performance,
)

asset_performance_checks = build_suite_checks(ASSET_PERFORMANCE_SUITE)
