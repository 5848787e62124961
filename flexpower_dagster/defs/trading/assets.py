"""Dagster wiring of the trading marts (logic in :mod:`flexpower_dagster.defs.trading.sql`) and their checks."""

import pandas as pd

from flexpower_dagster.defs.trading.expectations import TRADING_DAILY_SUITE, TRADING_QH_SUITE
from flexpower_dagster.defs.trading.sql import TRADING_DAILY_SQL, TRADING_QH_SQL
from flexpower_dagster.defs.trading.tables import TRADING_DAILY, TRADING_QH
from flexpower_dagster.lib.dagster.checks import build_suite_checks
from flexpower_dagster.lib.dagster.marts import daily_sql_mart
from flexpower_dagster.lib.markdown import rounded

TRADES = [["staging", "exchange_private_trades"], ["staging", "exchange_public_trades"]]


def _count(value) -> int | None:
    """A count, or None when the day's private trades were not loaded (the marts say unknown, not 0)."""
    return None if pd.isna(value) else int(value)


def summarize_trading_qh(out: pd.DataFrame) -> dict:
    known = out.loc[out["revenue_eur"].notna()]
    best = known.loc[known["revenue_eur"].idxmax()] if len(known) else None
    return {
        "revenue_eur": rounded(known["revenue_eur"].sum(), 2) if len(known) else None,
        "net_volume_mwh": rounded(known["net_volume_mwh"].sum()) if len(known) else None,
        "qhs_with_private_trades": int((out["n_trades"].fillna(0) > 0).sum()),
        "qhs_without_market_trades": int((out["n_market_trades"] == 0).sum()),
        "best_qh": str(best["delivery_start"]) if best is not None else None,
        "best_qh_revenue_eur": rounded(best["revenue_eur"], 2) if best is not None else None,
        "mean_vwap_minus_market_eur_per_mwh": rounded(out["vwap_minus_market_eur_per_mwh"].mean(), 3),
    }


def summarize_trading_daily(out: pd.DataFrame) -> dict:
    r = out.sort_values("delivery_day").iloc[-1]
    return {
        "revenue_eur": rounded(r["revenue_eur"], 2),
        "n_trades": _count(r["n_trades"]),
        "n_hourly_trades": _count(r["n_hourly_trades"]),
        "n_quarter_hourly_trades": _count(r["n_quarter_hourly_trades"]),
        "net_volume_mwh": rounded(r["net_volume_mwh"]),
        "bought_mwh": rounded(r["bought_mwh"]),
        "sold_mwh": rounded(r["sold_mwh"]),
        "vwap_eur_per_mwh": rounded(r["vwap_eur_per_mwh"], 3),
        "market_vwap_eur_per_mwh": rounded(r["market_vwap_eur_per_mwh"], 3),
        "vwap_minus_market_eur_per_mwh": rounded(r["vwap_minus_market_eur_per_mwh"], 3),
        "n_market_trades": _count(r["n_market_trades"]),
    }


marts_trading_qh = daily_sql_mart(
    TRADING_QH,
    TRADING_QH_SQL,
    deps=TRADES,
    group_name="marts_trading",
    description=(
        "Private trading per QH (hourly trades = four QH slices of the same MW): revenue = sum(sign*mw*0.25*price) "
        "(SELL +1, BUY -1), VWAP = sum(mwh*price)/sum(mwh), market VWAP over public trades; all 96 QHs."
    ),
    summarize=summarize_trading_qh,
)

marts_trading_daily = daily_sql_mart(
    TRADING_DAILY,
    TRADING_DAILY_SQL,
    deps=TRADES,
    group_name="marts_trading",
    description=(
        "Private trading of the delivery day: revenue = sum(sign*mwh*price), distinct trades, net/bought/sold MWh, "
        "VWAP = sum(mwh*price)/sum(mwh) and market VWAP over the public trades."
    ),
    summarize=summarize_trading_daily,
)

trading_qh_checks = build_suite_checks(TRADING_QH_SUITE)
trading_daily_checks = build_suite_checks(TRADING_DAILY_SUITE)
