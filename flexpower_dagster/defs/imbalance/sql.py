"""Imbalance marts as SQL over the warehouse (pure: no Dagster; tested with :func:`lib.sql.evaluate`).

Per portfolio asset and QH (domain.md quantity 6):
``imbalance_mwh = best_of_infeed_mwh - tradeable_forecast_mwh`` (> 0 long, < 0 short). NULL, with a
``reason``, when best-of-infeed is missing or there is no tradeable forecast: never 0.

Price of a QH: the final reBAP when published for the QH and the direction's side, else the newest
estimate (one price for both sides); ``unterdeckt`` (short price) when short, ``ueberdeckt`` (long
price) when long. An imbalance of exactly 0 is ``balanced`` and priced like long (the cost is 0
whatever the price). ``cost_eur = -imbalance_mwh * price`` (positive = FlexPower pays).

The portfolio nets the asset volumes per QH first and prices the net by its own sign; the sum of the
asset costs stands beside it (their difference is the netting benefit).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST
from flexpower_dagster.defs.imbalance.tables import IMBALANCE, PORTFOLIO_IMBALANCE
from flexpower_dagster.defs.imbalance_prices.tables import IMBALANCE_PRICE_ESTIMATES, IMBALANCE_PRICE_FINAL
from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED
from flexpower_dagster.lib.sql import QH_GRID_CTE, day_params, evaluate

#: QH grid of the day with the final short/long prices and the newest estimate.
PRICES_CTE = f"""
{QH_GRID_CTE},
final_p AS (
    SELECT delivery_start,
           arg_max({{'s': price_short_eur_per_mwh, 'l': price_long_eur_per_mwh}},
                   coalesce(published_at, TIMESTAMP '1970-01-01')) AS p
    FROM staging.imbalance_price_final
    WHERE delivery_day = CAST($day AS DATE) AND delivery_start >= $day_start AND delivery_start < $day_end
    GROUP BY delivery_start
),
estimate_p AS (
    SELECT delivery_start,
           arg_max({{'e': price_eur_per_mwh}}, coalesce(published_at, TIMESTAMP '1970-01-01')) AS p
    FROM staging.imbalance_price_estimates
    WHERE delivery_day = CAST($day AS DATE) AND delivery_start >= $day_start AND delivery_start < $day_end AND price_eur_per_mwh IS NOT NULL
    GROUP BY delivery_start
),
prices AS (
    SELECT q.delivery_start, q.delivery_end, f.p.s AS final_short, f.p.l AS final_long, e.p.e AS estimate
    FROM qh_grid q LEFT JOIN final_p f USING (delivery_start) LEFT JOIN estimate_p e USING (delivery_start)
)"""


def priced_columns(imb: str) -> str:
    """Columns ``direction``, ``price_eur_per_mwh``, ``price_source`` for the imbalance expression ``imb`` over a
    row of ``prices`` (:data:`PRICES_CTE`): the one pricing rule, also used by ``marts.position_qh``."""
    direction = f"CASE WHEN {imb} IS NULL THEN NULL WHEN {imb} < 0 THEN 'short' WHEN {imb} > 0 THEN 'long' ELSE 'balanced' END"
    final_price = f"CASE WHEN {imb} < 0 THEN final_short WHEN {imb} >= 0 THEN final_long END"
    price = f"coalesce({final_price}, CASE WHEN {imb} IS NOT NULL THEN estimate END)"
    source = (
        f"CASE WHEN {imb} IS NULL THEN (CASE WHEN final_short IS NOT NULL OR final_long IS NOT NULL THEN 'final' "
        f"WHEN estimate IS NOT NULL THEN 'estimate' ELSE 'none' END) "
        f"WHEN ({final_price}) IS NOT NULL THEN 'final' WHEN estimate IS NOT NULL THEN 'estimate' ELSE 'none' END"
    )
    return f"{direction} AS direction, {price} AS price_eur_per_mwh, {source} AS price_source"


IMBALANCE_SQL = f"""
WITH {PRICES_CTE},
vol AS (
    SELECT b.asset_id, b.delivery_start, b.delivery_end, b.mwh AS best_of_infeed_mwh, b.source AS infeed_source,
           f.tradeable_mwh AS tradeable_forecast_mwh, f.tradeable_version,
           b.mwh - f.tradeable_mwh AS imbalance_mwh
    FROM marts.best_of_infeed b
    LEFT JOIN (SELECT * FROM marts.asset_forecast WHERE delivery_day = CAST($day AS DATE)) f USING (asset_id, delivery_start)
    WHERE b.delivery_day = CAST($day AS DATE)
),
priced AS (
    SELECT v.*, {priced_columns('v.imbalance_mwh')}
    FROM vol v LEFT JOIN prices p USING (delivery_start)
)
SELECT CAST($day AS DATE) AS delivery_day, asset_id, delivery_start, delivery_end,
       best_of_infeed_mwh, infeed_source, tradeable_forecast_mwh, tradeable_version, imbalance_mwh,
       direction, price_eur_per_mwh, price_source,
       -imbalance_mwh * price_eur_per_mwh AS cost_eur,
       nullif(concat_ws('; ',
              CASE WHEN best_of_infeed_mwh IS NULL THEN 'missing_best_of_infeed' END,
              CASE WHEN tradeable_forecast_mwh IS NULL THEN 'no_tradeable_forecast' END,
              CASE WHEN imbalance_mwh IS NOT NULL AND price_eur_per_mwh IS NULL THEN 'no_price' END), '') AS reason
