"""Data-quality suites of the imbalance marts, declared as data (run by ``defs/quality``; see docs/quality.md).

The share of QHs priced with estimates (no final reBAP yet) is a freshness WARN: the cost is
provisional, not wrong.

Completeness against the inputs (lib/quality/completeness.py) blocks: no best-of-infeed although the day has a
portfolio, no asset forecast although forecasts are staged, no rows of the mart although best-of-infeed has
rows. No imbalance price at all (neither final nor estimate) for a day with volumes is a WARN
(``missing_inputs``): the costs are unknown (NULL), not wrong.
"""

from flexpower_dagster.defs.crm.quality import (
    CONTRACTS,
    CONTRACTS_IN_FORCE_ROWS,
    only_portfolio_assets,
    portfolio_coverage_view,
)
from flexpower_dagster.defs.forecast.expectations import ASSET_FORECAST_ROWS
from flexpower_dagster.defs.imbalance.tables import IMBALANCE, PORTFOLIO_IMBALANCE
from flexpower_dagster.defs.imbalance_prices.expectations import STAGED_PRICES
from flexpower_dagster.defs.infeed.expectations import BEST_OF_INFEED_ROWS
from flexpower_dagster.defs.vpp.expectations import STAGED_FORECASTS
from flexpower_dagster.lib.quality.completeness import Needs, Rows, inputs_present
from flexpower_dagster.lib.quality.suites import (
    BLOCKING,
    WARN,
    coverage_view,
    in_set,
    not_null,
    qh_complete,
    structure,
    suite,
)

#: Above this share of QHs priced with an estimate a human should look.
MAX_ESTIMATE_SHARE = 0.05

#: The marts' rows, as completeness rules count them
IMBALANCE_ROWS = Rows(IMBALANCE)
PORTFOLIO_IMBALANCE_ROWS = Rows(PORTFOLIO_IMBALANCE, noun="QHs with assets", where="n_assets > 0", none="no asset in any QH")

IMBALANCE_SUITE = suite(
    asset=("marts", "imbalance"),
    table=IMBALANCE,
    entity="asset_id",
    reference_tables=CONTRACTS,
    views={"qh_coverage": portfolio_coverage_view("asset_id")},
    expectations=(
        *structure(IMBALANCE, entity="asset_id"),
        qh_complete(check="completeness", severity=BLOCKING, description="96 QHs for every portfolio asset"),
        in_set("price_source", ("final", "estimate", "none"), check="values", severity=BLOCKING, entity="asset_id"),
        in_set("direction", ("short", "long", "balanced"), check="values", severity=BLOCKING, entity="asset_id"),
        in_set("price_source", ("final",), mostly=1 - MAX_ESTIMATE_SHARE, check="freshness", severity=WARN, entity="asset_id",
               id="final-price-share", description=f"at most {MAX_ESTIMATE_SHARE:.0%} of QHs priced with estimates (or unpriced)"),
        not_null("cost_eur", check="freshness", severity=WARN, entity="asset_id", description="cost known for every asset and QH"),
    ),
    failing_rows=(
        only_portfolio_assets(IMBALANCE, check="completeness", severity=BLOCKING),
        inputs_present([
            Needs(BEST_OF_INFEED_ROWS, when=CONTRACTS_IN_FORCE_ROWS),
            Needs(ASSET_FORECAST_ROWS, when=STAGED_FORECASTS),
            Needs(IMBALANCE_ROWS, when=BEST_OF_INFEED_ROWS),
        ], check="completeness", severity=BLOCKING),
        inputs_present([Needs(STAGED_PRICES, when=BEST_OF_INFEED_ROWS)], check="missing_inputs", severity=WARN,
                       id="prices-present"),
    ),
)

PORTFOLIO_IMBALANCE_SUITE = suite(
    asset=("marts", "portfolio_imbalance"),
    table=PORTFOLIO_IMBALANCE,
    views={"qh_coverage": coverage_view(None)},
    expectations=(
        *structure(PORTFOLIO_IMBALANCE),
        qh_complete(check="completeness", severity=BLOCKING, entity=None, id="qh-complete", description="96 QHs"),
        in_set("price_source", ("final", "estimate", "none"), check="values", severity=BLOCKING),
        in_set("estimate_priced", [False], mostly=1 - MAX_ESTIMATE_SHARE, check="freshness", severity=WARN,
               id="final-price-share", description=f"at most {MAX_ESTIMATE_SHARE:.0%} of QHs priced with estimates"),
        not_null("cost_eur", check="freshness", severity=WARN, description="netted cost known in every QH"),
    ),
    failing_rows=(
        inputs_present([
            Needs(IMBALANCE_ROWS, when=BEST_OF_INFEED_ROWS),
            Needs(PORTFOLIO_IMBALANCE_ROWS, when=IMBALANCE_ROWS),
        ], check="completeness", severity=BLOCKING),
    ),
)
