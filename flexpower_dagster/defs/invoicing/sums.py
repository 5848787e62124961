"""Invoicing, step 1: per contract and month, the quarter-hour sums an invoice needs (SQL over the warehouse).

One DuckDB statement (:data:`MONTH_SUMS_SQL`) joins best-of-infeed, market VWAP, forecast, redispatch flags and
compensation prices for the days of the month on which each contract is in force, and sums them per contract
with the money in exact ``DECIMAL`` (returned as decimal strings). It runs inside the warehouse
(:func:`contract_month_sums` on a connection) or, in tests, over frames (:func:`contract_month_sums_of`).
Pure: no Dagster. The invoice lines are made from these sums by :mod:`flexpower_dagster.defs.invoicing.lines`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import duckdb
import pandas as pd

from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.defs.dso.tables import DSO_REDISPATCH_COMPENSATION, DSO_REDISPATCH_FLAGS
from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST
from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED
from flexpower_dagster.defs.trading.tables import TRADING_QH
from flexpower_dagster.lib.sql import evaluate
from flexpower_dagster.lib.warehouse import ensure_table

#: What the invoices are computed from, by the names the tests and the asset use.
INPUTS = {
    "contracts": CONTRACTS_IN_FORCE,
    "infeed": BEST_OF_INFEED,
    "forecast": ASSET_FORECAST,
    "trading": TRADING_QH,
    "flags": DSO_REDISPATCH_FLAGS,
    "compensation": DSO_REDISPATCH_COMPENSATION,
}


def month_bounds(month: date) -> tuple[date, date]:
    """(first day, first day of the next month)."""
    start = month.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1)


def _params(month: date) -> dict:
    start, end = month_bounds(month)
    return {"month_start": start, "month_end": end}


MONTH_SUMS_SQL = """
WITH
c AS (
    SELECT * FROM marts.contracts_in_force WHERE delivery_day >= $month_start AND delivery_day < $month_end
),
terms AS (
    SELECT * FROM c QUALIFY row_number() OVER (PARTITION BY contract_id ORDER BY delivery_day DESC) = 1
),
versions AS (
    SELECT
        contract_id,
        bool_or(valid IS DISTINCT FROM TRUE) AS any_invalid,
        string_agg(DISTINCT coalesce(problems, 'contract marked invalid in contracts_in_force'), '; '
                   ORDER BY coalesce(problems, 'contract marked invalid in contracts_in_force'))
            FILTER (WHERE valid IS DISTINCT FROM TRUE) AS invalid_problems,
        count(DISTINCT struct_pack(a := asset_id, b := capacity_mw, c := contract_begin, d := contract_end,
                                   e := price_model, f := price_eur_per_mwh, g := fee_model, h := fee_eur,
                                   i := fee_percent, j := email)) AS n_term_versions
    FROM c GROUP BY contract_id
),
periods AS (
    SELECT
        t.*,
        greatest(CAST($month_start AS DATE), t.contract_begin) AS period_start,
        least(CAST($month_end AS DATE), coalesce(t.contract_end, CAST($month_end AS DATE))) AS period_end_excl
    FROM terms t
),
delivered AS (  -- days with measured infeed (live or final) somewhere in the portfolio: forecast-only days
    SELECT DISTINCT delivery_day FROM marts.best_of_infeed   -- (the running day, tomorrow) are not invoiced
    WHERE delivery_day >= $month_start AND delivery_day < $month_end AND source IN ('final', 'live')
),
qh AS (
    SELECT p.contract_id, i.asset_id, i.delivery_day, i.delivery_start, i.mwh, i.source
    FROM c
    JOIN periods p ON p.contract_id = c.contract_id
    JOIN marts.best_of_infeed i ON i.delivery_day = c.delivery_day AND i.asset_id = c.asset_id
    WHERE i.delivery_day >= p.period_start AND i.delivery_day < p.period_end_excl
      AND i.delivery_day IN (SELECT delivery_day FROM delivered)
),
vwap AS (SELECT delivery_start, max(market_vwap_eur_per_mwh) AS vwap FROM marts.trading_qh
         WHERE delivery_day >= $month_start AND delivery_day < $month_end GROUP BY delivery_start),
fc AS (SELECT asset_id, delivery_start, max(latest_mw) AS latest_mw FROM marts.asset_forecast
       WHERE delivery_day >= $month_start AND delivery_day < $month_end GROUP BY ALL),
flag AS (SELECT asset_id, delivery_start, bool_or(is_redispatched) AS redispatched FROM staging.dso_redispatch_flags
         WHERE delivery_day >= $month_start AND delivery_day < $month_end GROUP BY ALL),
comp AS (SELECT delivery_start, max(price_eur_per_mwh) AS price FROM staging.dso_redispatch_compensation
         WHERE delivery_day >= $month_start AND delivery_day < $month_end GROUP BY delivery_start),
