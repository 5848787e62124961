"""Data-quality suite of the performance mart, declared as data (run by its check; see docs/quality.md).

Blocking: the declared structure, one row per portfolio asset and the asset's 96 quarter-hours in it (a QH lost
or doubled by a join would make every sum of the row wrong). A margin with an unknown part (the payout of a
contract whose invoice is blocked, a QH without imbalance cost) is a WARN naming the asset and its caveat: the
figures are right over what is known and the report shows the caveat.

Completeness against the inputs (lib/quality/completeness.py) blocks: best-of-infeed missing although the day has
a portfolio, any other input mart (contracts in force, asset forecast, imbalance, trading per QH) missing
although best-of-infeed has rows, or no rows of the mart itself.
"""

from flexpower_dagster.defs.crm.quality import (
    CONTRACTS,
    CONTRACTS_IN_FORCE_ROWS,
    only_portfolio_assets,
    row_per_portfolio_asset,
)
from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.defs.forecast.expectations import ASSET_FORECAST_ROWS
from flexpower_dagster.defs.imbalance.expectations import IMBALANCE_ROWS
from flexpower_dagster.defs.infeed.expectations import BEST_OF_INFEED_ROWS
from flexpower_dagster.defs.performance.tables import ASSET_PERFORMANCE
from flexpower_dagster.defs.trading.tables import TRADING_QH
from flexpower_dagster.lib.quality.completeness import Needs, Rows, inputs_present
from flexpower_dagster.lib.quality.suites import BLOCKING, WARN, FailingRows, a_ge_b, between, structure, suite

#: Forecast error per QH above this share of the capacity's QH energy is worth a look.
MAX_MAE_PCT_CAPACITY = 100.0

ASSET_PERFORMANCE_SUITE = suite(
    asset=("marts", "asset_performance"),
    table=ASSET_PERFORMANCE,
    entity="asset_id",
    detail_column="margin_caveat",
    reference_tables=CONTRACTS,
    description="Per-asset performance of the day: accuracy, market value, imbalance and margin per portfolio asset.",
    expectations=(
        *structure(ASSET_PERFORMANCE, entity="asset_id"),
        between("n_qh", 96, 96, check="completeness", severity=BLOCKING, entity="asset_id", id="qh-per-asset",
                description="the asset's 96 QHs of best-of-infeed, none lost or doubled by a join"),
        a_ge_b("n_qh", "n_qh_measured", check="values", severity=BLOCKING, entity="asset_id", id="measured-le-qhs",
               description="measured QHs <= QHs"),
        between("long_mwh", 0, None, check="values", severity=BLOCKING, entity="asset_id", description="long_mwh >= 0"),
        between("short_mwh", 0, None, check="values", severity=BLOCKING, entity="asset_id", description="short_mwh >= 0"),
        between("tradeable_mae_pct_capacity", 0, MAX_MAE_PCT_CAPACITY, check="plausibility", severity=WARN,
                entity="asset_id", id="tradeable-mae-plausible",
                description=f"tradeable forecast MAE within {MAX_MAE_PCT_CAPACITY:g} % of the capacity's QH energy"),
    ),
    failing_rows=(
        row_per_portfolio_asset(ASSET_PERFORMANCE, check="completeness", severity=BLOCKING),
        only_portfolio_assets(ASSET_PERFORMANCE, check="completeness", severity=BLOCKING),
        FailingRows.where(ASSET_PERFORMANCE, "NOT margin_complete", "coalesce(margin_caveat, 'margin incomplete')",
                          id="margin-complete", check="margin", severity=WARN, entity="asset_id",
                          description="every part of the margin is known (e.g. not a blocked invoice's payout)"),
        inputs_present([
            Needs(BEST_OF_INFEED_ROWS, when=CONTRACTS_IN_FORCE_ROWS),
            *(Needs(rows, when=BEST_OF_INFEED_ROWS) for rows in (
                Rows(CONTRACTS_IN_FORCE), ASSET_FORECAST_ROWS, IMBALANCE_ROWS, Rows(TRADING_QH),
                Rows(ASSET_PERFORMANCE))),
        ], check="completeness", severity=BLOCKING),
    ),
    check_descriptions={
        "margin": "The margin (trading revenue - payout + fee - imbalance cost) is known in full; otherwise "
        "margin_eur is NULL and margin_caveat names what is left out.",
    },
)
