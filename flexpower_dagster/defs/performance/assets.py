"""Dagster wiring of the performance mart (logic in :mod:`flexpower_dagster.defs.performance.sql`)."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.forecast.frames import md_table
from flexpower_dagster.defs.performance.sql import asset_performance
from flexpower_dagster.defs.performance.tables import ASSET_PERFORMANCE
from flexpower_dagster.platform.partitions import DAILY_TAGS, daily_partitions
from flexpower_dagster.platform.staging import partition_day, table_metadata


def _r(x, n: int = 3) -> float | None:
    return None if pd.isna(x) else round(float(x), n)


def _ratio(num: float, den: float, n: int = 4) -> float | None:
    return None if pd.isna(num) or pd.isna(den) or den == 0 else round(float(num) / float(den), n)


@dg.asset(
    key=["marts", "asset_performance"],
    ins={
        "contracts": dg.AssetIn(key=["marts", "contracts_in_force"]),
        "best": dg.AssetIn(key=["marts", "best_of_infeed"]),
        "forecast": dg.AssetIn(key=["marts", "asset_forecast"]),
        "imbalance": dg.AssetIn(key=["marts", "imbalance"]),
        "trading": dg.AssetIn(key=["marts", "trading_qh"]),
    },
    partitions_def=daily_partitions,
    tags=DAILY_TAGS,
    group_name="performance",
    kinds={"duckdb"},
    description=(
        "Per-asset performance of the delivery day, for the report site and month-end reviews: forecast accuracy "
        "(MAE and bias of latest and tradeable forecast vs measured best-of-infeed, MWh per QH and % of capacity), "
        "market value of the production (sum of MWh x market VWAP per QH) and capture rate vs the day's baseload, "
        "imbalance long/short volume and cost and cost per produced MWh, trading revenue allocated by tradeable "
        "forecast share, payout and fee estimates and the margin (NULL with a caveat when a part is unknown, "
        "e.g. invalid contract terms that block the invoice). Definitions: docs/performance.md."
    ),
    metadata=table_metadata(ASSET_PERFORMANCE),
)
def marts_asset_performance(
    context: dg.AssetExecutionContext,
    contracts: pd.DataFrame,
    best: pd.DataFrame,
    forecast: pd.DataFrame,
    imbalance: pd.DataFrame,
    trading: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    out = asset_performance(contracts, best, forecast, imbalance, trading, partition_day(context))
    incomplete = out.loc[~out["margin_complete"].fillna(False).astype(bool)]
    per_asset = out[
        [
            "asset_id",
            "bestof_mwh",
            "tradeable_mae_pct_capacity",
            "tradeable_bias_pct_capacity",
            "capture_rate",
            "imbalance_cost_eur_per_mwh",
            "margin_known_eur",
            "margin_complete",
        ]
    ]
    md = {
        "assets": len(out),
        "bestof_mwh": _r(out["bestof_mwh"].sum()),
        "market_value_eur": _r(out["market_value_eur"].sum(), 2),
        "portfolio_capture_price_eur_per_mwh": _ratio(out["market_value_eur"].sum(), out["market_priced_mwh"].sum(), 3),
        "trading_revenue_allocated_eur": _r(out["trading_revenue_eur"].sum(), 2),
        "imbalance_cost_eur": _r(out["imbalance_cost_eur"].sum(), 2),
        "margin_known_eur": _r(out["margin_known_eur"].sum(), 2),
        "assets_with_incomplete_margin": len(incomplete),
        "margin_caveats": dg.MetadataValue.json(
            {str(a): str(c) for a, c in zip(out["asset_id"], out["margin_caveat"]) if isinstance(c, str)}
        ),
        "per_asset": dg.MetadataValue.md(md_table(per_asset)),
    }
    if len(incomplete):
        context.log.warning(
            f"margin incomplete for {len(incomplete)} asset(s): {', '.join(incomplete['asset_id'].astype(str))}"
        )
    return dg.Output(out, metadata=md)
