"""Dagster wiring of the trading marts (logic in :mod:`flexpower_dagster.defs.trading.sql`)."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.trading.sql import trading_daily, trading_qh
from flexpower_dagster.defs.trading.tables import TRADING_DAILY, TRADING_QH
from flexpower_dagster.platform.partitions import DAILY_TAGS, daily_partitions
from flexpower_dagster.platform.staging import partition_day, table_metadata

_INS = {
    "private_trades": dg.AssetIn(key=["staging", "exchange_private_trades"]),
    "public_trades": dg.AssetIn(key=["staging", "exchange_public_trades"]),
}


def _r(x, n: int = 3) -> float | None:
    return None if pd.isna(x) else round(float(x), n)


@dg.asset(
    key=["marts", "trading_qh"],
    ins=_INS,
    partitions_def=daily_partitions,
    tags=DAILY_TAGS,
    group_name="trading",
    kinds={"duckdb"},
    description=(
        "Private trading per QH (hourly trades = four QH slices of the same MW): revenue = sum(sign*mw*0.25*price) "
        "(SELL +1, BUY -1), VWAP = sum(mwh*price)/sum(mwh), market VWAP over public trades; all 96 QHs."
    ),
    metadata=table_metadata(TRADING_QH),
)
def marts_trading_qh(
    context: dg.AssetExecutionContext, private_trades: pd.DataFrame, public_trades: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    out = trading_qh(private_trades, public_trades, partition_day(context))
    best = out.loc[out["revenue_eur"].idxmax()] if len(out) else None
    md = {
        "rows": len(out),
        "revenue_eur": _r(out["revenue_eur"].sum(), 2),
        "net_volume_mwh": _r(out["net_volume_mwh"].sum()),
        "qhs_with_private_trades": int((out["n_trades"] > 0).sum()),
        "qhs_without_market_trades": int((out["n_market_trades"] == 0).sum()),
        "best_qh": str(best["delivery_start"]) if best is not None else None,
        "best_qh_revenue_eur": _r(best["revenue_eur"], 2) if best is not None else None,
        "mean_vwap_minus_market": _r(out["vwap_minus_market_eur_per_mwh"].mean(), 3),
    }
    return dg.Output(out, metadata=md)


@dg.asset(
    key=["marts", "trading_daily"],
    ins=_INS,
    partitions_def=daily_partitions,
    tags=DAILY_TAGS,
    group_name="trading",
    kinds={"duckdb"},
    description=(
        "Private trading of the delivery day: revenue = sum(sign*mwh*price), distinct trades, net/bought/sold MWh, "
        "VWAP = sum(mwh*price)/sum(mwh) and market VWAP over the public trades."
    ),
    metadata=table_metadata(TRADING_DAILY),
)
def marts_trading_daily(
    context: dg.AssetExecutionContext, private_trades: pd.DataFrame, public_trades: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    out = trading_daily(private_trades, public_trades, partition_day(context))
    r = out.iloc[0]
    md = {
        "revenue_eur": _r(r["revenue_eur"], 2),
        "n_trades": int(r["n_trades"]),
        "n_hourly_trades": int(r["n_hourly_trades"]),
        "n_quarter_hourly_trades": int(r["n_quarter_hourly_trades"]),
        "net_volume_mwh": _r(r["net_volume_mwh"]),
        "bought_mwh": _r(r["bought_mwh"]),
        "sold_mwh": _r(r["sold_mwh"]),
        "vwap_eur_per_mwh": _r(r["vwap_eur_per_mwh"], 3),
        "market_vwap_eur_per_mwh": _r(r["market_vwap_eur_per_mwh"], 3),
        "vwap_minus_market_eur_per_mwh": _r(r["vwap_minus_market_eur_per_mwh"], 3),
        "n_market_trades": int(r["n_market_trades"]),
    }
    return dg.Output(out, metadata=md)
