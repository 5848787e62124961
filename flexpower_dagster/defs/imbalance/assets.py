"""Dagster wiring of the imbalance marts (logic in :mod:`flexpower_dagster.defs.imbalance.sql`)."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.forecast.frames import md_table
from flexpower_dagster.defs.imbalance.sql import imbalance, portfolio_imbalance
from flexpower_dagster.defs.imbalance.tables import IMBALANCE, PORTFOLIO_IMBALANCE
from flexpower_dagster.platform.partitions import DAILY_TAGS, daily_partitions
from flexpower_dagster.platform.staging import partition_day, table_metadata

_PRICES = {
    "price_final": dg.AssetIn(key=["staging", "imbalance_price_final"]),
    "price_estimates": dg.AssetIn(key=["staging", "imbalance_price_estimates"]),
}


def _r(x, n: int = 3) -> float | None:
    return None if pd.isna(x) else round(float(x), n)


@dg.asset(
    key=["marts", "imbalance"],
    ins={
        "best": dg.AssetIn(key=["marts", "best_of_infeed"]),
        "forecast": dg.AssetIn(key=["marts", "asset_forecast"]),
        **_PRICES,
    },
    partitions_def=daily_partitions,
    tags=DAILY_TAGS,
    group_name="imbalance",
    kinds={"duckdb"},
    description=(
        "Imbalance per portfolio asset and QH: imbalance_mwh = best_of_infeed_mwh - tradeable_forecast_mwh; "
        "cost_eur = -imbalance_mwh * price (final reBAP unterdeckt/ueberdeckt by sign, else newest estimate)."
    ),
    metadata=table_metadata(IMBALANCE),
)
def marts_imbalance(
    context: dg.AssetExecutionContext,
    best: pd.DataFrame,
    forecast: pd.DataFrame,
    price_final: pd.DataFrame,
    price_estimates: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    out = imbalance(best, forecast, price_final, price_estimates, partition_day(context))
    per_asset = (
        out.groupby("asset_id")
        .agg(
            imbalance_mwh=("imbalance_mwh", "sum"),
            abs_imbalance_mwh=("imbalance_mwh", lambda s: s.abs().sum()),
            cost_eur=("cost_eur", "sum"),
            qhs_unknown=("imbalance_mwh", lambda s: int(s.isna().sum())),
            qhs_estimate=("price_source", lambda s: int((s == "estimate").sum())),
        )
        .reset_index()
    )
    md = {
        "rows": len(out),
        "imbalance_mwh": _r(out["imbalance_mwh"].sum()),
        "abs_imbalance_mwh": _r(out["imbalance_mwh"].abs().sum()),
        "cost_eur": _r(out["cost_eur"].sum(), 2),
        "asset_qhs_priced_final": int((out["price_source"] == "final").sum()),
        "asset_qhs_priced_estimate": int((out["price_source"] == "estimate").sum()),
        "asset_qhs_without_price": int((out["price_source"] == "none").sum()),
        "asset_qhs_unknown_imbalance": int(out["imbalance_mwh"].isna().sum()),
        "reasons": dg.MetadataValue.json({str(k): int(v) for k, v in out["reason"].value_counts().items()}),
        "per_asset": dg.MetadataValue.md(md_table(per_asset)),
    }
    return dg.Output(out, metadata=md)


@dg.asset(
    key=["marts", "portfolio_imbalance"],
    ins={"asset_imbalance": dg.AssetIn(key=["marts", "imbalance"]), **_PRICES},
    partitions_def=daily_partitions,
    tags=DAILY_TAGS,
    group_name="imbalance",
    kinds={"duckdb"},
    description=(
        "Portfolio imbalance per QH, netted before pricing: imbalance_mwh = sum of asset imbalances; "
        "cost_eur = -imbalance_mwh * price(sign of the net); sum_of_asset_costs_eur beside it."
    ),
    metadata=table_metadata(PORTFOLIO_IMBALANCE),
)
def marts_portfolio_imbalance(
    context: dg.AssetExecutionContext,
    asset_imbalance: pd.DataFrame,
    price_final: pd.DataFrame,
    price_estimates: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    out = portfolio_imbalance(asset_imbalance, price_final, price_estimates, partition_day(context))
    est = out.loc[out["estimate_priced"].astype(bool), "delivery_start"]
    md = {
        "rows": len(out),
        "net_imbalance_mwh": _r(out["imbalance_mwh"].sum()),
        "cost_eur": _r(out["cost_eur"].sum(), 2),
        "sum_of_asset_costs_eur": _r(out["sum_of_asset_costs_eur"].sum(), 2),
        "netting_benefit_eur": _r(out["netting_benefit_eur"].sum(), 2),
        "qhs_priced_with_estimates": len(est),
        "estimate_priced_qhs": dg.MetadataValue.json([t.strftime("%H:%M") for t in pd.to_datetime(est)]),
        "qhs_without_price": int((out["price_source"] == "none").sum()),
        "qhs_incomplete": int(out["imbalance_mwh"].isna().sum()),
    }
    if md["qhs_priced_with_estimates"]:
        context.log.info(f"{md['qhs_priced_with_estimates']} QHs priced with estimates (final reBAP not published)")
    return dg.Output(out, metadata=md)
