"""Infeed marts as SQL over the warehouse (pure: no Dagster; tested with :func:`lib.sql.evaluate`).

* live infeed (domain.md quantity 3): per asset and QH, the mean of the live samples with
  ``delivery_start <= timestamp < delivery_end``; QHs without a (non-NULL) sample have no row. The live
  samples of quarantined assets (``$quarantined``: beyond -5 %..110 % of the contract capacity, unknown
  asset) are not used: best-of-infeed falls back to the forecast for them.
* best-of-infeed (quantity 4): every portfolio asset x 96 QHs, the first available of
  final DSO -> live VPP -> latest forecast; in a QH the DSO flagged as redispatched the forecast step
  gives 0 (``forecast_redispatched``: the asset was switched off, so 0 is known, not assumed, and it
  applies even when no forecast exists); otherwise ``missing`` with NULL mw/mwh, never a silent 0.
  Final data and redispatch flags are joined on the metering point of the contract in force.
* portfolio best-of-infeed: sums and source shares per QH (shares of the portfolio's assets).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from flexpower_dagster.defs.crm.portfolio import PORTFOLIO_CTE
from flexpower_dagster.defs.crm.tables import CRM_CONTRACTS
from flexpower_dagster.defs.dso.tables import DSO_FINAL_PRODUCTION, DSO_REDISPATCH_FLAGS
from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST
from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED, LIVE_INFEED, PORTFOLIO_BEST_OF_INFEED
from flexpower_dagster.defs.vpp.tables import VPP_LIVE_SAMPLES
from flexpower_dagster.lib.sql import QH_GRID_CTE, day_params, evaluate

LIVE_INFEED_SQL = """
SELECT CAST($day AS DATE) AS delivery_day, asset_id,
       time_bucket(INTERVAL 15 MINUTE, "timestamp") AS delivery_start,
       time_bucket(INTERVAL 15 MINUTE, "timestamp") + INTERVAL 15 MINUTE AS delivery_end,
       avg(mw) AS mw, avg(mw) * 0.25 AS mwh, count(*) AS n_samples,
       min(mw) AS min_mw, max(mw) AS max_mw, avg(quality) AS mean_quality,
       min("timestamp") AS first_sample_at, max("timestamp") AS last_sample_at
FROM staging.vpp_live_samples
WHERE delivery_day = CAST($day AS DATE) AND "timestamp" >= $day_start AND "timestamp" < $day_end AND mw IS NOT NULL AND asset_id IS NOT NULL
  AND NOT list_contains($quarantined, asset_id)
GROUP BY ALL
ORDER BY asset_id, delivery_start
"""


def live_infeed(samples: pd.DataFrame, day: date, quarantined: list[str] | None = None) -> pd.DataFrame:
    """``marts.live_infeed`` of ``day`` from ``staging.vpp_live_samples`` (``quarantined``: assets whose
    live samples must not be used)."""
    params = {**day_params(day), "quarantined": list(quarantined or [])}
    out = evaluate(LIVE_INFEED_SQL, {VPP_LIVE_SAMPLES: samples}, params, partition_day=day)
    return LIVE_INFEED.conform(out)


BEST_OF_INFEED_SQL = f"""
WITH {QH_GRID_CTE},
{PORTFOLIO_CTE},
joined AS (
    SELECT g.asset_id, g.delivery_start, g.delivery_end, g.metering_point_id, g.contract_id,
           fin.mw AS final_mw,
           live.mw AS live_mw, live.n_samples AS live_n_samples,
           fc.latest_mw AS forecast_mw, fc.latest_version AS forecast_version,
           coalesce(rd.is_redispatched, false) AS redispatched
    FROM asset_grid g
    LEFT JOIN (SELECT metering_point_id, delivery_start, mw FROM staging.dso_final_production
               WHERE delivery_day = CAST($day AS DATE) AND delivery_start >= $day_start AND delivery_start < $day_end
                 AND mw IS NOT NULL AND NOT list_contains($quarantined, asset_id)) fin
           ON fin.metering_point_id = g.metering_point_id AND fin.delivery_start = g.delivery_start
    LEFT JOIN (SELECT asset_id, delivery_start, mw, n_samples FROM marts.live_infeed WHERE delivery_day = CAST($day AS DATE)) live
           ON live.asset_id = g.asset_id AND live.delivery_start = g.delivery_start
    LEFT JOIN (SELECT asset_id, delivery_start, latest_mw, latest_version FROM marts.asset_forecast
               WHERE delivery_day = CAST($day AS DATE)) fc
           ON fc.asset_id = g.asset_id AND fc.delivery_start = g.delivery_start
    LEFT JOIN (SELECT metering_point_id, delivery_start, bool_or(is_redispatched) AS is_redispatched
               FROM staging.dso_redispatch_flags
               WHERE delivery_day = CAST($day AS DATE) AND delivery_start >= $day_start AND delivery_start < $day_end
               GROUP BY ALL) rd
           ON rd.metering_point_id = g.metering_point_id AND rd.delivery_start = g.delivery_start
),
chosen AS (
    SELECT *,
           CASE WHEN final_mw IS NOT NULL THEN 'final'
                WHEN live_mw IS NOT NULL THEN 'live'
                WHEN redispatched THEN 'forecast_redispatched'
                WHEN forecast_mw IS NOT NULL THEN 'forecast'
                ELSE 'missing' END AS source
    FROM joined
)
SELECT CAST($day AS DATE) AS delivery_day, asset_id, delivery_start, delivery_end,
       CASE source WHEN 'final' THEN final_mw WHEN 'live' THEN live_mw WHEN 'forecast' THEN forecast_mw
                   WHEN 'forecast_redispatched' THEN 0.0 END AS mw,
       CASE source WHEN 'final' THEN final_mw WHEN 'live' THEN live_mw WHEN 'forecast' THEN forecast_mw
                   WHEN 'forecast_redispatched' THEN 0.0 END * 0.25 AS mwh,
       source, final_mw, live_mw, live_n_samples, forecast_mw, forecast_version, redispatched,
       metering_point_id, contract_id
