"""Per-asset performance: one SQL statement over the warehouse's marts (pure: no Dagster).

``ASSET_PERFORMANCE_SQL`` runs inside the warehouse for the ``marts.asset_performance`` asset
(``daily_sql_mart``); :func:`asset_performance` runs the same statement on hand-made frames for tests.

One row per portfolio asset and delivery day (docs/performance.md has the definitions and sign conventions):

* **Forecast accuracy** of the latest and the tradeable forecast against best-of-infeed, over the QHs whose
  best-of-infeed is *measured* (``final`` or ``live``): a QH whose best-of-infeed is itself the latest forecast
  would score a perfect 0, and a redispatched QH (set to 0 by the DSO) is curtailment, not a forecast error.
  ``error = forecast MWh - best-of-infeed MWh`` per QH; MAE = mean |error|, bias = mean error (> 0 the forecast
  was too high, i.e. the asset was short), both in MWh per QH and in % of the energy the capacity delivers in a
  QH (``capacity_mw x 0.25 h``).
* **Market value** = Σ best-of-infeed MWh x market VWAP of the QH (QHs without a market VWAP are left out and
  counted); capture price = market value / priced MWh; baseload = mean market VWAP over the day's QHs;
  capture rate = capture price / baseload.
* **Imbalance**: net, long and short volume and cost from ``marts.imbalance`` (cost > 0 = FlexPower pays), and
  the cost per produced MWh.
* **Margin** = trading revenue - infeed payout + fee - imbalance cost, where the portfolio's trading revenue of
  each QH is allocated to the assets by their share of the portfolio's tradeable forecast (what was sold for
  them), and payout and fee are the per-QH estimates of the contract's price and fee model, by the one formula
  of each model in :mod:`flexpower_dagster.defs.crm.formulas` (which invoices evaluate exactly and the report
  site uses too). ``margin_eur`` is NULL unless every part is known; ``margin_known_eur`` and
  ``margin_caveat`` say what is there and what is missing (e.g. a blocked invoice's payout).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from flexpower_dagster.defs.crm.formulas import FEE, PAYOUT, case_sql, qh_quantities
from flexpower_dagster.defs.crm.portfolio import asset_contract_sql
from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST
from flexpower_dagster.defs.imbalance.tables import IMBALANCE
from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED
from flexpower_dagster.defs.performance.tables import ASSET_PERFORMANCE
from flexpower_dagster.defs.trading.tables import TRADING_QH
from flexpower_dagster.lib.sql import day_params, evaluate

#: Energy of one quarter-hour at 1 MW (MWh): the denominator of "% of capacity".
QH_HOURS = 0.25

#: The QH's quantities for the payout and fee formulas (columns of the ``q`` CTE below).
_QH = qh_quantities(
    mwh="b.mwh", market_vwap="t.market_vwap_eur_per_mwh", price="c.price_eur_per_mwh", fee="c.fee_eur",
    fee_percent="c.fee_percent", capacity="c.capacity_mw", day="CAST($day AS DATE)",
)


def _of_day(table: str, *, qhs: bool = True) -> str:
    """The day's partition of ``table`` (and of a QH table only the QHs of the day: ``[$day_start, $day_end)``)."""
    window = " AND delivery_start >= $day_start AND delivery_start < $day_end" if qhs else ""
    return f"SELECT * FROM {table} WHERE delivery_day = CAST($day AS DATE){window}"