qhx AS (
    SELECT
        q.*,
        CAST(q.mwh AS DECIMAL(38, 9)) AS mwh_d,
        CAST(v.vwap AS DECIMAL(38, 9)) AS vwap_d,
        coalesce(f.redispatched, FALSE) AS redispatched,
        CAST(fc.latest_mw AS DECIMAL(38, 9)) * CAST(0.25 AS DECIMAL(3, 2)) AS fc_mwh_d,
        CAST(comp.price AS DECIMAL(38, 9)) AS comp_d
    FROM qh q
    LEFT JOIN vwap v ON v.delivery_start = q.delivery_start
    LEFT JOIN fc ON fc.asset_id = q.asset_id AND fc.delivery_start = q.delivery_start
    LEFT JOIN flag f ON f.asset_id = q.asset_id AND f.delivery_start = q.delivery_start
    LEFT JOIN comp ON comp.delivery_start = q.delivery_start
),
sums AS (
    SELECT
        contract_id,
        count(*) AS n_qh,
        count(*) FILTER (WHERE source = 'final' AND mwh IS NOT NULL) AS n_qh_final,
        count(*) FILTER (WHERE source = 'live' AND mwh IS NOT NULL) AS n_qh_live,
        count(*) FILTER (WHERE source IN ('forecast', 'forecast_redispatched') AND mwh IS NOT NULL) AS n_qh_forecast,
        count(*) FILTER (WHERE mwh IS NULL OR source NOT IN ('final', 'live', 'forecast', 'forecast_redispatched'))
            AS n_qh_no_value,
        list(DISTINCT delivery_day) AS days_with_data,
        CAST(coalesce(sum(mwh_d), 0) AS VARCHAR) AS volume,
        CAST(coalesce(sum(mwh_d * vwap_d), 0) AS VARCHAR) AS market_value,
        count(*) FILTER (WHERE coalesce(mwh, 0) <> 0 AND vwap_d IS NULL) AS n_qh_no_vwap,
        list(DISTINCT delivery_day) FILTER (WHERE coalesce(mwh, 0) <> 0 AND vwap_d IS NULL) AS days_no_vwap,
        count(*) FILTER (WHERE redispatched) AS n_qh_redispatched,
        CAST(coalesce(sum(fc_mwh_d) FILTER (WHERE redispatched), 0) AS VARCHAR) AS redispatch_mwh,
        CAST(coalesce(sum(fc_mwh_d * comp_d) FILTER (WHERE redispatched), 0) AS VARCHAR) AS redispatch_value,
        count(*) FILTER (WHERE redispatched AND comp_d IS NULL) AS n_redispatch_no_price,
        count(*) FILTER (WHERE redispatched AND fc_mwh_d IS NULL) AS n_redispatch_no_forecast,
        list(DISTINCT delivery_day) FILTER (WHERE redispatched AND comp_d IS NULL) AS days_redispatch_no_price,
        list(DISTINCT delivery_day) FILTER (WHERE redispatched AND fc_mwh_d IS NULL) AS days_redispatch_no_forecast
    FROM qhx GROUP BY contract_id
)
SELECT
    p.contract_id, p.asset_id, p.metering_point_id, p.capacity_mw, p.contract_begin, p.contract_end,
    p.price_model, p.price_eur_per_mwh, p.fee_model, p.fee_eur, p.fee_percent, p.email,
    p.period_start, p.period_end_excl,
    v.any_invalid, v.invalid_problems, v.n_term_versions,
    coalesce(s.n_qh, 0) AS n_qh, coalesce(s.n_qh_final, 0) AS n_qh_final, coalesce(s.n_qh_live, 0) AS n_qh_live,
    coalesce(s.n_qh_forecast, 0) AS n_qh_forecast, coalesce(s.n_qh_no_value, 0) AS n_qh_no_value,
    coalesce(s.days_with_data, []) AS days_with_data,
    coalesce(s.volume, '0') AS volume, coalesce(s.market_value, '0') AS market_value,
    coalesce(s.n_qh_no_vwap, 0) AS n_qh_no_vwap, coalesce(s.n_qh_redispatched, 0) AS n_qh_redispatched,
    coalesce(s.redispatch_mwh, '0') AS redispatch_mwh, coalesce(s.redispatch_value, '0') AS redispatch_value,
    coalesce(s.n_redispatch_no_price, 0) AS n_redispatch_no_price,
    coalesce(s.n_redispatch_no_forecast, 0) AS n_redispatch_no_forecast,
    coalesce(s.days_no_vwap, []) AS days_no_vwap,
    coalesce(s.days_redispatch_no_price, []) AS days_redispatch_no_price,
    coalesce(s.days_redispatch_no_forecast, []) AS days_redispatch_no_forecast
FROM periods p
JOIN versions v USING (contract_id)
LEFT JOIN sums s USING (contract_id)
ORDER BY p.contract_id
"""


def contract_month_sums(conn: duckdb.DuckDBPyConnection, month: date) -> pd.DataFrame:
    """One row per contract in force on some day of the month (newest terms, validity, period, QH sums),
    computed in the warehouse ``conn``. An input table that was never written counts as empty (its days
    are missing: the invoices say so)."""
    for spec in INPUTS.values():
        ensure_table(conn, spec)
    return conn.execute(MONTH_SUMS_SQL, _params(month)).fetchdf()


def contract_month_sums_of(month: date, inputs: Mapping[str, pd.DataFrame | None]) -> pd.DataFrame:
    """:func:`contract_month_sums` over frames (``inputs`` by the names of :data:`INPUTS`; rows of the
    days of the month that exist, absent inputs are empty)."""
    return evaluate(MONTH_SUMS_SQL, {spec: inputs.get(name) for name, spec in INPUTS.items()}, _params(month))