FROM chosen
ORDER BY asset_id, delivery_start
"""


def best_of_infeed(
    contracts: pd.DataFrame,
    final_production: pd.DataFrame,
    live: pd.DataFrame,
    forecast: pd.DataFrame,
    redispatch_flags: pd.DataFrame,
    day: date,
    quarantined: list[str] | None = None,
) -> pd.DataFrame:
    """``marts.best_of_infeed`` of ``day``.

    ``live`` is ``marts.live_infeed`` and ``forecast`` is ``marts.asset_forecast`` of the day; the
    others are the staged CRM snapshot, final production and redispatch flags; ``quarantined``: assets
    whose final production must not be used.
    """
    out = evaluate(
        BEST_OF_INFEED_SQL,
        {
            CRM_CONTRACTS: contracts,
            DSO_FINAL_PRODUCTION: final_production,
            LIVE_INFEED: live,
            ASSET_FORECAST: forecast,
            DSO_REDISPATCH_FLAGS: redispatch_flags,
        },
        {**day_params(day), "quarantined": list(quarantined or [])},
        partition_day=day,
    )
    return BEST_OF_INFEED.conform(out)


PORTFOLIO_BEST_OF_INFEED_SQL = f"""
WITH {QH_GRID_CTE},
agg AS (
    SELECT delivery_start,
           sum(mw) AS mw, sum(mwh) AS mwh,
           count(DISTINCT asset_id) AS n_assets,
           count(*) FILTER (WHERE source = 'final') AS n_final,
           count(*) FILTER (WHERE source = 'live') AS n_live,
           count(*) FILTER (WHERE source IN ('forecast', 'forecast_redispatched')) AS n_forecast,
           count(*) FILTER (WHERE source = 'forecast_redispatched') AS n_redispatched,
           count(*) FILTER (WHERE source = 'missing') AS n_missing,
           coalesce(sum(mwh) FILTER (WHERE source = 'final'), 0) AS final_mwh,
           coalesce(sum(mwh) FILTER (WHERE source = 'live'), 0) AS live_mwh,
           coalesce(sum(mwh) FILTER (WHERE source IN ('forecast', 'forecast_redispatched')), 0) AS forecast_mwh
    FROM marts.best_of_infeed
    WHERE delivery_day = CAST($day AS DATE)
    GROUP BY delivery_start
)
SELECT CAST($day AS DATE) AS delivery_day, q.delivery_start, q.delivery_end,
       a.mw, a.mwh, coalesce(a.n_assets, 0) AS n_assets,
       a.n_final / a.n_assets AS final_share,
       a.n_live / a.n_assets AS live_share,
       a.n_forecast / a.n_assets AS forecast_share,
       a.n_redispatched / a.n_assets AS forecast_redispatched_share,
       a.n_missing / a.n_assets AS missing_share,
       coalesce(a.final_mwh, 0) AS final_mwh, coalesce(a.live_mwh, 0) AS live_mwh,
       coalesce(a.forecast_mwh, 0) AS forecast_mwh,
       coalesce(a.n_missing, 0) AS n_missing,
       coalesce(a.n_missing, 0) = 0 AS complete
FROM qh_grid q LEFT JOIN agg a USING (delivery_start)
ORDER BY q.delivery_start
"""


def portfolio_best_of_infeed(best: pd.DataFrame, day: date) -> pd.DataFrame:
    """``marts.portfolio_best_of_infeed`` from ``marts.best_of_infeed`` of the day."""
    out = evaluate(PORTFOLIO_BEST_OF_INFEED_SQL, {BEST_OF_INFEED: best}, day_params(day), partition_day=day)
    return PORTFOLIO_BEST_OF_INFEED.conform(out)
