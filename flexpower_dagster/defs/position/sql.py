"""The position mart as SQL over the warehouse (pure: no Dagster; tested with :func:`lib.sql.evaluate`).

Per delivery day, scope and QH (docs/marts.md, "Position"); the scopes are ``portfolio`` and every technology
of the day's portfolio (the contract's ``technology``: ``solar``, ``wind``):

* forecasts are *read*, never recomputed: the portfolio's from ``marts.portfolio_forecast``, a technology's as
  the same sum over its assets' rows of ``marts.asset_forecast`` (assets that have a value; ``n_assets_without_latest``
  says when that is not all of them);
* ``net_sold_mwh`` = private sold - bought MWh of the QH (``marts.trading_qh.net_volume_mwh``: trade volumes are MW,
  ``mwh = mw * 0.25`` per QH slice). Trades carry no asset, so a technology gets the portfolio's figure times its
  share of the portfolio's tradeable forecast (what was sold for it; the rule of ``marts.asset_performance``);
* ``open_position_mwh = latest_forecast_mwh - net_sold_mwh`` (> 0 still to sell, < 0 to buy back); NULL when either
  is unknown or an asset of the scope has no latest forecast (a partial sum would be a wrong position);
* valued at the QH's market VWAP (public trades); realised revenue and VWAP from the private trades;
* if the open position stays open it becomes imbalance: ``expected_imbalance_cost_eur = -open_position_mwh * price``
  (positive = FlexPower pays), priced like ``marts.imbalance`` (final reBAP by direction, else the newest estimate);
* ``as_of`` = the newest input behind the row: the forecast version or the private trades' export time.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from flexpower_dagster.defs.crm.tables import CRM_CONTRACTS
from flexpower_dagster.defs.exchange.tables import EXCHANGE_PRIVATE_TRADES
from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST, PORTFOLIO_FORECAST
from flexpower_dagster.defs.imbalance.sql import PRICES_CTE, priced_columns
from flexpower_dagster.defs.imbalance_prices.tables import IMBALANCE_PRICE_ESTIMATES, IMBALANCE_PRICE_FINAL
from flexpower_dagster.defs.position.tables import PORTFOLIO_SCOPE, POSITION_QH, UNKNOWN_TECHNOLOGY
from flexpower_dagster.defs.trading.tables import TRADING_QH
from flexpower_dagster.lib.sql import day_params, evaluate

#: The export instant in a trade file's name (``Private_Trades-20250608-20250609T000516000Z.csv``), to the second.
EXPORT_TIME_SQL = (
    "try_strptime(regexp_extract(source_file, 'Trades-[0-9]{8}-([0-9]{8}T[0-9]{6})', 1), '%Y%m%dT%H%M%S')"
)

POSITION_QH_SQL = f"""
WITH {PRICES_CTE},
technology AS (
    SELECT contract_id,
           coalesce(nullif(lower(trim(min(technology))), ''), '{UNKNOWN_TECHNOLOGY}') AS scope
    FROM staging.crm_contracts
    WHERE delivery_day = CAST($day AS DATE)
    GROUP BY contract_id
),
asset_fc AS (
    SELECT a.*, coalesce(t.scope, '{UNKNOWN_TECHNOLOGY}') AS scope
    FROM marts.asset_forecast a LEFT JOIN technology t USING (contract_id)
    WHERE a.delivery_day = CAST($day AS DATE)
),
tech_fc AS (
    SELECT scope, delivery_start,
           count(DISTINCT asset_id) AS n_assets,
           count(*) FILTER (WHERE latest_mwh IS NULL) AS n_assets_without_latest,
           sum(latest_mwh) AS latest_forecast_mwh,
           sum(tradeable_mwh) AS tradeable_forecast_mwh,
           max(latest_version) AS forecast_version
    FROM asset_fc
    GROUP BY scope, delivery_start
),
portfolio_fc AS (
    SELECT '{PORTFOLIO_SCOPE}' AS scope, q.delivery_start,
           pf.n_assets, pf.n_assets_without_latest,
           pf.latest_mwh AS latest_forecast_mwh, pf.tradeable_mwh AS tradeable_forecast_mwh,
           v.forecast_version
    FROM qh_grid q
    LEFT JOIN (SELECT * FROM marts.portfolio_forecast WHERE delivery_day = CAST($day AS DATE)) pf USING (delivery_start)
    LEFT JOIN (SELECT delivery_start, max(latest_version) AS forecast_version FROM asset_fc GROUP BY delivery_start) v
        USING (delivery_start)
),
fc AS (
    SELECT * FROM portfolio_fc
    UNION ALL BY NAME
    SELECT * FROM tech_fc
),
trades AS (
    SELECT delivery_start, n_trades, net_volume_mwh, revenue_eur, vwap_eur_per_mwh, market_vwap_eur_per_mwh
    FROM marts.trading_qh
    WHERE delivery_day = CAST($day AS DATE)
),
export AS (
    SELECT max({EXPORT_TIME_SQL}) AS trades_exported_at
    FROM staging.exchange_private_trades
    WHERE delivery_day = CAST($day AS DATE)
),
shared AS (
    SELECT f.*,
           CASE WHEN f.scope = '{PORTFOLIO_SCOPE}' THEN 1.0
                WHEN p.tradeable_forecast_mwh > 0 THEN f.tradeable_forecast_mwh / p.tradeable_forecast_mwh END
               AS allocation_share
    FROM fc f LEFT JOIN portfolio_fc p USING (delivery_start)
),
sold AS (
    SELECT s.*, t.n_trades, t.vwap_eur_per_mwh, t.market_vwap_eur_per_mwh,
           -- nothing traded is a true 0 for every scope; otherwise a technology's share of the portfolio figure
           CASE WHEN t.n_trades = 0 THEN 0.0 ELSE t.net_volume_mwh * s.allocation_share END AS net_sold_mwh,
           CASE WHEN t.n_trades = 0 THEN 0.0 ELSE t.revenue_eur * s.allocation_share END AS realised_revenue_eur,
           t.net_volume_mwh AS portfolio_net_sold_mwh
    FROM shared s LEFT JOIN trades t USING (delivery_start)
),
positioned AS (
    SELECT s.*, q.delivery_end,
           CASE WHEN s.n_assets_without_latest = 0 THEN s.latest_forecast_mwh - s.net_sold_mwh END AS open_position_mwh
    FROM sold s JOIN qh_grid q USING (delivery_start)
),
priced AS (
    SELECT o.*, {priced_columns('o.open_position_mwh')}
    FROM positioned o LEFT JOIN prices p USING (delivery_start)
)
SELECT CAST($day AS DATE) AS delivery_day, scope, delivery_start, delivery_end,
       n_assets, n_assets_without_latest,
       latest_forecast_mwh, tradeable_forecast_mwh, forecast_version,
       net_sold_mwh,
       CASE WHEN scope = '{PORTFOLIO_SCOPE}' THEN 'trades' ELSE 'allocated' END AS net_sold_basis,
       allocation_share,
       open_position_mwh,
       market_vwap_eur_per_mwh,
       open_position_mwh * market_vwap_eur_per_mwh AS open_position_value_eur,
       realised_revenue_eur,
       vwap_eur_per_mwh AS realised_vwap_eur_per_mwh,
       vwap_eur_per_mwh - market_vwap_eur_per_mwh AS realised_vwap_minus_market_eur_per_mwh,
       direction AS expected_imbalance_direction,
       price_eur_per_mwh AS imbalance_price_eur_per_mwh,
       price_source AS imbalance_price_source,
       -open_position_mwh * price_eur_per_mwh AS expected_imbalance_cost_eur,
       x.trades_exported_at,
       greatest(forecast_version, x.trades_exported_at) AS as_of,
       nullif(concat_ws('; ',
              CASE WHEN latest_forecast_mwh IS NULL THEN 'no_latest_forecast'
                   WHEN n_assets_without_latest > 0
                   THEN n_assets_without_latest || ' of ' || n_assets || ' assets have no latest forecast' END,
              CASE WHEN portfolio_net_sold_mwh IS NULL THEN 'no_private_trades'
                   WHEN net_sold_mwh IS NULL THEN 'not_attributable' END,
              CASE WHEN market_vwap_eur_per_mwh IS NULL THEN 'no_market_vwap' END,
              CASE WHEN open_position_mwh IS NOT NULL AND price_eur_per_mwh IS NULL THEN 'no_imbalance_price' END),
              '') AS reason
FROM priced CROSS JOIN export x
ORDER BY scope, delivery_start
"""


def position_qh(
    *,
    asset_forecast: pd.DataFrame,
    portfolio_forecast: pd.DataFrame,
    contracts: pd.DataFrame,
    trading: pd.DataFrame,
    private_trades: pd.DataFrame | None = None,
    price_final: pd.DataFrame | None = None,
    price_estimates: pd.DataFrame | None = None,
    day: date,
) -> pd.DataFrame:
    """``marts.position_qh`` of ``day`` from the day's forecast and trading marts, the CRM snapshot (technology),
    the private trades (export time) and the imbalance prices."""
    tables = {
        ASSET_FORECAST: asset_forecast,
        PORTFOLIO_FORECAST: portfolio_forecast,
        CRM_CONTRACTS: contracts,
        TRADING_QH: trading,
        EXCHANGE_PRIVATE_TRADES: private_trades,
        IMBALANCE_PRICE_FINAL: price_final,
        IMBALANCE_PRICE_ESTIMATES: price_estimates,
    }
    return POSITION_QH.conform(evaluate(POSITION_QH_SQL, tables, day_params(day), partition_day=day))
