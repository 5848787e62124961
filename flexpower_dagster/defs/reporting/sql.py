"""Report views computed in the warehouse snapshot (DuckDB 1.4.5, no ICU), pure SQL, no Dagster.

The Evidence pages run their own SQL in the browser on DuckDB 0.9.1 (duckdb-wasm 1.28.0): everything that
needs a modern dialect, a join over many marts or Berlin local time is done here once, when the snapshot is
written, and the pages only filter and plot these tables (``reports/sources/warehouse/*.sql`` are
``select * from report.<name>``).

Money and energy follow ../shared/domain.md. The daily **margin** is trading revenue − infeed payouts + fees −
imbalance cost (the netted portfolio cost, what FlexPower pays). Payouts and fees are invoiced monthly, so the
daily figures here are *estimates* from the contracts in force and best-of-infeed of the day:
``fixed`` → MWh × price, ``market`` → Σ MWh × market VWAP of the QH; fee ``fixed_as_produced`` → MWh × fee,
``fixed_for_capacity`` → capacity × fee spread evenly over the QHs of the month, ``percent_of_market`` →
Σ MWh × market VWAP × fee_percent / 100. A QH without a market VWAP contributes no market-priced amount.
"""

from __future__ import annotations

import duckdb

from flexpower_dagster.defs.crm.formulas import FEE, PAYOUT, case_sql

#: Per quarter-hour estimates of the month's payout and fee, by the model formulas written once in
#: ``defs/crm/formulas.py``: the QH's best-of-infeed MWh, its market value at the QH's market VWAP, and
#: 1/96 of a day of the month for a capacity fee.
_QH_QUANTITIES = {
    "mwh": "bestof_mwh",
    "market_value": "bestof_mwh * market_vwap_eur_per_mwh",
    "price": "price_eur_per_mwh",
    "fee": "fee_rate_eur",
    "fee_percent": "fee_percent",
    "capacity": "capacity_mw",
    "days": "1.0 / 96",
    "days_in_month": "day(last_day(delivery_day))",
}
PAYOUT_PER_QH = case_sql("price_model", PAYOUT, _QH_QUANTITIES)
FEE_PER_QH = case_sql("fee_model", FEE, _QH_QUANTITIES)

