"""Report tables computed in the warehouse snapshot (DuckDB 1.4.x, no ICU), pure SQL, no Dagster.

The Evidence pages run their own SQL in the browser on DuckDB 0.9.1 (duckdb-wasm 1.28.0): everything that
needs a modern dialect, a join over many marts, a running month-to-date sum or Berlin local time is done here
once, when the snapshot is written, and the pages only filter these tables at the grain they show
(``reports/sources/warehouse/*.sql`` are ``select * from report.<name>``). Every table carries the string keys
the pages filter on (``day_key`` ``YYYY-MM-DD``, ``month_key`` ``YYYY-MM``, ``asset_id``) and is written in the
order of those keys, so the browser's parquet reader skips the row groups of other days and assets.

Money and energy follow ../shared/domain.md; the per-asset performance figures come from
``marts.asset_performance`` (docs/performance.md). The **margin** is trading revenue − infeed payouts + fees −
imbalance cost (the portfolio uses the netted cost, an asset its own cost and its allocated revenue). Payouts
and fees are invoiced monthly, so the daily figures are *estimates* by the one formula of each model
(``defs/crm/formulas.py``, which invoices evaluate exactly). A margin with an
unknown part (e.g. the payout of a contract whose invoice is blocked) is shown over its known parts, flagged
``margin_complete = false`` with a ``margin_caveat`` naming what is left out and why; ``margin_eur`` is then
NULL (never a silent 0).
"""

from __future__ import annotations

import re

import duckdb

from flexpower_dagster.defs.crm.formulas import FEE, PAYOUT, case_sql, qh_quantities
from flexpower_dagster.defs.crm.portfolio import asset_contract_sql

#: Per quarter-hour estimates of the month's payout and fee, by the model formulas written once in
#: ``defs/crm/formulas.py`` (the same as ``marts.asset_performance``): the QH's best-of-infeed MWh, its market
#: value at the QH's market VWAP, and 1/96 of a day of the month for a capacity fee.
_QH_QUANTITIES = qh_quantities(
    mwh="bestof_mwh", market_vwap="market_vwap_eur_per_mwh", price="price_eur_per_mwh", fee="fee_rate_eur",
    fee_percent="fee_percent", capacity="capacity_mw", day="delivery_day",
)
PAYOUT_PER_QH = case_sql("price_model", PAYOUT, _QH_QUANTITIES)
FEE_PER_QH = case_sql("fee_model", FEE, _QH_QUANTITIES)


def _keys(day: str = "delivery_day") -> str:
    """String keys the pages filter on (DuckDB 0.9.1 in the browser compares strings cheaply)."""
    return (
        f"strftime({day}, '%Y-%m-%d') AS day_key, strftime({day}, '%d.%m.%Y') AS day_label, "
        f"strftime({day}, '%Y-%m') AS month_key, strftime({day}, '%m/%Y') AS month_label"
    )


def _de(expr: str) -> str:
    """A number as text the German way, two decimals (``1.234,56``)."""
    return f"translate(format('{{:,.2f}}', {expr}), ',.', '.,')"


def _dod(*columns: str) -> str:
    """Day-over-day deltas ``<c>_dod`` of the window ``w`` (NULL without a previous day: never a delta to 0)."""
    return ",\n            ".join(f"{c} - lag({c}) OVER w AS {c}_dod" for c in columns)


#: Link to the one asset page, with the asset and the day as URL parameters.
#: Page links carry identifiers URL-encoded (validated ids are URL-safe already; this keeps it so if the rule widens).
#: The newest data-quality result per day, asset, check and expectation (re-runs append results): the ``r`` the
#: data-quality tables read.
NEWEST_DQ_RESULTS = """r AS (
            SELECT * FROM marts.data_quality_results
            QUALIFY row_number() OVER (
                PARTITION BY delivery_day, asset_key, check_name, expectation ORDER BY checked_at DESC NULLS LAST
            ) = 1
        )"""
ASSET_LINK = "'/asset/?asset=' || url_encode(asset_id) || '&day=' || strftime(delivery_day, '%Y-%m-%d')"

