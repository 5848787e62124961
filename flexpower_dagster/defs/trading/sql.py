"""Trading marts as SQL over the warehouse (pure: no Dagster; tested with :func:`lib.sql.evaluate`).

Every trade is cut into QH slices of the same MW (an hourly product gives four, a quarter-hourly
one), each slice ``mwh = mw * 0.25``. Per QH and per day (domain.md quantity 5):
revenue ``sum(sign * mwh * price)`` (SELL +1, BUY -1), distinct trade ids, net/bought/sold MWh and
VWAP ``sum(mwh * price) / sum(mwh)`` over buys and sells; the same VWAP over public trades is the
market VWAP. Every QH of the day has a row: in a QH without trades revenue and volumes are 0 (truly nothing
traded) and the VWAPs NULL (no price exists). A day without private trade data at all (no export, or only
rejected ones) is *no data*: its private figures are NULL, never 0 (``private_trades_loaded`` = false).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from flexpower_dagster.defs.exchange.tables import EXCHANGE_PRIVATE_TRADES, EXCHANGE_PUBLIC_TRADES
from flexpower_dagster.defs.trading.tables import TRADING_DAILY, TRADING_QH
from flexpower_dagster.lib.sql import QH_GRID_CTE, day_params, evaluate


def _slices(table: str) -> str:
    return f"""
    SELECT trade_id, product,
           CASE upper(trim(side)) WHEN 'SELL' THEN 1 WHEN 'BUY' THEN -1 END AS sign,
           upper(trim(side)) AS side,
           volume_mw AS mw, volume_mw * 0.25 AS mwh, price_eur_per_mwh AS price,
           unnest(generate_series(delivery_start,
                                  coalesce(delivery_end, delivery_start + INTERVAL 15 MINUTE) - INTERVAL 15 MINUTE,
                                  INTERVAL 15 MINUTE)) AS delivery_start
    FROM {table}
    WHERE delivery_day = CAST($day AS DATE)
    """


_AGG = """
           coalesce(sum(sign * mwh * price), 0) AS revenue_eur,
           count(DISTINCT trade_id) AS n_trades,
           coalesce(sum(sign * mwh), 0) AS net_volume_mwh,
           coalesce(sum(mwh) FILTER (WHERE side = 'BUY'), 0) AS bought_mwh,
           coalesce(sum(mwh) FILTER (WHERE side = 'SELL'), 0) AS sold_mwh,
           sum(mwh * price) / nullif(sum(mwh), 0) AS vwap_eur_per_mwh,
           sum(mwh * price) FILTER (WHERE side = 'BUY') / nullif(sum(mwh) FILTER (WHERE side = 'BUY'), 0)
               AS buy_vwap_eur_per_mwh,
           sum(mwh * price) FILTER (WHERE side = 'SELL') / nullif(sum(mwh) FILTER (WHERE side = 'SELL'), 0)
               AS sell_vwap_eur_per_mwh"""

_MARKET_AGG = """
           sum(mwh * price) / nullif(sum(mwh), 0) AS market_vwap_eur_per_mwh,
           coalesce(sum(mwh), 0) AS market_volume_mwh,
           count(DISTINCT trade_id) AS n_market_trades"""

_SLICES_CTE = f"""
private_slices AS (
    SELECT * FROM ({_slices('staging.exchange_private_trades')}) WHERE delivery_start >= $day_start AND delivery_start < $day_end
),
public_slices AS (
    SELECT * FROM ({_slices('staging.exchange_public_trades')}) WHERE delivery_start >= $day_start AND delivery_start < $day_end
)"""

TRADING_QH_SQL = f"""
WITH {_SLICES_CTE},
{QH_GRID_CTE},
priv AS (SELECT delivery_start, {_AGG} FROM private_slices GROUP BY delivery_start),
pub AS (SELECT delivery_start, {_MARKET_AGG} FROM public_slices GROUP BY delivery_start),
loaded AS (SELECT count(*) > 0 AS yes FROM private_slices)
SELECT CAST($day AS DATE) AS delivery_day, q.delivery_start, q.delivery_end,
       CASE WHEN l.yes THEN coalesce(p.revenue_eur, 0) END AS revenue_eur,
       CASE WHEN l.yes THEN coalesce(p.n_trades, 0) END AS n_trades,
       CASE WHEN l.yes THEN coalesce(p.net_volume_mwh, 0) END AS net_volume_mwh,
       CASE WHEN l.yes THEN coalesce(p.bought_mwh, 0) END AS bought_mwh,
       CASE WHEN l.yes THEN coalesce(p.sold_mwh, 0) END AS sold_mwh,
       p.vwap_eur_per_mwh, p.buy_vwap_eur_per_mwh, p.sell_vwap_eur_per_mwh,
       m.market_vwap_eur_per_mwh,
       p.vwap_eur_per_mwh - m.market_vwap_eur_per_mwh AS vwap_minus_market_eur_per_mwh,
       coalesce(m.market_volume_mwh, 0) AS market_volume_mwh, coalesce(m.n_market_trades, 0) AS n_market_trades,
       l.yes AS private_trades_loaded