VIEWS: dict[str, str] = {
    # One row per asset and QH: forecast, best-of-infeed, imbalance, contract terms, payout and fee estimates.
    "asset_qh": f"""
        WITH k AS (
            SELECT delivery_day, asset_id, delivery_start FROM marts.asset_forecast
            UNION SELECT delivery_day, asset_id, delivery_start FROM marts.best_of_infeed
            UNION SELECT delivery_day, asset_id, delivery_start FROM marts.imbalance
        ),
        c AS (
            SELECT * EXCLUDE (rn) FROM (
                SELECT *, row_number() OVER (PARTITION BY delivery_day, asset_id ORDER BY contract_id) AS rn
                FROM marts.contracts_in_force
            ) WHERE rn = 1
        ),
        q AS (
            SELECT k.delivery_day, k.asset_id, k.delivery_start,
                   t.delivery_start_local, t.utc_offset_hours,
                   f.latest_mw, f.tradeable_mw, f.latest_version, f.tradeable_version,
                   b.mw AS bestof_mw, b.mwh AS bestof_mwh, coalesce(b.source, 'missing') AS source,
                   i.tradeable_forecast_mwh, i.imbalance_mwh, i.price_eur_per_mwh AS imbalance_price_eur_per_mwh,
                   i.price_source, i.cost_eur AS imbalance_cost_eur,
                   tq.market_vwap_eur_per_mwh,
                   c.contract_id, c.technology, c.capacity_mw, c.price_model, c.price_eur_per_mwh, c.fee_model,
                   c.fee_eur AS fee_rate_eur, c.fee_percent, c.valid, c.problems
            FROM k
            LEFT JOIN report.qh_time t USING (delivery_start)
            LEFT JOIN marts.asset_forecast f USING (delivery_day, asset_id, delivery_start)
            LEFT JOIN marts.best_of_infeed b USING (delivery_day, asset_id, delivery_start)
            LEFT JOIN marts.imbalance i USING (delivery_day, asset_id, delivery_start)
            LEFT JOIN marts.trading_qh tq USING (delivery_day, delivery_start)
            LEFT JOIN c USING (delivery_day, asset_id)
        )
        SELECT *,
            strftime(delivery_start_local, '%d.%m.%Y %H:%M') AS qh_berlin,
            strftime(delivery_start, '%d.%m.%Y %H:%M') AS qh_utc,
            {PAYOUT_PER_QH} AS payout_eur_est,
            {FEE_PER_QH} AS fee_eur_est
        FROM q
    """,
    # One row per asset and day (the overview's asset table and the asset page's header).
    "asset_day": """
        SELECT delivery_day, asset_id,
            any_value(contract_id) AS contract_id, any_value(technology) AS technology,
            any_value(capacity_mw) AS capacity_mw, any_value(price_model) AS price_model,
            any_value(price_eur_per_mwh) AS price_eur_per_mwh, any_value(fee_model) AS fee_model,
            any_value(fee_rate_eur) AS fee_rate_eur, any_value(fee_percent) AS fee_percent,
            any_value(valid) AS valid, any_value(problems) AS problems,
            sum(latest_mw) * 0.25 AS latest_forecast_mwh,
            sum(tradeable_mw) * 0.25 AS tradeable_forecast_mwh,
            sum(bestof_mwh) AS bestof_mwh,
            sum(imbalance_mwh) AS imbalance_mwh,
            sum(imbalance_cost_eur) AS imbalance_cost_eur,
            sum(payout_eur_est) AS payout_eur_est,
            sum(fee_eur_est) AS fee_eur_est,
            count(*) FILTER (WHERE source = 'final') AS qh_final,
            count(*) FILTER (WHERE source = 'live') AS qh_live,
            count(*) FILTER (WHERE source IN ('forecast', 'forecast_redispatched')) AS qh_forecast,
            count(*) FILTER (WHERE source = 'forecast_redispatched') AS qh_redispatched,
            count(*) FILTER (WHERE source = 'missing') AS qh_missing,
            count(*) FILTER (WHERE price_source IS NOT NULL AND price_source <> 'final') AS qh_estimated_price,
            '/assets/' || asset_id || '/' AS asset_link
        FROM report.asset_qh
        GROUP BY delivery_day, asset_id
    """,
    # Best-of-infeed MWh per QH and source (stacked chart), Berlin time.
    "source_qh": """
        SELECT b.delivery_day, b.delivery_start, t.delivery_start_local, b.source, sum(b.mwh) AS mwh
        FROM marts.best_of_infeed b LEFT JOIN report.qh_time t USING (delivery_start)
        GROUP BY ALL
    """,
    # One row per QH of the portfolio: forecast vs best-of-infeed, trading, imbalance.
    "portfolio_qh": """
        WITH k AS (
            SELECT delivery_day, delivery_start FROM marts.portfolio_forecast
            UNION SELECT delivery_day, delivery_start FROM marts.portfolio_best_of_infeed
            UNION SELECT delivery_day, delivery_start FROM marts.trading_qh
            UNION SELECT delivery_day, delivery_start FROM marts.portfolio_imbalance
        )
        SELECT k.delivery_day, k.delivery_start, t.delivery_start_local, t.utc_offset_hours,
            strftime(t.delivery_start_local, '%d.%m.%Y %H:%M') AS qh_berlin,
            strftime(k.delivery_start, '%d.%m.%Y %H:%M') AS qh_utc,
            f.latest_mw, f.tradeable_mw, f.n_assets,
            b.mw AS bestof_mw, b.mwh AS bestof_mwh, b.final_share, b.live_share, b.forecast_share,
            tq.revenue_eur, tq.n_trades, tq.net_volume_mwh, tq.bought_mwh, tq.sold_mwh,
            tq.vwap_eur_per_mwh, tq.market_vwap_eur_per_mwh,
            tq.vwap_eur_per_mwh - tq.market_vwap_eur_per_mwh AS vwap_spread_eur_per_mwh,
            pi.imbalance_mwh, pi.price_eur_per_mwh AS imbalance_price_eur_per_mwh,
            pi.cost_eur AS imbalance_cost_eur, pi.sum_of_asset_costs_eur,
            (SELECT count(*) FROM marts.imbalance i WHERE i.delivery_start = k.delivery_start
                AND i.delivery_day = k.delivery_day AND i.price_source IS NOT NULL AND i.price_source <> 'final')
                > 0 AS estimated_price
        FROM k
        LEFT JOIN report.qh_time t USING (delivery_start)
        LEFT JOIN marts.portfolio_forecast f USING (delivery_day, delivery_start)
        LEFT JOIN marts.portfolio_best_of_infeed b USING (delivery_day, delivery_start)
        LEFT JOIN marts.trading_qh tq USING (delivery_day, delivery_start)
        LEFT JOIN marts.portfolio_imbalance pi USING (delivery_day, delivery_start)
    """,
    # The KPI tiles and the trend: one row per delivery day.
    "portfolio_day": """
        WITH f AS (
            SELECT delivery_day, sum(latest_mw) * 0.25 AS latest_forecast_mwh,
                   sum(tradeable_mw) * 0.25 AS tradeable_forecast_mwh, max(n_assets) AS n_assets
            FROM marts.portfolio_forecast GROUP BY 1
        ),
        b AS (
            SELECT delivery_day, sum(mwh) AS bestof_mwh, sum(mwh * final_share) AS final_mwh,
                   sum(mwh * live_share) AS live_mwh, sum(mwh * forecast_share) AS forecast_mwh
            FROM marts.portfolio_best_of_infeed GROUP BY 1
        ),
        i AS (
            SELECT delivery_day, sum(imbalance_mwh) AS imbalance_mwh, sum(cost_eur) AS imbalance_cost_eur,
                   sum(sum_of_asset_costs_eur) AS sum_of_asset_costs_eur
            FROM marts.portfolio_imbalance GROUP BY 1
        ),
        a AS (
            SELECT delivery_day, sum(payout_eur_est) AS payout_eur_est, sum(fee_eur_est) AS fee_eur_est,
                   count(*) AS n_assets_reported
            FROM report.asset_day GROUP BY 1
        )
        SELECT d.delivery_day,
            strftime(d.delivery_day, '%d.%m.%Y') AS day_label,
            f.latest_forecast_mwh, f.tradeable_forecast_mwh, f.n_assets,
            b.bestof_mwh, b.final_mwh, b.live_mwh, b.forecast_mwh,
            td.revenue_eur, td.n_trades, td.net_volume_mwh, td.vwap_eur_per_mwh, td.market_vwap_eur_per_mwh,
            td.vwap_eur_per_mwh - td.market_vwap_eur_per_mwh AS vwap_spread_eur_per_mwh,
            i.imbalance_mwh, i.imbalance_cost_eur, i.sum_of_asset_costs_eur,
            a.payout_eur_est, a.fee_eur_est,
            coalesce(td.revenue_eur, 0) - coalesce(a.payout_eur_est, 0) + coalesce(a.fee_eur_est, 0)
                - coalesce(i.imbalance_cost_eur, 0) AS margin_eur
        FROM report.days d
        LEFT JOIN f USING (delivery_day)
        LEFT JOIN b USING (delivery_day)
        LEFT JOIN marts.trading_daily td USING (delivery_day)
        LEFT JOIN i USING (delivery_day)
        LEFT JOIN a USING (delivery_day)
    """,
    # Private trades by product and side (trading page).
    "trades_product": """
        SELECT delivery_day, coalesce(product, 'unknown') AS product, side,
            count(DISTINCT trade_id) AS n_trades,
            sum(volume_mw * epoch(delivery_end - delivery_start) / 3600.0) AS mwh,
            sum(volume_mw * epoch(delivery_end - delivery_start) / 3600.0 * price_eur_per_mwh)
                / nullif(sum(volume_mw * epoch(delivery_end - delivery_start) / 3600.0), 0) AS vwap_eur_per_mwh
        FROM staging.exchange_private_trades
        GROUP BY ALL
    """,
    # Month-to-date per asset (asset page): estimates from the days, the invoice once it exists.
    "asset_month": """
        WITH m AS (
            SELECT date_trunc('month', delivery_day)::DATE AS invoice_month, asset_id,
                   max(delivery_day) AS through_day, count(DISTINCT delivery_day) AS n_days,
                   sum(bestof_mwh) AS bestof_mwh, sum(payout_eur_est) AS payout_eur_est,
                   sum(fee_eur_est) AS fee_eur_est, sum(imbalance_cost_eur) AS imbalance_cost_eur
            FROM report.asset_day GROUP BY ALL
        )
        SELECT m.*, inv.invoice_id, inv.status AS invoice_status, inv.net_eur AS invoice_net_eur,
               inv.gross_eur AS invoice_gross_eur, inv.pdf_url
        FROM m LEFT JOIN marts.invoices inv ON inv.invoice_month = m.invoice_month AND inv.asset_id = m.asset_id
    """,
    "invoices": """
        SELECT *, strftime(invoice_month, '%m/%Y') AS month_label FROM marts.invoices
    """,
    "invoice_lines": """
        SELECT l.*, i.asset_id, i.status FROM marts.invoice_lines l
        LEFT JOIN marts.invoices i USING (invoice_month, invoice_id)
    """,
    # Data quality: the newest result per day, asset, check and expectation (re-runs append results), plus
    # since when the (asset, check, expectation) has been failing.
    "data_quality": """
        WITH r AS (
            SELECT * FROM marts.data_quality_results
            QUALIFY row_number() OVER (
                PARTITION BY delivery_day, asset_key, check_name, expectation ORDER BY checked_at DESC NULLS LAST
            ) = 1
        ),
        s AS (
            SELECT asset_key, check_name, expectation,
                   min(delivery_day) FILTER (WHERE NOT passed) AS failing_since_day,
                   max(delivery_day) FILTER (WHERE NOT passed) AS last_failed_day
            FROM r GROUP BY ALL
        )
        SELECT r.delivery_day, strftime(r.delivery_day, '%d.%m.%Y') AS day_label,
               strftime(r.delivery_day, '%Y-%m-%d') AS day_key,
               r.asset_key, r.check_name, r.expectation, r.severity, r.passed, r.failing_rows,
               r.failing_entities, coalesce(r.description, r.expectation) AS description, r.details,
               r.checked_at, strftime(r.checked_at, '%d.%m.%Y %H:%M') AS checked_label,
               s.failing_since_day, strftime(s.failing_since_day, '%d.%m.%Y') AS failing_since,
               s.last_failed_day, strftime(s.last_failed_day, '%d.%m.%Y') AS last_failed
        FROM r LEFT JOIN s USING (asset_key, check_name, expectation)
    """,
}