FROM priced
ORDER BY asset_id, delivery_start
"""


def imbalance(
    best: pd.DataFrame,
    forecast: pd.DataFrame,
    price_final: pd.DataFrame,
    price_estimates: pd.DataFrame,
    day: date,
) -> pd.DataFrame:
    """``marts.imbalance`` of ``day`` from ``marts.best_of_infeed``, ``marts.asset_forecast`` and the prices."""
    out = evaluate(
        IMBALANCE_SQL,
        {BEST_OF_INFEED: best, ASSET_FORECAST: forecast, IMBALANCE_PRICE_FINAL: price_final, IMBALANCE_PRICE_ESTIMATES: price_estimates},
        day_params(day),
        partition_day=day,
    )
    return IMBALANCE.conform(out)


PORTFOLIO_IMBALANCE_SQL = f"""
WITH {PRICES_CTE},
agg AS (
    SELECT delivery_start,
           sum(imbalance_mwh) AS known_imbalance_mwh,
           count(DISTINCT asset_id) AS n_assets,
           count(*) FILTER (WHERE imbalance_mwh IS NULL) AS n_assets_unknown,
           sum(cost_eur) AS known_costs,
           count(*) FILTER (WHERE cost_eur IS NULL) AS n_costs_unknown
    FROM marts.imbalance
    WHERE delivery_day = CAST($day AS DATE)
    GROUP BY delivery_start
),
net AS (
    SELECT p.*, coalesce(a.n_assets, 0) AS n_assets, coalesce(a.n_assets_unknown, 0) AS n_assets_unknown,
           a.known_imbalance_mwh,
           CASE WHEN coalesce(a.n_assets_unknown, 0) = 0 THEN coalesce(a.known_imbalance_mwh, 0) END AS imbalance_mwh,
           CASE WHEN coalesce(a.n_costs_unknown, 0) = 0 THEN coalesce(a.known_costs, 0) END AS sum_of_asset_costs_eur
    FROM prices p LEFT JOIN agg a USING (delivery_start)
),
priced AS (
    SELECT n.*, {priced_columns('n.imbalance_mwh')} FROM net n
)
SELECT CAST($day AS DATE) AS delivery_day, delivery_start, delivery_end,
       imbalance_mwh, known_imbalance_mwh, direction, price_eur_per_mwh, price_source,
       price_source = 'estimate' AS estimate_priced,
       -imbalance_mwh * price_eur_per_mwh AS cost_eur,
       sum_of_asset_costs_eur,
       sum_of_asset_costs_eur - (-imbalance_mwh * price_eur_per_mwh) AS netting_benefit_eur,
       n_assets, n_assets_unknown,
       nullif(concat_ws('; ',
              CASE WHEN n_assets_unknown > 0
                   THEN n_assets_unknown || ' of ' || n_assets || ' assets have no imbalance' END,
              CASE WHEN imbalance_mwh IS NOT NULL AND price_eur_per_mwh IS NULL THEN 'no_price' END), '') AS reason
FROM priced
ORDER BY delivery_start
"""


def portfolio_imbalance(
    asset_imbalance: pd.DataFrame, price_final: pd.DataFrame, price_estimates: pd.DataFrame, day: date
) -> pd.DataFrame:
    """``marts.portfolio_imbalance`` of ``day`` from ``marts.imbalance`` and the prices (96 rows)."""
    out = evaluate(
        PORTFOLIO_IMBALANCE_SQL,
        {IMBALANCE: asset_imbalance, IMBALANCE_PRICE_FINAL: price_final, IMBALANCE_PRICE_ESTIMATES: price_estimates},
        day_params(day),
        partition_day=day,
    )
    return PORTFOLIO_IMBALANCE.conform(out)