FROM qh_grid q CROSS JOIN loaded l LEFT JOIN priv p USING (delivery_start) LEFT JOIN pub m USING (delivery_start)
ORDER BY q.delivery_start
"""

TRADING_DAILY_SQL = f"""
WITH {_SLICES_CTE},
priv AS (
    SELECT {_AGG},
           count(DISTINCT trade_id) FILTER (WHERE product = 'hourly') AS n_hourly_trades,
           count(DISTINCT trade_id) FILTER (WHERE product = 'quarter_hourly') AS n_quarter_hourly_trades,
           count(DISTINCT delivery_start) AS n_qhs_traded
    FROM private_slices
),
pub AS (SELECT {_MARKET_AGG} FROM public_slices)
SELECT CAST($day AS DATE) AS delivery_day,
       CASE WHEN p.n_trades > 0 THEN p.revenue_eur END AS revenue_eur,
       CASE WHEN p.n_trades > 0 THEN p.n_trades END AS n_trades,
       CASE WHEN p.n_trades > 0 THEN p.net_volume_mwh END AS net_volume_mwh,
       CASE WHEN p.n_trades > 0 THEN p.bought_mwh END AS bought_mwh,
       CASE WHEN p.n_trades > 0 THEN p.sold_mwh END AS sold_mwh,
       p.vwap_eur_per_mwh, p.buy_vwap_eur_per_mwh, p.sell_vwap_eur_per_mwh,
       m.market_vwap_eur_per_mwh,
       p.vwap_eur_per_mwh - m.market_vwap_eur_per_mwh AS vwap_minus_market_eur_per_mwh,
       m.market_volume_mwh, m.n_market_trades,
       CASE WHEN p.n_trades > 0 THEN p.n_hourly_trades END AS n_hourly_trades,
       CASE WHEN p.n_trades > 0 THEN p.n_quarter_hourly_trades END AS n_quarter_hourly_trades,
       CASE WHEN p.n_trades > 0 THEN p.n_qhs_traded END AS n_qhs_traded,
       p.n_trades > 0 AS private_trades_loaded
FROM priv p CROSS JOIN pub m
"""


def _inputs(private: pd.DataFrame, public: pd.DataFrame) -> dict:
    return {EXCHANGE_PRIVATE_TRADES: private, EXCHANGE_PUBLIC_TRADES: public}


def trading_qh(private: pd.DataFrame, public: pd.DataFrame, day: date) -> pd.DataFrame:
    """``marts.trading_qh`` of ``day`` from the day's staged private and public trades (96 rows)."""
    return TRADING_QH.conform(evaluate(TRADING_QH_SQL, _inputs(private, public), day_params(day), partition_day=day))


def trading_daily(private: pd.DataFrame, public: pd.DataFrame, day: date) -> pd.DataFrame:
    """``marts.trading_daily`` of ``day`` (one row; trade ids counted once over the day)."""
    return TRADING_DAILY.conform(evaluate(TRADING_DAILY_SQL, _inputs(private, public), day_params(day), partition_day=day))
