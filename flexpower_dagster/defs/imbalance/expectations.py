"""Data-quality suites of the imbalance marts, declared as data (run by ``defs/quality``; see docs/quality.md).

The share of QHs priced with estimates (no final reBAP yet) is a freshness WARN: the cost is
provisional, not wrong.
"""

from flexpower_dagster.defs.crm.quality import CONTRACTS, portfolio_coverage_view
from flexpower_dagster.defs.imbalance.tables import IMBALANCE, PORTFOLIO_IMBALANCE
from flexpower_dagster.lib.quality.suites import (
    BLOCKING,
    WARN,
    Suite,
    coverage_view,
    in_set,
    not_null,
    qh_complete,
    structure,
)

#: Above this share of QHs priced with an estimate a human should look.
MAX_ESTIMATE_SHARE = 0.05

IMBALANCE_SUITE = Suite(
    asset=("marts", "imbalance"),
    table=IMBALANCE,
    entity="asset_id",
    reference_tables=CONTRACTS,
    views={"qh_coverage": portfolio_coverage_view("asset_id")},
    expectations=(
        *structure(IMBALANCE, entity="asset_id"),
        qh_complete(check="completeness", severity=BLOCKING, description="96 QHs for every portfolio asset"),
        in_set("in_expected", [True], view="qh_coverage", check="completeness", severity=BLOCKING, entity="asset_id",
               id="only-portfolio-assets", description="only assets of contracts in force"),
        in_set("price_source", ("final", "estimate", "none"), check="values", severity=BLOCKING, entity="asset_id"),
        in_set("direction", ("short", "long", "balanced"), check="values", severity=BLOCKING, entity="asset_id"),
        in_set("price_source", ("final",), mostly=1 - MAX_ESTIMATE_SHARE, check="freshness", severity=WARN, entity="asset_id",
               id="final-price-share", description=f"at most {MAX_ESTIMATE_SHARE:.0%} of QHs priced with estimates (or unpriced)"),
        not_null("cost_eur", check="freshness", severity=WARN, entity="asset_id", description="cost known for every asset and QH"),
    ),
)

PORTFOLIO_IMBALANCE_SUITE = Suite(
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
)
