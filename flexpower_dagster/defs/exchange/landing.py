"""The exchange (EPEX) as a landing source: FlexPower's private trades and the public market trades."""

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.exchange import sources
from flexpower_dagster.defs.exchange.expectations import EXCHANGE_PRIVATE_TRADES_SUITE, EXCHANGE_PUBLIC_TRADES_SUITE
from flexpower_dagster.lib.dagster.landing_source import LandingSource
from flexpower_dagster.lib.dagster.sensors import TRADING_FEED_INTERVAL_SECONDS
from flexpower_dagster.lib.dagster.staging import StagingSource, from_frame

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


EXCHANGE_PRIVATE_TRADES = StagingSource(
    sources.PRIVATE_TRADES, suite=EXCHANGE_PRIVATE_TRADES_SUITE, summarize=from_frame(summarize_trades, sources.PRIVATE_TRADES.table)
)
EXCHANGE_PUBLIC_TRADES = StagingSource(
    sources.PUBLIC_TRADES, suite=EXCHANGE_PUBLIC_TRADES_SUITE, summarize=from_frame(summarize_trades, sources.PUBLIC_TRADES.table)
)


@dg.component_instance
def exchange(context: dg.ComponentLoadContext) -> LandingSource:
    return LandingSource(
        system="exchange", sources=(EXCHANGE_PRIVATE_TRADES, EXCHANGE_PUBLIC_TRADES), sensor_interval_seconds=TRADING_FEED_INTERVAL_SECONDS,
        desk_feed=True,
    )
