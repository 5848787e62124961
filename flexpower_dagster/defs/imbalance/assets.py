"""Dagster wiring of the imbalance marts (logic in :mod:`flexpower_dagster.defs.imbalance.sql`) and their checks."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.imbalance.expectations import IMBALANCE_SUITE, PORTFOLIO_IMBALANCE_SUITE
from flexpower_dagster.defs.imbalance.sql import IMBALANCE_SQL, PORTFOLIO_IMBALANCE_SQL
from flexpower_dagster.defs.imbalance.tables import IMBALANCE, PORTFOLIO_IMBALANCE
from flexpower_dagster.lib.dagster.checks import build_suite_checks
from flexpower_dagster.lib.dagster.marts import daily_sql_mart
from flexpower_dagster.lib.dagster.metadata import md
from flexpower_dagster.lib.markdown import rounded

PRICES = [["staging", "imbalance_price_final"], ["staging", "imbalance_price_estimates"]]


def summarize_imbalance(out: pd.DataFrame) -> dict:
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
    return {
        "imbalance_mwh": rounded(out["imbalance_mwh"].sum()),
        "abs_imbalance_mwh": rounded(out["imbalance_mwh"].abs().sum()),
        "cost_eur": rounded(out["cost_eur"].sum(), 2),
        "asset_qhs_priced_final": int((out["price_source"] == "final").sum()),
        "asset_qhs_priced_estimate": int((out["price_source"] == "estimate").sum()),
        "asset_qhs_without_price": int((out["price_source"] == "none").sum()),
        "asset_qhs_unknown_imbalance": int(out["imbalance_mwh"].isna().sum()),
        "reasons": dg.MetadataValue.json({str(k): int(v) for k, v in out["reason"].value_counts().items()}),
        "per_asset": md(per_asset),
    }


def summarize_portfolio_imbalance(out: pd.DataFrame) -> dict:
    est = out.loc[out["estimate_priced"].astype(bool), "delivery_start"]
    return {
        "net_imbalance_mwh": rounded(out["imbalance_mwh"].sum()),
        "cost_eur": rounded(out["cost_eur"].sum(), 2),
        "sum_of_asset_costs_eur": rounded(out["sum_of_asset_costs_eur"].sum(), 2),
        "netting_benefit_eur": rounded(out["netting_benefit_eur"].sum(), 2),
        "qhs_priced_with_estimates": len(est),
        "estimate_priced_qhs": dg.MetadataValue.json([t.strftime("%H:%M") for t in pd.to_datetime(est)]),
        "qhs_without_price": int((out["price_source"] == "none").sum()),
        "qhs_incomplete": int(out["imbalance_mwh"].isna().sum()),
    }


marts_imbalance = daily_sql_mart(
    IMBALANCE,
    IMBALANCE_SQL,
    deps=[["marts", "best_of_infeed"], ["marts", "asset_forecast"], *PRICES],
    group_name="marts_imbalance",
    description=(
        "Imbalance per portfolio asset and QH: imbalance_mwh = best_of_infeed_mwh - tradeable_forecast_mwh; "
        "cost_eur = -imbalance_mwh * price (final reBAP unterdeckt/ueberdeckt by sign, else newest estimate)."
    ),
    summarize=summarize_imbalance,
)

marts_portfolio_imbalance = daily_sql_mart(
    PORTFOLIO_IMBALANCE,
    PORTFOLIO_IMBALANCE_SQL,
    deps=[["marts", "imbalance"], *PRICES],
    group_name="marts_imbalance",
    description=(
        "Portfolio imbalance per QH, netted before pricing: imbalance_mwh = sum of asset imbalances; "
        "cost_eur = -imbalance_mwh * price(sign of the net); sum_of_asset_costs_eur beside it."
    ),
    summarize=summarize_portfolio_imbalance,
)

imbalance_checks = build_suite_checks(IMBALANCE_SUITE)
portfolio_imbalance_checks = build_suite_checks(PORTFOLIO_IMBALANCE_SUITE)
