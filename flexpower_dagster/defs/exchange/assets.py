"""Staging assets of the exchange: FlexPower's private trades and the public market trades."""

import pandas as pd

from flexpower_dagster.defs.exchange import sources
from flexpower_dagster.platform.staging import build_staging_asset

HOURS = {"hourly": 1.0, "quarter_hourly": 0.25}


def summarize_trades(frame: pd.DataFrame) -> dict:
    """Trade counts, bought/sold MWh and the VWAP (sum(mwh * price) / sum(mwh), buys and sells alike)."""
    mwh = frame["volume_mw"] * frame["product"].map(HOURS)
    buy = frame["side"] == "BUY"
    total = float(mwh.sum())
    return {
        "n_trades": int(frame["trade_id"].nunique()),
        "n_hourly": int((frame["product"] == "hourly").sum()),
        "n_quarter_hourly": int((frame["product"] == "quarter_hourly").sum()),
        "n_buy": int(buy.sum()),
        "n_sell": int((~buy).sum()),
        "bought_mwh": float(mwh[buy].sum()),
        "sold_mwh": float(mwh[~buy].sum()),
        "vwap_eur_per_mwh": float((mwh * frame["price_eur_per_mwh"]).sum() / total) if total else float("nan"),
        "min_price_eur_per_mwh": float(frame["price_eur_per_mwh"].min()),
        "max_price_eur_per_mwh": float(frame["price_eur_per_mwh"].max()),
    }


exchange_private_trades = build_staging_asset(sources.PRIVATE_TRADES, summarize=summarize_trades)
exchange_public_trades = build_staging_asset(sources.PUBLIC_TRADES, summarize=summarize_trades)
