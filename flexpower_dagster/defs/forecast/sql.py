"""Forecast marts as SQL over the warehouse (pure: no Dagster; tested with :func:`lib.sql.evaluate`).

* latest forecast of a QH = value of the newest version with ``version <= delivery_start``;
* tradeable forecast = value of the newest version with ``version <= delivery_start - 15 min``
  (gate closure), each with its version. One ``GROUP BY (asset, QH)`` with filtered ``arg_max``
  picks both in a single pass (scales to tens of millions of forecast rows a day).
* The grid is every portfolio asset x the 96 QHs of the day: an asset with no qualifying version
  keeps a row with NULL values (never a silent 0).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from flexpower_dagster.defs.crm.portfolio import PORTFOLIO_CTE
from flexpower_dagster.defs.crm.tables import CRM_CONTRACTS
from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST, PORTFOLIO_FORECAST
from flexpower_dagster.defs.vpp.tables import VPP_FORECASTS
from flexpower_dagster.lib.sql import QH_GRID_CTE, day_params, evaluate

ASSET_FORECAST_SQL = f"""
WITH {QH_GRID_CTE},
{PORTFOLIO_CTE},
picked AS (
    SELECT f.asset_id, f.delivery_start,
           max(f.version) FILTER (WHERE f.version <= f.delivery_start) AS latest_version,
           arg_max({{'mw': f.mw}}, f.version) FILTER (WHERE f.version <= f.delivery_start) AS latest,
           max(f.version) FILTER (WHERE f.version <= f.delivery_start - INTERVAL 15 MINUTE) AS tradeable_version,
           arg_max({{'mw': f.mw}}, f.version)
               FILTER (WHERE f.version <= f.delivery_start - INTERVAL 15 MINUTE) AS tradeable,
           count(*) AS n_versions
    FROM staging.vpp_forecasts f
    WHERE f.delivery_day = CAST($day AS DATE) AND f.delivery_start >= $day_start AND f.delivery_start < $day_end
      AND f.asset_id IN (SELECT asset_id FROM portfolio)
    GROUP BY f.asset_id, f.delivery_start
)
SELECT CAST($day AS DATE) AS delivery_day, g.asset_id, g.delivery_start, g.delivery_end,
       p.latest.mw AS latest_mw, p.latest.mw * 0.25 AS latest_mwh, p.latest_version,
       p.tradeable.mw AS tradeable_mw, p.tradeable.mw * 0.25 AS tradeable_mwh, p.tradeable_version,
       coalesce(p.n_versions, 0) AS n_versions, g.contract_id
FROM asset_grid g LEFT JOIN picked p USING (asset_id, delivery_start)
ORDER BY g.asset_id, g.delivery_start
"""


def asset_forecast(forecasts: pd.DataFrame, contracts: pd.DataFrame, day: date) -> pd.DataFrame:
    """``marts.asset_forecast`` of ``day`` from the day's staged forecast versions and CRM snapshot."""
    out = evaluate(ASSET_FORECAST_SQL, {VPP_FORECASTS: forecasts, CRM_CONTRACTS: contracts}, day_params(day), partition_day=day)
    return ASSET_FORECAST.conform(out)


PORTFOLIO_FORECAST_SQL = f"""
WITH {QH_GRID_CTE},
agg AS (
    SELECT delivery_start,
           sum(latest_mw) AS latest_mw,
           sum(tradeable_mw) AS tradeable_mw,
           count(DISTINCT asset_id) AS n_assets,
           count(*) FILTER (WHERE latest_mw IS NULL) AS n_assets_without_latest,
           count(*) FILTER (WHERE tradeable_mw IS NULL) AS n_assets_without_tradeable
    FROM marts.asset_forecast
    WHERE delivery_day = CAST($day AS DATE)
    GROUP BY delivery_start
)
SELECT CAST($day AS DATE) AS delivery_day, q.delivery_start, q.delivery_end,
       a.latest_mw, a.latest_mw * 0.25 AS latest_mwh,
       a.tradeable_mw, a.tradeable_mw * 0.25 AS tradeable_mwh,
       coalesce(a.n_assets, 0) AS n_assets,
       coalesce(a.n_assets_without_latest, 0) AS n_assets_without_latest,
       coalesce(a.n_assets_without_tradeable, 0) AS n_assets_without_tradeable
FROM qh_grid q LEFT JOIN agg a USING (delivery_start)
ORDER BY q.delivery_start
"""


def portfolio_forecast(asset_forecast_frame: pd.DataFrame, day: date) -> pd.DataFrame:
    """``marts.portfolio_forecast``: per QH, sums over the portfolio rows of ``marts.asset_forecast``."""
    out = evaluate(PORTFOLIO_FORECAST_SQL, {ASSET_FORECAST: asset_forecast_frame}, day_params(day), partition_day=day)
    return PORTFOLIO_FORECAST.conform(out)