ASSET_PERFORMANCE_SQL = f"""
WITH
b AS ({_of_day(BEST_OF_INFEED.qualified_name)}),
f AS ({_of_day(ASSET_FORECAST.qualified_name)}),
i AS ({_of_day(IMBALANCE.qualified_name)}),
t AS ({_of_day(TRADING_QH.qualified_name)}),
-- one contract per asset: the portfolio's rule (smallest contract id)
c AS ({asset_contract_sql(f"({_of_day(CONTRACTS_IN_FORCE.qualified_name, qhs=False)})")}),
portfolio_tradeable AS (
    SELECT delivery_start, sum(tradeable_mwh) AS portfolio_tradeable_mwh FROM f GROUP BY delivery_start
),
baseload AS (SELECT avg(market_vwap_eur_per_mwh) AS baseload_price FROM t),
q AS (
    SELECT b.asset_id, b.delivery_start, b.mwh AS actual_mwh, b.source,
           b.source IN ('final', 'live') AS measured,
           f.latest_mwh, f.tradeable_mwh,
           i.imbalance_mwh, i.cost_eur AS imbalance_cost_eur,
           t.market_vwap_eur_per_mwh AS vwap, t.revenue_eur AS portfolio_revenue_eur,
           pt.portfolio_tradeable_mwh,
           c.contract_id, c.technology, c.capacity_mw, c.valid, c.problems, c.fee_model,
           {case_sql('c.price_model', PAYOUT, _QH)} AS payout_est,
           {case_sql('c.fee_model', FEE, _QH)} AS fee_est
    FROM b
    LEFT JOIN f USING (asset_id, delivery_start)
    LEFT JOIN i USING (asset_id, delivery_start)
    LEFT JOIN t USING (delivery_start)
    LEFT JOIN portfolio_tradeable pt USING (delivery_start)
    LEFT JOIN c USING (asset_id)
),
a AS (
    SELECT asset_id,
        any_value(contract_id) AS contract_id, any_value(technology) AS technology,
        any_value(capacity_mw) AS capacity_mw, any_value(valid) AS contract_valid,
        any_value(problems) AS contract_problems, any_value(fee_model) AS fee_model,
        count(*) AS n_qh,
        count(*) FILTER (WHERE measured) AS n_qh_measured,
        count(*) FILTER (WHERE actual_mwh IS NULL) AS n_qh_missing,
        sum(actual_mwh) AS bestof_mwh,
        sum(latest_mwh) AS latest_forecast_mwh,
        sum(tradeable_mwh) AS tradeable_forecast_mwh,
        count(*) FILTER (WHERE measured AND latest_mwh IS NOT NULL) AS latest_n_qh,
        sum(abs(latest_mwh - actual_mwh)) FILTER (WHERE measured) AS latest_abs_error_mwh,
        sum(latest_mwh - actual_mwh) FILTER (WHERE measured) AS latest_error_mwh,
        count(*) FILTER (WHERE measured AND tradeable_mwh IS NOT NULL) AS tradeable_n_qh,
        sum(abs(tradeable_mwh - actual_mwh)) FILTER (WHERE measured) AS tradeable_abs_error_mwh,
        sum(tradeable_mwh - actual_mwh) FILTER (WHERE measured) AS tradeable_error_mwh,
        sum(actual_mwh * vwap) AS market_value_eur,
        sum(actual_mwh) FILTER (WHERE vwap IS NOT NULL) AS market_priced_mwh,
        count(*) FILTER (WHERE actual_mwh IS NOT NULL AND vwap IS NULL) AS n_qh_without_market_price,
        sum(imbalance_mwh) AS imbalance_mwh,
        count(imbalance_mwh) AS n_qh_imbalance_known,
        sum(imbalance_mwh) FILTER (WHERE imbalance_mwh > 0) AS long_mwh_raw,
        -sum(imbalance_mwh) FILTER (WHERE imbalance_mwh < 0) AS short_mwh_raw,
        sum(imbalance_cost_eur) AS imbalance_cost_eur,
        count(imbalance_cost_eur) AS n_qh_cost_known,
        sum(imbalance_cost_eur) FILTER (WHERE imbalance_mwh > 0) AS long_cost_raw,
        sum(imbalance_cost_eur) FILTER (WHERE imbalance_mwh < 0) AS short_cost_raw,
        count(*) FILTER (WHERE imbalance_cost_eur IS NULL) AS n_qh_imbalance_unknown,
        sum(portfolio_revenue_eur * tradeable_mwh / portfolio_tradeable_mwh)
            FILTER (WHERE portfolio_tradeable_mwh > 0) AS trading_revenue_eur,
        count(portfolio_revenue_eur) AS n_qh_trading,
        sum(payout_est) AS payout_eur_est,
        count(*) FILTER (WHERE payout_est IS NULL AND actual_mwh IS NOT NULL) AS n_qh_payout_unknown,
        sum(fee_est) AS fee_eur_est,
        count(*) FILTER (WHERE fee_est IS NULL AND (actual_mwh IS NOT NULL OR fee_model = 'fixed_for_capacity'))
            AS n_qh_fee_unknown
    FROM q
    GROUP BY asset_id
),
m AS (
    SELECT a.*, bl.baseload_price,
        a.n_qh_missing = 0 AND a.n_qh_trading = a.n_qh AND a.trading_revenue_eur IS NOT NULL
            AND a.payout_eur_est IS NOT NULL AND a.n_qh_payout_unknown = 0
            AND a.fee_eur_est IS NOT NULL AND a.n_qh_fee_unknown = 0
            AND a.imbalance_cost_eur IS NOT NULL AND a.n_qh_imbalance_unknown = 0 AS margin_complete,
        coalesce(a.trading_revenue_eur, 0) - coalesce(a.payout_eur_est, 0) + coalesce(a.fee_eur_est, 0)
            - coalesce(a.imbalance_cost_eur, 0) AS margin_known_eur
    FROM a CROSS JOIN baseload bl
)
SELECT CAST($day AS DATE) AS delivery_day, asset_id, contract_id, technology, capacity_mw,
    contract_valid, contract_problems,
    n_qh, n_qh_measured, n_qh_missing, bestof_mwh, latest_forecast_mwh, tradeable_forecast_mwh,
    latest_n_qh, latest_abs_error_mwh, latest_error_mwh,
    latest_abs_error_mwh / nullif(latest_n_qh, 0) AS latest_mae_mwh,
    latest_error_mwh / nullif(latest_n_qh, 0) AS latest_bias_mwh,
    latest_abs_error_mwh / nullif(latest_n_qh, 0) / nullif(capacity_mw * {QH_HOURS}, 0) * 100
        AS latest_mae_pct_capacity,
    latest_error_mwh / nullif(latest_n_qh, 0) / nullif(capacity_mw * {QH_HOURS}, 0) * 100 AS latest_bias_pct_capacity,
    tradeable_n_qh, tradeable_abs_error_mwh, tradeable_error_mwh,
    tradeable_abs_error_mwh / nullif(tradeable_n_qh, 0) AS tradeable_mae_mwh,
    tradeable_error_mwh / nullif(tradeable_n_qh, 0) AS tradeable_bias_mwh,
    tradeable_abs_error_mwh / nullif(tradeable_n_qh, 0) / nullif(capacity_mw * {QH_HOURS}, 0) * 100
        AS tradeable_mae_pct_capacity,
    tradeable_error_mwh / nullif(tradeable_n_qh, 0) / nullif(capacity_mw * {QH_HOURS}, 0) * 100
        AS tradeable_bias_pct_capacity,
    market_value_eur, market_priced_mwh, n_qh_without_market_price,
    market_value_eur / nullif(market_priced_mwh, 0) AS capture_price_eur_per_mwh,
    baseload_price AS baseload_price_eur_per_mwh,
    market_value_eur / nullif(market_priced_mwh, 0) / nullif(baseload_price, 0) AS capture_rate,
    imbalance_mwh,
    CASE WHEN n_qh_imbalance_known > 0 THEN coalesce(long_mwh_raw, 0) END AS long_mwh,
    CASE WHEN n_qh_imbalance_known > 0 THEN coalesce(short_mwh_raw, 0) END AS short_mwh,
    imbalance_cost_eur,
    CASE WHEN n_qh_cost_known > 0 THEN coalesce(long_cost_raw, 0) END AS long_cost_eur,
    CASE WHEN n_qh_cost_known > 0 THEN coalesce(short_cost_raw, 0) END AS short_cost_eur,
    n_qh_imbalance_unknown,
    imbalance_cost_eur / nullif(bestof_mwh, 0) AS imbalance_cost_eur_per_mwh,
    trading_revenue_eur, payout_eur_est, fee_eur_est, n_qh_payout_unknown, n_qh_fee_unknown,
    margin_known_eur, margin_complete,
    CASE WHEN margin_complete THEN margin_known_eur END AS margin_eur,
    CASE WHEN NOT margin_complete OR contract_valid IS DISTINCT FROM true THEN nullif(concat_ws('; ',
        CASE WHEN contract_valid IS DISTINCT FROM true
             THEN 'contract terms invalid, invoice blocked (' || coalesce(contract_problems, 'no contract') || ')' END,
        CASE WHEN payout_eur_est IS NULL AND bestof_mwh IS NOT NULL THEN 'payout not estimable: left out'
             WHEN n_qh_payout_unknown > 0 THEN n_qh_payout_unknown || ' QH(s) without payout estimate' END,
        CASE WHEN fee_eur_est IS NULL THEN 'fee not estimable: left out'
             WHEN n_qh_fee_unknown > 0 THEN n_qh_fee_unknown || ' QH(s) without fee estimate' END,
        CASE WHEN n_qh_missing > 0 THEN n_qh_missing || ' QH(s) without best-of-infeed' END,
        CASE WHEN n_qh_imbalance_unknown > 0 THEN n_qh_imbalance_unknown || ' QH(s) without imbalance cost' END,
        CASE WHEN trading_revenue_eur IS NULL OR n_qh_trading < n_qh THEN 'no trading result for some QHs' END
    ), '') END AS margin_caveat
FROM m
ORDER BY asset_id
"""


def asset_performance(
    contracts: pd.DataFrame,
    best: pd.DataFrame,
    forecast: pd.DataFrame,
    imbalance: pd.DataFrame,
    trading: pd.DataFrame,
    day: date,
) -> pd.DataFrame:
    """``marts.asset_performance`` of ``day`` from the day's ``marts.contracts_in_force``, ``best_of_infeed``,
    ``asset_forecast``, ``imbalance`` and ``trading_qh`` (one row per asset of best-of-infeed)."""
    out = evaluate(
        ASSET_PERFORMANCE_SQL,
        {
            CONTRACTS_IN_FORCE: contracts,
            BEST_OF_INFEED: best,
            ASSET_FORECAST: forecast,
            IMBALANCE: imbalance,
            TRADING_QH: trading,
        },
        day_params(day),
        partition_day=day,
    )
    return ASSET_PERFORMANCE.conform(out)