VIEWS: dict[str, str] = {
    # One row per asset and QH: forecast, best-of-infeed, imbalance, contract terms, market value, payout and fee
    # estimates. The asset page reads one asset-day of it.
    "asset_qh": f"""
        WITH k AS (
            SELECT delivery_day, asset_id, delivery_start FROM marts.asset_forecast
            UNION SELECT delivery_day, asset_id, delivery_start FROM marts.best_of_infeed
            UNION SELECT delivery_day, asset_id, delivery_start FROM marts.imbalance
        ),
        c AS ({asset_contract_sql("marts.contracts_in_force")}),
        q AS (
            SELECT k.delivery_day, k.asset_id, k.delivery_start,
                   t.delivery_start_local, t.utc_offset_hours,
                   f.latest_mw, f.tradeable_mw, f.latest_mw * 0.25 AS latest_mwh, f.tradeable_mw * 0.25 AS tradeable_mwh,
                   f.latest_version, f.tradeable_version,
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
        SELECT *, {_keys()},
            strftime(delivery_start_local, '%d.%m.%Y %H:%M') AS qh_berlin,
            strftime(delivery_start, '%H:%M') AS qh_utc,
            CASE WHEN price_source = 'final' THEN 'final reBAP' WHEN price_source = 'estimate' THEN 'estimate'
                 ELSE 'no price' END AS price_label,
            CASE WHEN source IN ('final', 'live') THEN latest_mwh - bestof_mwh END AS latest_error_mwh,
            CASE WHEN source IN ('final', 'live') THEN tradeable_mwh - bestof_mwh END AS tradeable_error_mwh,
            bestof_mwh * market_vwap_eur_per_mwh AS market_value_eur,
            {PAYOUT_PER_QH} AS payout_eur_est,
            {FEE_PER_QH} AS fee_eur_est
        FROM q
        ORDER BY delivery_day, asset_id, delivery_start
    """,
    # One row per asset and day: energy and QH mix (from asset_qh), the performance mart, the previous day's
    # figures for day-over-day deltas, and a link to the asset page.
    "asset_day": f"""
        WITH e AS (
            SELECT delivery_day, asset_id,
                any_value(contract_id) AS contract_id, any_value(technology) AS technology,
                any_value(capacity_mw) AS capacity_mw, any_value(price_model) AS price_model,
                any_value(price_eur_per_mwh) AS price_eur_per_mwh, any_value(fee_model) AS fee_model,
                any_value(fee_rate_eur) AS fee_rate_eur, any_value(fee_percent) AS fee_percent,
                any_value(valid) AS valid, any_value(problems) AS problems,
                count(*) FILTER (WHERE source = 'final') AS qh_final,
                count(*) FILTER (WHERE source = 'live') AS qh_live,
                count(*) FILTER (WHERE source IN ('forecast', 'forecast_redispatched')) AS qh_forecast,
                count(*) FILTER (WHERE source = 'forecast_redispatched') AS qh_redispatched,
                count(*) FILTER (WHERE source = 'missing') AS qh_missing,
                count(*) FILTER (WHERE price_source IS NOT NULL AND price_source <> 'final') AS qh_estimated_price
            FROM report.asset_qh GROUP BY delivery_day, asset_id
        ),
        d AS (
            SELECT e.*, p.* EXCLUDE (delivery_day, asset_id, contract_id, technology, capacity_mw),
                nullif(concat_ws('; ',
                    CASE WHEN e.valid IS DISTINCT FROM true THEN 'contract terms invalid, invoice blocked' END,
                    CASE WHEN p.n_qh IS NULL THEN NULL  -- no performance row: counted by portfolio_day
                         WHEN p.payout_eur_est IS NULL AND p.bestof_mwh IS NOT NULL THEN 'payout unknown'
                         WHEN p.n_qh_payout_unknown > 0 THEN p.n_qh_payout_unknown || ' QH(s) without payout' END,
                    CASE WHEN p.n_qh IS NULL THEN NULL
                         WHEN p.fee_eur_est IS NULL THEN 'fee unknown'
                         WHEN p.n_qh_fee_unknown > 0 THEN p.n_qh_fee_unknown || ' QH(s) without fee' END), '')
                    AS payout_fee_caveat
            FROM e LEFT JOIN marts.asset_performance p USING (delivery_day, asset_id)
        )
        SELECT *, {_keys()},
            printf('%d / %d / %d / %d', qh_final, qh_live, qh_forecast, qh_missing) AS qh_mix,
            CASE price_model
                WHEN 'fixed' THEN 'fixed, ' || coalesce({_de('price_eur_per_mwh')} || ' EUR/MWh', 'price missing')
                WHEN 'market' THEN 'market (MWh x market VWAP)' ELSE coalesce(price_model, 'none') END AS price_terms,
            CASE fee_model
                WHEN 'fixed_as_produced' THEN 'per MWh produced, ' || coalesce({_de('fee_rate_eur')} || ' EUR/MWh', 'fee missing')
                WHEN 'fixed_for_capacity' THEN 'per MW capacity, '
                    || coalesce({_de('fee_rate_eur')} || ' EUR/MW per month', 'fee missing')
                WHEN 'percent_of_market' THEN coalesce({_de('fee_percent')} || ' % of market value', 'percent missing')
                ELSE coalesce(fee_model, 'none') END AS fee_terms,
            CASE WHEN valid THEN 'ok' ELSE 'invoice blocked' END AS contract_status,
            CASE WHEN margin_complete THEN 'complete' WHEN margin_complete IS NULL THEN 'no data'
                 ELSE 'incomplete' END AS margin_status,
            {ASSET_LINK} AS asset_link,
            strftime(lag(delivery_day) OVER w, '%d.%m.') AS prev_day_label,
            {_dod("bestof_mwh", "imbalance_cost_eur", "market_value_eur", "trading_revenue_eur", "margin_known_eur",
                  "tradeable_mae_pct_capacity")}
        FROM d
        WINDOW w AS (PARTITION BY asset_id ORDER BY delivery_day)
        ORDER BY delivery_day, asset_id
    """,
    # Best-of-infeed MWh per QH and source (stacked chart), Berlin time.
    "source_qh": f"""
        SELECT b.delivery_day, {_keys('b.delivery_day')}, b.delivery_start, t.delivery_start_local, b.source,
               sum(b.mwh) AS mwh
        FROM marts.best_of_infeed b LEFT JOIN report.qh_time t USING (delivery_start)
        GROUP BY ALL
        ORDER BY b.delivery_day, b.delivery_start, b.source
    """,
    # One row per QH of the portfolio: forecast vs best-of-infeed, trading, imbalance.
    "portfolio_qh": f"""
        WITH k AS (
            SELECT delivery_day, delivery_start FROM marts.portfolio_forecast
            UNION SELECT delivery_day, delivery_start FROM marts.portfolio_best_of_infeed
            UNION SELECT delivery_day, delivery_start FROM marts.trading_qh
            UNION SELECT delivery_day, delivery_start FROM marts.portfolio_imbalance
        ),
        est AS (
            SELECT delivery_day, delivery_start,
                   count(*) FILTER (WHERE price_source IS NOT NULL AND price_source <> 'final') > 0 AS estimated_price
            FROM marts.imbalance GROUP BY ALL
        )
        SELECT k.delivery_day, {_keys('k.delivery_day')}, k.delivery_start, t.delivery_start_local,
            t.utc_offset_hours,
            strftime(t.delivery_start_local, '%d.%m.%Y %H:%M') AS qh_berlin,
            strftime(k.delivery_start, '%H:%M') AS qh_utc,
            f.latest_mw, f.tradeable_mw, f.n_assets,
            b.mw AS bestof_mw, b.mwh AS bestof_mwh, b.final_share, b.live_share, b.forecast_share,
            tq.revenue_eur, tq.n_trades, tq.net_volume_mwh, tq.bought_mwh, tq.sold_mwh,
            tq.vwap_eur_per_mwh, tq.market_vwap_eur_per_mwh,
            tq.vwap_eur_per_mwh - tq.market_vwap_eur_per_mwh AS vwap_spread_eur_per_mwh,
            pi.imbalance_mwh, pi.price_eur_per_mwh AS imbalance_price_eur_per_mwh,
            pi.cost_eur AS imbalance_cost_eur, pi.sum_of_asset_costs_eur,
            coalesce(est.estimated_price, false) AS estimated_price,
            CASE WHEN coalesce(est.estimated_price, false) THEN 'estimate (final reBAP not published)'
                 ELSE 'final reBAP' END AS price_kind
        FROM k
        LEFT JOIN report.qh_time t USING (delivery_start)
        LEFT JOIN marts.portfolio_forecast f USING (delivery_day, delivery_start)
        LEFT JOIN marts.portfolio_best_of_infeed b USING (delivery_day, delivery_start)
        LEFT JOIN marts.trading_qh tq USING (delivery_day, delivery_start)
        LEFT JOIN marts.portfolio_imbalance pi USING (delivery_day, delivery_start)
        LEFT JOIN est USING (delivery_day, delivery_start)
        ORDER BY k.delivery_day, k.delivery_start
    """,
    # The day tiles and the trend: one row per delivery day, with the previous day's figures.
    "portfolio_day": f"""
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
                   sum(sum_of_asset_costs_eur) AS sum_of_asset_costs_eur,
                   count(*) FILTER (WHERE cost_eur IS NULL) AS n_qh_imbalance_unknown
            FROM marts.portfolio_imbalance GROUP BY 1
        ),
        m AS (
            SELECT delivery_day, sum(market_vwap_eur_per_mwh) AS market_vwap_qh_sum,
                   count(market_vwap_eur_per_mwh) AS n_qh_market_vwap
            FROM marts.trading_qh GROUP BY 1
        ),
        a AS (
            SELECT delivery_day, count(*) AS n_assets_reported,
                sum(payout_eur_est) AS payout_eur_est, sum(fee_eur_est) AS fee_eur_est,
                sum(trading_revenue_eur) AS allocated_revenue_eur, sum(imbalance_cost_eur) AS asset_imbalance_cost_eur,
                sum(margin_known_eur) AS sum_asset_margin_known_eur,
                sum(market_value_eur) AS market_value_eur, sum(market_priced_mwh) AS market_priced_mwh,
                -- forecast accuracy of the portfolio: the assets' absolute errors over what they produce at full
                -- capacity in their measured QHs (weighted by QHs and capacity, as asset_mtd over days)
                -- (an asset without a capacity has no % and is left out of both sums)
                sum(tradeable_abs_error_mwh) FILTER (WHERE capacity_mw > 0) AS tradeable_abs_error_mwh,
                sum(tradeable_n_qh * capacity_mw * 0.25) FILTER (WHERE capacity_mw > 0) AS tradeable_capacity_qh_mwh,
                count(*) FILTER (WHERE payout_fee_caveat IS NOT NULL) AS n_assets_with_caveat,
                count(*) FILTER (WHERE margin_complete IS NULL) AS n_assets_without_performance,
                string_agg(asset_id || ': ' || payout_fee_caveat, ' | ' ORDER BY asset_id)
                    FILTER (WHERE payout_fee_caveat IS NOT NULL) AS assets_caveat,
                -- the margin over the assets whose figures are complete (asset_performance.margin_complete), and
                -- the assets left out with the reason (never a sum that takes its sign from an unknown part)
                sum(margin_known_eur) FILTER (WHERE margin_complete) AS margin_complete_assets_eur,
                count(*) FILTER (WHERE margin_complete) AS n_assets_margin_complete,
                count(*) FILTER (WHERE margin_complete IS NOT TRUE) AS n_assets_margin_excluded,
                string_agg(asset_id || ': ' || coalesce(margin_caveat, 'no performance figures'), ' | ' ORDER BY asset_id)
                    FILTER (WHERE margin_complete IS NOT TRUE) AS margin_excluded
            FROM report.asset_day GROUP BY 1
        ),
        d AS (
            SELECT d.delivery_day,
                f.latest_forecast_mwh, f.tradeable_forecast_mwh, f.n_assets,
                b.bestof_mwh, b.final_mwh, b.live_mwh, b.forecast_mwh,
                td.revenue_eur, td.n_trades, td.net_volume_mwh, td.vwap_eur_per_mwh, td.market_vwap_eur_per_mwh,
                td.vwap_eur_per_mwh - td.market_vwap_eur_per_mwh AS vwap_spread_eur_per_mwh,
                td.bought_mwh + td.sold_mwh AS private_volume_mwh, td.market_volume_mwh,
                i.imbalance_mwh, i.imbalance_cost_eur, i.sum_of_asset_costs_eur, i.n_qh_imbalance_unknown,
                m.market_vwap_qh_sum, m.n_qh_market_vwap,
                m.market_vwap_qh_sum / nullif(m.n_qh_market_vwap, 0) AS baseload_price_eur_per_mwh,
                a.n_assets_reported, a.payout_eur_est, a.fee_eur_est, a.allocated_revenue_eur,
                td.revenue_eur - a.allocated_revenue_eur AS unallocated_revenue_eur,
                a.asset_imbalance_cost_eur - i.imbalance_cost_eur AS netting_benefit_eur,
                a.sum_asset_margin_known_eur, a.market_value_eur, a.market_priced_mwh,
                a.margin_complete_assets_eur, coalesce(a.n_assets_margin_complete, 0) AS n_assets_margin_complete,
                coalesce(a.n_assets_margin_excluded, 0) AS n_assets_margin_excluded, a.margin_excluded,
                a.market_value_eur / nullif(a.market_priced_mwh, 0) AS capture_price_eur_per_mwh,
                a.tradeable_abs_error_mwh, a.tradeable_capacity_qh_mwh,
                100 * a.tradeable_abs_error_mwh / nullif(a.tradeable_capacity_qh_mwh, 0) AS tradeable_mae_pct_capacity,
                coalesce(td.revenue_eur, 0) - coalesce(a.payout_eur_est, 0) + coalesce(a.fee_eur_est, 0)
                    - coalesce(i.imbalance_cost_eur, 0) AS margin_known_eur,
                td.revenue_eur IS NOT NULL AND a.n_assets_reported > 0 AND a.n_assets_with_caveat = 0
                    AND a.n_assets_without_performance = 0 AND coalesce(i.n_qh_imbalance_unknown, 1) = 0
                    AS margin_complete,
                nullif(concat_ws(' | ',
                    CASE WHEN td.revenue_eur IS NULL THEN 'no trading result' END,
                    CASE WHEN coalesce(i.n_qh_imbalance_unknown, 0) > 0
                         THEN i.n_qh_imbalance_unknown || ' QH(s) without imbalance cost' END,
                    CASE WHEN i.delivery_day IS NULL THEN 'no imbalance cost' END,
                    CASE WHEN a.n_assets_without_performance > 0
                         THEN a.n_assets_without_performance || ' asset(s) without performance figures' END,
                    a.assets_caveat), '') AS margin_caveat
            FROM report.days d
            LEFT JOIN f USING (delivery_day)
            LEFT JOIN b USING (delivery_day)
            LEFT JOIN marts.trading_daily td USING (delivery_day)
            LEFT JOIN i USING (delivery_day)
            LEFT JOIN m USING (delivery_day)
            LEFT JOIN a USING (delivery_day)
        )
        SELECT *, {_keys()},
            CASE WHEN margin_complete THEN margin_known_eur END AS margin_eur,
            strftime(lag(delivery_day) OVER w, '%d.%m.') AS prev_day_label,
            {_dod("bestof_mwh", "latest_forecast_mwh", "tradeable_forecast_mwh", "revenue_eur", "vwap_eur_per_mwh",
                  "market_vwap_eur_per_mwh", "imbalance_cost_eur", "margin_known_eur", "margin_complete_assets_eur")}
        FROM d
        WINDOW w AS (ORDER BY delivery_day)
        ORDER BY delivery_day
    """,
    # Month to date through each day (the month tiles: pick a day, see its month through that day), with the
    # same days of the previous month (day 1 .. the same day of the month) for the deltas.
    "portfolio_mtd": f"""
        WITH base AS (
            SELECT *, date_trunc('month', delivery_day)::DATE AS month_start, day(delivery_day) AS dom
            FROM report.portfolio_day
        ),
        cum AS (
            SELECT delivery_day, month_start, dom,
                count(*) OVER mw AS n_days,
                strftime(min(delivery_day) OVER mw, '%d.%m.%Y') AS first_day_label,
                sum(bestof_mwh) OVER mw AS bestof_mwh,
                sum(latest_forecast_mwh) OVER mw AS latest_forecast_mwh,
                sum(tradeable_forecast_mwh) OVER mw AS tradeable_forecast_mwh,
                sum(revenue_eur) OVER mw AS revenue_eur,
                sum(n_trades) OVER mw AS n_trades,
                sum(vwap_eur_per_mwh * private_volume_mwh) OVER mw / nullif(sum(private_volume_mwh) OVER mw, 0)
                    AS vwap_eur_per_mwh,
                sum(market_vwap_eur_per_mwh * market_volume_mwh) OVER mw / nullif(sum(market_volume_mwh) OVER mw, 0)
                    AS market_vwap_eur_per_mwh,
                sum(imbalance_mwh) OVER mw AS imbalance_mwh,
                sum(imbalance_cost_eur) OVER mw AS imbalance_cost_eur,
                sum(payout_eur_est) OVER mw AS payout_eur_est,
                sum(fee_eur_est) OVER mw AS fee_eur_est,
                sum(margin_known_eur) OVER mw AS margin_known_eur,
                sum(market_value_eur) OVER mw / nullif(sum(market_priced_mwh) OVER mw, 0) AS capture_price_eur_per_mwh,
                sum(market_vwap_qh_sum) OVER mw / nullif(sum(n_qh_market_vwap) OVER mw, 0)
                    AS baseload_price_eur_per_mwh,
                100 * sum(tradeable_abs_error_mwh) OVER mw / nullif(sum(tradeable_capacity_qh_mwh) OVER mw, 0)
                    AS tradeable_mae_pct_capacity,
                sum(CASE WHEN margin_complete THEN 0 ELSE 1 END) OVER mw AS n_days_margin_incomplete,
                last_value(margin_caveat IGNORE NULLS) OVER mw AS last_margin_caveat,
                sum(margin_complete_assets_eur) OVER mw AS margin_complete_assets_eur,
                sum(n_assets_margin_complete) OVER mw AS n_asset_days_margin_complete,
                sum(n_assets_margin_excluded) OVER mw AS n_asset_days_margin_excluded
            FROM base
            WINDOW mw AS (PARTITION BY month_start ORDER BY delivery_day ROWS UNBOUNDED PRECEDING)
        ),
        prev AS (
            SELECT c.delivery_day, count(*) AS prev_n_days,
                sum(p.bestof_mwh) AS prev_bestof_mwh, sum(p.revenue_eur) AS prev_revenue_eur,
                sum(p.vwap_eur_per_mwh * p.private_volume_mwh) / nullif(sum(p.private_volume_mwh), 0)
                    AS prev_vwap_eur_per_mwh,
                sum(p.market_vwap_eur_per_mwh * p.market_volume_mwh) / nullif(sum(p.market_volume_mwh), 0)
                    AS prev_market_vwap_eur_per_mwh,
                sum(p.imbalance_cost_eur) AS prev_imbalance_cost_eur, sum(p.margin_known_eur) AS prev_margin_known_eur,
                sum(p.margin_complete_assets_eur) AS prev_margin_complete_assets_eur
            FROM cum c JOIN base p ON p.month_start = (c.month_start - INTERVAL 1 MONTH)::DATE AND p.dom <= c.dom
            GROUP BY c.delivery_day
        ),
        -- the assets left out of the month's margin through each day: per asset the days whose figures are
        -- incomplete and the latest reason
        ex_asset AS (
            SELECT c.delivery_day, a.asset_id, count(*) AS n_days,
                   arg_max(coalesce(a.margin_caveat, 'no performance figures'), a.delivery_day) AS why
            FROM cum c JOIN report.asset_day a
              ON date_trunc('month', a.delivery_day)::DATE = c.month_start AND a.delivery_day <= c.delivery_day
            WHERE a.margin_complete IS NOT TRUE
            GROUP BY ALL
        ),
        ex AS (
            SELECT e.delivery_day, count(*) AS n_assets_margin_excluded,
                   string_agg(e.asset_id || ' (' || e.n_days || ' of ' || c.n_days || ' day(s)): ' || e.why, ' | '
                              ORDER BY e.asset_id) AS margin_excluded
            FROM ex_asset e JOIN cum c USING (delivery_day)
            GROUP BY e.delivery_day
        )
        SELECT c.*, {_keys('c.delivery_day')},
            c.n_days_margin_incomplete = 0 AS margin_complete,
            CASE WHEN c.n_days_margin_incomplete = 0 THEN c.margin_known_eur END AS margin_eur,
            c.vwap_eur_per_mwh - c.market_vwap_eur_per_mwh AS vwap_spread_eur_per_mwh,
            c.capture_price_eur_per_mwh / nullif(c.baseload_price_eur_per_mwh, 0) AS capture_rate,
            prev.prev_n_days,
            c.bestof_mwh - prev.prev_bestof_mwh AS bestof_mwh_vs_prev,
            c.revenue_eur - prev.prev_revenue_eur AS revenue_eur_vs_prev,
            c.vwap_eur_per_mwh - prev.prev_vwap_eur_per_mwh AS vwap_eur_per_mwh_vs_prev,
            c.market_vwap_eur_per_mwh - prev.prev_market_vwap_eur_per_mwh AS market_vwap_eur_per_mwh_vs_prev,
            c.imbalance_cost_eur - prev.prev_imbalance_cost_eur AS imbalance_cost_eur_vs_prev,
            c.margin_known_eur - prev.prev_margin_known_eur AS margin_known_eur_vs_prev,
            c.margin_complete_assets_eur - prev.prev_margin_complete_assets_eur AS margin_complete_assets_eur_vs_prev,
            CASE WHEN prev.prev_n_days IS NULL THEN 'no previous month' END AS no_prev_month,
            coalesce(ex.n_assets_margin_excluded, 0) AS n_assets_margin_excluded, ex.margin_excluded
        FROM cum c LEFT JOIN prev USING (delivery_day) LEFT JOIN ex USING (delivery_day)
        ORDER BY c.delivery_day
    """,
    # Month to date per asset through each day (asset tables of the month, the asset page's month tiles).
    "asset_mtd": f"""
        WITH base AS (
            SELECT a.*, date_trunc('month', a.delivery_day)::DATE AS month_start,
                   p.market_vwap_qh_sum, p.n_qh_market_vwap
            FROM report.asset_day a LEFT JOIN report.portfolio_day p USING (delivery_day)
        ),
        cum AS (
            SELECT delivery_day, asset_id, month_start,
                last_value(technology) OVER mw AS technology, last_value(capacity_mw) OVER mw AS capacity_mw,
                count(*) OVER mw AS n_days,
                strftime(min(delivery_day) OVER mw, '%d.%m.%Y') AS first_day_label,
                sum(bestof_mwh) OVER mw AS bestof_mwh,
                sum(latest_forecast_mwh) OVER mw AS latest_forecast_mwh,
                sum(tradeable_forecast_mwh) OVER mw AS tradeable_forecast_mwh,
                sum(latest_abs_error_mwh) OVER mw / nullif(sum(latest_n_qh) OVER mw, 0) AS latest_mae_mwh,
                sum(latest_error_mwh) OVER mw / nullif(sum(latest_n_qh) OVER mw, 0) AS latest_bias_mwh,
                sum(tradeable_abs_error_mwh) OVER mw / nullif(sum(tradeable_n_qh) OVER mw, 0) AS tradeable_mae_mwh,
                sum(tradeable_error_mwh) OVER mw / nullif(sum(tradeable_n_qh) OVER mw, 0) AS tradeable_bias_mwh,
                100 * sum(latest_abs_error_mwh) OVER mw / nullif(sum(latest_n_qh * capacity_mw * 0.25) OVER mw, 0)
                    AS latest_mae_pct_capacity,
                100 * sum(tradeable_abs_error_mwh) OVER mw
                    / nullif(sum(tradeable_n_qh * capacity_mw * 0.25) OVER mw, 0) AS tradeable_mae_pct_capacity,
                100 * sum(tradeable_error_mwh) OVER mw / nullif(sum(tradeable_n_qh * capacity_mw * 0.25) OVER mw, 0)
                    AS tradeable_bias_pct_capacity,
                sum(market_value_eur) OVER mw AS market_value_eur,
                sum(market_value_eur) OVER mw / nullif(sum(market_priced_mwh) OVER mw, 0) AS capture_price_eur_per_mwh,
                sum(market_vwap_qh_sum) OVER mw / nullif(sum(n_qh_market_vwap) OVER mw, 0)
                    AS baseload_price_eur_per_mwh,
                sum(imbalance_mwh) OVER mw AS imbalance_mwh,
                sum(long_mwh) OVER mw AS long_mwh, sum(short_mwh) OVER mw AS short_mwh,
                sum(imbalance_cost_eur) OVER mw AS imbalance_cost_eur,
                sum(long_cost_eur) OVER mw AS long_cost_eur, sum(short_cost_eur) OVER mw AS short_cost_eur,
                sum(trading_revenue_eur) OVER mw AS trading_revenue_eur,
                sum(payout_eur_est) OVER mw AS payout_eur_est,
                sum(fee_eur_est) OVER mw AS fee_eur_est,
                sum(margin_known_eur) OVER mw AS margin_known_eur,
                sum(CASE WHEN margin_complete THEN 0 ELSE 1 END) OVER mw AS n_days_margin_incomplete,
                last_value(margin_caveat IGNORE NULLS) OVER mw AS margin_caveat,
                -- the margin over the asset's days whose figures are complete (NULL when none is)
                sum(CASE WHEN margin_complete THEN margin_known_eur END) OVER mw AS margin_complete_days_eur
            FROM base
            WINDOW mw AS (PARTITION BY asset_id, month_start ORDER BY delivery_day ROWS UNBOUNDED PRECEDING)
        )
        SELECT c.*, {_keys('c.delivery_day')},
            c.capture_price_eur_per_mwh / nullif(c.baseload_price_eur_per_mwh, 0) AS capture_rate,
            c.imbalance_cost_eur / nullif(c.bestof_mwh, 0) AS imbalance_cost_eur_per_mwh,
            c.n_days_margin_incomplete = 0 AS margin_complete,
            CASE WHEN c.n_days_margin_incomplete = 0 THEN c.margin_known_eur END AS margin_eur,
            CASE WHEN c.n_days_margin_incomplete = 0 THEN 'complete' ELSE 'incomplete' END AS margin_status,
            CASE WHEN c.n_days_margin_incomplete = 0 THEN 'all ' || c.n_days || ' day(s) complete'
                 ELSE c.n_days_margin_incomplete || ' of ' || c.n_days || ' day(s) left out: ' || coalesce(c.margin_caveat, 'no performance figures')
                 END AS margin_days_note,
            inv.invoice_id, coalesce(inv.status, 'not invoiced yet') AS invoice_status, inv.problems AS invoice_problems,
            inv.net_eur AS invoice_net_eur, inv.gross_eur AS invoice_gross_eur, inv.pdf_url,
            '/asset/?asset=' || url_encode(c.asset_id) || '&day=' || strftime(c.delivery_day, '%Y-%m-%d') AS asset_link
        FROM cum c
        LEFT JOIN marts.invoices inv ON inv.invoice_month = c.month_start AND inv.asset_id = c.asset_id
        ORDER BY c.delivery_day, c.asset_id
    """,
    # Days and months that have data (the pickers). A day is *delivered* when it has DSO final production or the
    # exchange export of its trades (domain.md: the days an invoice covers); the others (forecast-only days at
    # the edges) are built for the trading view but labelled "(forecast only)", and the site opens on the last
    # delivered day (is_default_day; the month's: month_default_day_key), or the last day when none is delivered.
    "calendar": """
        WITH d AS (
            SELECT delivery_day, strftime(delivery_day, '%Y-%m-%d') AS day_key, strftime(delivery_day, '%d.%m.%Y') AS date_label,
                strftime(delivery_day, '%Y-%m') AS month_key, strftime(delivery_day, '%m/%Y') AS month_label,
                day(delivery_day) AS dom,
                delivery_day = max(delivery_day) OVER (PARTITION BY date_trunc('month', delivery_day)) AS last_in_month,
                delivery_day IN (SELECT delivery_day FROM marts.best_of_infeed WHERE source = 'final'
                                 UNION SELECT delivery_day FROM staging.exchange_private_trades) AS delivered
            FROM report.days
        )
        SELECT delivery_day, day_key,
            CASE WHEN delivered THEN date_label ELSE date_label || ' (forecast only)' END AS day_label,
            date_label, month_key, month_label, dom, last_in_month, delivered,
            day_key = coalesce(max(day_key) FILTER (WHERE delivered) OVER (), max(day_key) OVER ()) AS is_default_day,
            coalesce(max(day_key) FILTER (WHERE delivered) OVER (PARTITION BY month_key),
                     max(day_key) OVER (PARTITION BY month_key)) AS month_default_day_key
        FROM d ORDER BY delivery_day
    """,
    "months": """
        SELECT month_key, min(month_label) || CASE WHEN bool_or(delivered) THEN '' ELSE ' (forecast only)' END AS month_label,
            min(day_key) AS first_day_key, max(day_key) AS last_day_key, count(*) AS n_days,
            count(*) FILTER (WHERE delivered) AS n_delivered, any_value(month_default_day_key) AS default_day_key,
            bool_or(is_default_day) AS is_default
        FROM report.calendar GROUP BY 1 ORDER BY 1
    """,
    # The asset picker: every asset with data, its newest terms.
    "assets": """
        SELECT asset_id, arg_max(technology, delivery_day) AS technology, arg_max(capacity_mw, delivery_day) AS capacity_mw,
            asset_id || ' (' || coalesce(arg_max(technology, delivery_day), '?') || ', '
                || coalesce(replace(printf('%.1f', arg_max(capacity_mw, delivery_day)), '.', ','), '?') || ' MW)' AS label,
            strftime(min(delivery_day), '%Y-%m-%d') AS first_day_key, strftime(max(delivery_day), '%Y-%m-%d') AS last_day_key
        FROM report.asset_day GROUP BY asset_id ORDER BY asset_id
    """,
    # Private trades by product and side (trading page).
    "trades_product": f"""
        SELECT delivery_day, {_keys()}, coalesce(product, 'unknown') AS product, side,
            count(DISTINCT trade_id) AS n_trades,
            sum(volume_mw * epoch(delivery_end - delivery_start) / 3600.0) AS mwh,
            sum(volume_mw * epoch(delivery_end - delivery_start) / 3600.0 * price_eur_per_mwh)
                / nullif(sum(volume_mw * epoch(delivery_end - delivery_start) / 3600.0), 0) AS vwap_eur_per_mwh
        FROM staging.exchange_private_trades
        GROUP BY ALL ORDER BY delivery_day, product, side
    """,
    "invoices": """
        SELECT *, strftime(invoice_month, '%m/%Y') AS month_label, strftime(invoice_month, '%Y-%m') AS month_key,
            '/asset/?asset=' || url_encode(asset_id) || '&month=' || strftime(invoice_month, '%Y-%m') AS asset_link
        FROM marts.invoices ORDER BY invoice_month, contract_id
    """,
    # Invoices per month and status: the chart's data, summed here (one bar segment per month and status).
    "invoice_status": """
        SELECT invoice_month, strftime(invoice_month, '%m/%Y') AS month_label, strftime(invoice_month, '%Y-%m') AS month_key,
            status, count(*) AS n_invoices, sum(net_eur) AS net_eur, sum(vat_eur) AS vat_eur, sum(gross_eur) AS gross_eur
        FROM marts.invoices GROUP BY ALL ORDER BY invoice_month, status
    """,
    # The lines with their printed texts (report.invoice_line_text: the PDF's formatter), so they read as on the PDF.
    "invoice_lines": """
        SELECT l.*, i.asset_id, i.status, strftime(l.invoice_month, '%m/%Y') AS month_label,
            strftime(l.invoice_month, '%Y-%m') AS month_key,
            p.printed_description, p.printed_quantity, p.printed_unit_price, p.printed_net
        FROM marts.invoice_lines l
        LEFT JOIN marts.invoices i USING (invoice_month, invoice_id)
        LEFT JOIN report.invoice_line_text p USING (invoice_id, line_type)
        ORDER BY l.invoice_month, l.invoice_id, l.line_type
    """,
    # Alerts (marts.alerts, defs/ops): one row per cause with the days it covers, grouped by kind of cause (late
    # files, failed runs, blocked invoices, data quality); within late files the files actually late (a source and
    # an asset or the portfolio) come before "nothing arrived since"; then the alerts' priority (errors first),
    # newest day first. ``url``: the run or asset in the Dagster UI (report.snapshot.ui_url + the alert's path).
    "alerts": """
        SELECT alert_key, kind, severity, status, priority, title, covers, covered_keys, n_covered,
               delivery_day, strftime(delivery_day, '%d.%m.%Y') AS day_label,
               invoice_month, strftime(invoice_month, '%m/%Y') AS month_label, entity, source, message, action, link,
               CASE WHEN starts_with(link, '/') THEN (SELECT any_value(ui_url) FROM report.snapshot) || link END AS url,
               CASE WHEN link LIKE '/runs/%' THEN 'Dagster run' WHEN starts_with(link, '/') THEN 'Dagster asset' END
                   AS url_label,
               CASE kind WHEN 'late_data' THEN 1 WHEN 'run_failure' THEN 2 WHEN 'blocked_invoice' THEN 3
                         WHEN 'data_quality' THEN 4 ELSE 5 END AS cause_order,
               CASE kind WHEN 'late_data' THEN 'Late files' WHEN 'run_failure' THEN 'Failed runs'
                         WHEN 'blocked_invoice' THEN 'Blocked invoices' WHEN 'data_quality' THEN 'Data quality'
                         ELSE kind END AS cause,
               kind = 'late_data' AND alert_key <> 'late_data:all:nothing_since' AS late_file,
               since, strftime(since, '%d.%m.%Y %H:%M') AS since_label,
               opened_at, strftime(opened_at, '%d.%m.%Y %H:%M') AS opened_label,
               last_seen_at, strftime(last_seen_at, '%d.%m.%Y %H:%M') AS last_seen_label,
               resolved_at, strftime(resolved_at, '%d.%m.%Y %H:%M') AS resolved_label, occurrences
        FROM marts.alerts
        ORDER BY status = 'open' DESC, cause_order, late_file DESC, priority, delivery_day DESC NULLS LAST,
                 invoice_month DESC NULLS LAST, alert_key
    """,
    # Data quality: the newest result per day, asset, check and expectation (re-runs append results). Since when an
    # entity fails is per entity and unbroken run: report.dq_failures (a min over a check's failing days called an
    # intermittent failure "failing since" its first day).
    "data_quality": f"""
        WITH {NEWEST_DQ_RESULTS}
        SELECT r.delivery_day, strftime(r.delivery_day, '%d.%m.%Y') AS day_label,
               strftime(r.delivery_day, '%Y-%m-%d') AS day_key,
               r.asset_key, r.check_name, r.expectation, r.severity, r.passed, r.failing_rows,
               r.failing_entities, coalesce(r.description, r.expectation) AS description, r.details,
               r.checked_at, strftime(r.checked_at, '%d.%m.%Y %H:%M') AS checked_label
        FROM r
        ORDER BY r.delivery_day, r.asset_key, r.check_name
    """,
    # Data quality per failing entity and day: one row per (day, asset, check, expectation, entity) that failed,
    # from the newest result of each day (an expectation that names no entity: '(whole table)'). ``run_start`` is
    # the first day of the entity's current run of failures: the days the expectation was evaluated without a
    # break (a day it passed for the entity ends a run), so an intermittent failure is never "failing since" its
    # first failure. The page counts the days per entity in the chosen range.
    "dq_failures": f"""
        WITH {NEWEST_DQ_RESULTS},
        f AS (
            SELECT DISTINCT r.delivery_day, r.asset_key, r.check_name, r.expectation,
                   coalesce(nullif(trim(e.entity), ''), '(whole table)') AS entity
            FROM r, unnest(CASE WHEN coalesce(r.failing_entities, '') = '' THEN ['']
                                ELSE string_split(r.failing_entities, ',') END) AS e(entity)
            WHERE NOT r.passed
        ),
        grid AS (  -- every day the expectation ran x every entity that ever failed it: failed or not that day
            SELECT r.delivery_day, r.asset_key, r.check_name, r.expectation, k.entity,
                   f.delivery_day IS NOT NULL AS failed
            FROM r
            JOIN (SELECT DISTINCT asset_key, check_name, expectation, entity FROM f) k
              USING (asset_key, check_name, expectation)
            LEFT JOIN f USING (delivery_day, asset_key, check_name, expectation, entity)
        ),
        runs AS (
            SELECT *, sum(CASE WHEN failed THEN 0 ELSE 1 END) OVER (
                PARTITION BY asset_key, check_name, expectation, entity ORDER BY delivery_day) AS run_no
            FROM grid
        )
        SELECT u.delivery_day, strftime(u.delivery_day, '%Y-%m-%d') AS day_key,
               strftime(u.delivery_day, '%d.%m.%Y') AS day_label,
               u.asset_key, u.check_name, u.expectation, u.entity,
               r.severity, coalesce(r.description, r.expectation) AS description, r.failing_rows,
               min(u.delivery_day) OVER k AS run_start,
               strftime(min(u.delivery_day) OVER k, '%Y-%m-%d') AS run_start_key,
               strftime(min(u.delivery_day) OVER k, '%d.%m.%Y') AS run_start_label
        FROM runs u
        JOIN r USING (delivery_day, asset_key, check_name, expectation)
        WHERE u.failed
        WINDOW k AS (PARTITION BY u.asset_key, u.check_name, u.expectation, u.entity, u.run_no)
        ORDER BY u.delivery_day, u.asset_key, u.check_name, u.expectation, u.entity
    """,
    # Results per day and outcome (the chart and the per-day table: failures next to passes).
    "dq_days": f"""
        WITH {NEWEST_DQ_RESULTS}
        SELECT delivery_day, strftime(delivery_day, '%Y-%m-%d') AS day_key, strftime(delivery_day, '%d.%m.%Y') AS day_label,
               count(*) FILTER (WHERE passed) AS n_passed,
               count(*) FILTER (WHERE NOT passed) AS n_failed,
               count(*) FILTER (WHERE NOT passed AND severity = 'blocking') AS n_failed_blocking,
               count(*) FILTER (WHERE NOT passed AND severity <> 'blocking') AS n_failed_warning
        FROM r GROUP BY delivery_day ORDER BY delivery_day
    """,
}