def create_report_views(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Materialise every report view as a table ``report.<name>`` (order matters); return row counts.

    Every table gets ``is_placeholder`` (false). Evidence writes an unreadable parquet file for a source query
    with no rows ("too small to be a Parquet file") and the build crashes, so an empty table receives one
    row with ``is_placeholder = true``; pages filter it out (``where not is_placeholder``). The row holds a
    typed sentinel in every column, not NULL: Evidence writes an all-NULL DATE/TIMESTAMP/BOOLEAN column as
    DOUBLE and page SQL such as ``strftime(invoice_month, ...)`` would then fail.
    """
    counts = {}
    for name, sql in VIEWS.items():
        conn.execute(f"CREATE OR REPLACE TABLE report.{name} AS {sql}")
        counts[name] = conn.execute(f"SELECT count(*) FROM report.{name}").fetchone()[0]
    for name in list(VIEWS) + list(EXTRA_TABLES):
        conn.execute(f"ALTER TABLE report.{name} ADD COLUMN is_placeholder BOOLEAN DEFAULT false")
        if conn.execute(f"SELECT count(*) FROM report.{name}").fetchone()[0] == 0:
            cols = conn.execute(f"DESCRIBE report.{name}").fetchall()
            values = ", ".join(_sentinel(c[0], c[1]) for c in cols)
            conn.execute(f"INSERT INTO report.{name} VALUES ({values})")
    return counts


def _sentinel(column: str, duckdb_type: str) -> str:
    if column == "is_placeholder":
        return "true"
    t = duckdb_type.upper()
    if t == "DATE":
        return "DATE '1970-01-01'"
    if t.startswith("TIMESTAMP"):
        return "TIMESTAMP '1970-01-01 00:00:00'"
    if t == "BOOLEAN":
        return "false"
    if t in ("VARCHAR", "TEXT") or t.startswith("VARCHAR"):
        return "''"
    if t.startswith(("DOUBLE", "FLOAT", "DECIMAL", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT")):
        return "0"
    return "NULL"


#: Report tables written by the snapshot step itself (site.py) that get the same placeholder treatment.
EXTRA_TABLES = ("qh_time", "days", "tables", "snapshot")
