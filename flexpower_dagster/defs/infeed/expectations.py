"""Data-quality suites of the infeed marts, declared as data (run by ``defs/quality``; see docs/quality.md).

The share of best-of-infeed taken from forecasts (or missing) is a freshness WARN: the numbers are
right but provisional; DSO final data usually arrives the next day.

Completeness against the inputs (lib/quality/completeness.py) blocks: live samples staged but no live infeed,
asset data staged (forecasts, live samples, DSO finals) but no contract in force (an empty portfolio), an input
mart (asset_forecast, live_infeed) not built although its staged data is there, or no rows of the mart itself.
Per asset, a WARN (``missing_inputs``) names an asset whose staged live samples / final production the mart
does not use (quarantined or lost).
"""

from flexpower_dagster.defs.crm.portfolio import LIVE_NEGATIVE_FACTOR
from flexpower_dagster.defs.crm.quality import (
    CONTRACTS,
    CONTRACTS_IN_FORCE_ROWS,
    capacity_bounds,
    contract_terms_view,
    only_portfolio_assets,
    portfolio_coverage_view,
)
from flexpower_dagster.defs.dso.expectations import STAGED_FINAL_PRODUCTION
from flexpower_dagster.defs.forecast.expectations import ASSET_FORECAST_ROWS
from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED, LIVE_INFEED, PORTFOLIO_BEST_OF_INFEED, SOURCES
from flexpower_dagster.defs.vpp.expectations import STAGED_FORECASTS, STAGED_LIVE_SAMPLES
from flexpower_dagster.lib.quality.completeness import Needs, Rows, inputs_present
from flexpower_dagster.lib.quality.suites import (
    BLOCKING,
    WARN,
    between,
    coverage_view,
    in_set,
    not_null,
    qh_complete,
    structure,
    suite,
)

#: Above this share of forecast-based (or missing) best-of-infeed QHs a human should look.
MAX_FORECAST_SHARE = 0.10

#: Staged data of the portfolio's assets: any of it on a day makes a portfolio (contracts in force) expected
ASSET_DATA = (STAGED_FORECASTS, STAGED_LIVE_SAMPLES, STAGED_FINAL_PRODUCTION)
#: The marts' rows, as completeness rules count them
LIVE_INFEED_ROWS = Rows(LIVE_INFEED)
BEST_OF_INFEED_ROWS = Rows(BEST_OF_INFEED)
PORTFOLIO_BEST_OF_INFEED_ROWS = Rows(PORTFOLIO_BEST_OF_INFEED, noun="QHs with assets", where="n_assets > 0",
                                     none="no asset in any QH")

LIVE_INFEED_SUITE = suite(
    asset=("marts", "live_infeed"),
    table=LIVE_INFEED,
    entity="asset_id",
    reference_tables=CONTRACTS,
    views={"contracts": contract_terms_view(lower_factor=LIVE_NEGATIVE_FACTOR)},
    expectations=(
        *structure(LIVE_INFEED, entity="asset_id"),
        between("n_samples", 1, None, check="values", severity=BLOCKING, entity="asset_id", description="n_samples >= 1"),
        *capacity_bounds("mw", check="plausibility", severity=WARN, lower="capacity", source="live mean"),
    ),
    failing_rows=(
        inputs_present([
            Needs(CONTRACTS_IN_FORCE_ROWS, when=STAGED_LIVE_SAMPLES),
            Needs(LIVE_INFEED_ROWS, when=STAGED_LIVE_SAMPLES),
        ], check="completeness", severity=BLOCKING),
        inputs_present([Needs(LIVE_INFEED_ROWS, when=STAGED_LIVE_SAMPLES, entity="asset_id")],
                       check="missing_inputs", severity=WARN, id="inputs-per-asset"),
    ),
)

BEST_OF_INFEED_SUITE = suite(
    asset=("marts", "best_of_infeed"),
    table=BEST_OF_INFEED,
    entity="asset_id",
    reference_tables=CONTRACTS,
    views={"qh_coverage": portfolio_coverage_view("asset_id"), "contracts": contract_terms_view(lower_factor=LIVE_NEGATIVE_FACTOR)},
    expectations=(
        *structure(BEST_OF_INFEED, entity="asset_id"),
        qh_complete(check="completeness", severity=BLOCKING, description="96 QHs for every portfolio asset"),
        in_set("source", SOURCES, check="values", severity=BLOCKING, entity="asset_id"),
        not_null("mwh", check="values", severity=BLOCKING, entity="asset_id", id="value-unless-missing",
                 description="mwh is set unless source = missing", row_condition='source!="missing"', condition_parser="pandas"),
        *capacity_bounds("mw", check="plausibility", severity=WARN, lower="capacity", source="best-of-infeed"),
        in_set("source", ("final", "live"), mostly=1 - MAX_FORECAST_SHARE, check="freshness", severity=WARN, entity="asset_id",
               id="measured-share", description=f"at most {MAX_FORECAST_SHARE:.0%} of QHs from forecasts or missing"),
        in_set("source", [s for s in SOURCES if s != "missing"], check="freshness", severity=WARN, entity="asset_id",
               id="no-missing", description="no QH without any value (source missing)"),
    ),
    failing_rows=(
        only_portfolio_assets(BEST_OF_INFEED, check="completeness", severity=BLOCKING),
        inputs_present([
            Needs(CONTRACTS_IN_FORCE_ROWS, when=ASSET_DATA),
            Needs(ASSET_FORECAST_ROWS, when=STAGED_FORECASTS),
            Needs(LIVE_INFEED_ROWS, when=STAGED_LIVE_SAMPLES),
            Needs(BEST_OF_INFEED_ROWS, when=CONTRACTS_IN_FORCE_ROWS),
        ], check="completeness", severity=BLOCKING),
        inputs_present([
            Needs(Rows(BEST_OF_INFEED, noun="QHs from final production", where="source = 'final'",
                       none="no QH from final production"), when=STAGED_FINAL_PRODUCTION, entity="asset_id"),
        ], check="missing_inputs", severity=WARN, id="inputs-per-asset"),
    ),
)

PORTFOLIO_BEST_OF_INFEED_SUITE = suite(
    asset=("marts", "portfolio_best_of_infeed"),
    table=PORTFOLIO_BEST_OF_INFEED,
    views={"qh_coverage": coverage_view(None)},
    expectations=(
        *structure(PORTFOLIO_BEST_OF_INFEED),
        qh_complete(check="completeness", severity=BLOCKING, entity=None, id="qh-complete", description="96 QHs"),
        between("final_share", 0, 1, check="values", severity=BLOCKING),
        between("forecast_share", 0, MAX_FORECAST_SHARE, check="freshness", severity=WARN, id="forecast-share",
                description=f"forecast share <= {MAX_FORECAST_SHARE:.0%} in every QH"),
        between("missing_share", 0, 0, check="freshness", severity=WARN, id="missing-share",
                description="no portfolio asset missing in any QH"),
    ),
    failing_rows=(
        inputs_present([
            Needs(BEST_OF_INFEED_ROWS, when=(CONTRACTS_IN_FORCE_ROWS, *ASSET_DATA)),
            Needs(PORTFOLIO_BEST_OF_INFEED_ROWS, when=BEST_OF_INFEED_ROWS),
        ], check="completeness", severity=BLOCKING),
    ),
)