#: DuckDB's message when a statement reads a table that is not there.
_NO_TABLE = re.compile(r"Table with name (?P<name>\w+) does not exist")


def create_report_views(
    conn: duckdb.DuckDBPyConnection, absent: set[str] | None = None, skipped: set[str] | frozenset[str] = frozenset()
) -> tuple[dict[str, int], dict[str, str]]:
    """Materialise every report view as a table ``report.<name>`` (order matters); return row counts and the views
    that could not be computed.

    ``absent`` (an audience's site: docs/permissions.md) names the page tables deliberately not in the snapshot
    (``invoices``, ``alerts`` ...): a view reading one of them, or a report table that could not be computed (nor
    ``skipped``, an extra table the snapshot step did not write), is left out and returned as
    ``{view: "needs <table>"}``, derived by DuckDB's binder from the view's SQL, never from a list kept by hand. Any
    other error is raised. ``absent=None`` (the full site): every view must be computed.

    Every table gets ``is_placeholder`` (false). Evidence writes an unreadable parquet file for a source query
    with no rows ("too small to be a Parquet file") and the build crashes, so an empty table receives one
    row with ``is_placeholder = true``; pages filter it out (``where not is_placeholder``). The row holds a
    typed sentinel in every column, not NULL: Evidence writes an all-NULL DATE/TIMESTAMP/BOOLEAN column as
    DOUBLE and page SQL such as ``strftime(invoice_month, ...)`` would then fail.
    """
    counts: dict[str, int] = {}
    unavailable: dict[str, str] = dict.fromkeys(skipped, "not written: its source table is not in the snapshot")
    for name, sql in VIEWS.items():
        if absent is None:
            conn.execute(f"CREATE OR REPLACE TABLE report.{name} AS {sql}")
        else:
            try:
                conn.execute(f"CREATE OR REPLACE TABLE report.{name} AS {sql}")
            except duckdb.CatalogException as error:
                match = _NO_TABLE.search(str(error))
                missing = match.group("name") if match else None
                if missing not in absent and missing not in unavailable:
                    raise
                unavailable[name] = f"needs {missing}" + (f" ({unavailable[missing]})" if missing in unavailable else "")
                continue
        counts[name] = conn.execute(f"SELECT count(*) FROM report.{name}").fetchone()[0]
    for name in list(VIEWS) + list(EXTRA_TABLES):
        if name in unavailable:
            continue
        conn.execute(f"ALTER TABLE report.{name} ADD COLUMN is_placeholder BOOLEAN DEFAULT false")
        if conn.execute(f"SELECT count(*) FROM report.{name}").fetchone()[0] == 0:
            cols = conn.execute(f"DESCRIBE report.{name}").fetchall()
            values = ", ".join(_sentinel(c[0], c[1]) for c in cols)
            conn.execute(f"INSERT INTO report.{name} VALUES ({values})")
    return counts, unavailable


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
EXTRA_TABLES = ("qh_time", "days", "tables", "snapshot", "invoice_line_text", "kpi_targets")
