"""Data-quality suite of the position mart, declared as data (run by ``defs/quality``; see docs/quality.md).

Small on purpose: the declared structure and key, the portfolio's 96 QHs (every scope complete), the allowed
values, and the mart's one identity: ``open_position_mwh = latest_forecast_mwh - net_sold_mwh`` wherever both are
known and the forecast is complete, NULL otherwise (missing is never 0).
"""

from __future__ import annotations

from flexpower_dagster.defs.position.tables import PORTFOLIO_SCOPE, POSITION_QH
from flexpower_dagster.lib.quality.suites import BLOCKING, FailingRows, coverage_view, in_set, qh_complete, structure, suite

#: Floating-point slack of the identity (MWh): far below the kWh a desk reads.
TOLERANCE_MWH = 1e-6


#: The identity's failing rows: known inputs (both figures, no asset of the scope without a forecast) and an open
#: position off by more than the slack, or unknown inputs and an open position anyway
IDENTITY = FailingRows.where(
    POSITION_QH,
    f"""NOT CASE WHEN latest_forecast_mwh IS NOT NULL AND net_sold_mwh IS NOT NULL AND coalesce(n_assets_without_latest = 0, false)
                 THEN coalesce(abs(open_position_mwh - (latest_forecast_mwh - net_sold_mwh)) <= {TOLERANCE_MWH!r}, false)
                 ELSE open_position_mwh IS NULL END""",
    "strftime(delivery_start, '%H:%M') || ': open_position_mwh = ' || coalesce(CAST(open_position_mwh AS VARCHAR), 'NULL') "
    "|| ', latest_forecast_mwh - net_sold_mwh = ' || coalesce(CAST(latest_forecast_mwh - net_sold_mwh AS VARCHAR), 'NULL') "
    "|| ' (' || coalesce(CAST(n_assets_without_latest AS VARCHAR), 'NULL') || ' assets without a latest forecast)'",
    id="open-is-forecast-minus-net-sold", check="values", severity=BLOCKING, entity="scope",
    description="open_position_mwh = latest_forecast_mwh - net_sold_mwh where both are known and the forecast is "
                "complete; NULL otherwise")


POSITION_QH_SUITE = suite(
    asset=("marts", "position_qh"),
    table=POSITION_QH,
    entity="scope",
    views={"qh_coverage": coverage_view("scope", expected=lambda refs: {PORTFOLIO_SCOPE})},
    expectations=(
        *structure(POSITION_QH, entity="scope"),
        qh_complete(check="completeness", severity=BLOCKING, entity="scope", id="qh-per-scope",
                    description="96 QHs for the portfolio and for every technology"),
        in_set("net_sold_basis", ("trades", "allocated"), check="values", severity=BLOCKING, entity="scope"),
        in_set("imbalance_price_source", ("final", "estimate", "none"), check="values", severity=BLOCKING, entity="scope"),
        in_set("expected_imbalance_direction", ("short", "long", "balanced"), check="values", severity=BLOCKING,
               entity="scope"),
    ),
    failing_rows=(IDENTITY,),
)
