"""Data-quality suites of the forecast marts, declared as data (run by ``defs/quality``; see docs/quality.md).

Completeness against the inputs (lib/quality/completeness.py): a day with staged forecasts needs contracts in
force (else the portfolio is empty and asset_forecast holds 0 rows) and the mart's rows; that blocks. A forecast
asset without a contract in force is a per-asset WARN (``missing_inputs``): it is simply not in the portfolio.
"""

from flexpower_dagster.defs.crm.quality import (
    CONTRACTS,
    CONTRACTS_IN_FORCE_ROWS,
    capacity_bounds,
    contract_terms_view,
    only_portfolio_assets,
    portfolio_coverage_view,
)
from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST, PORTFOLIO_FORECAST
from flexpower_dagster.defs.vpp.expectations import STAGED_FORECASTS
from flexpower_dagster.lib.quality.completeness import Needs, Rows, inputs_present
from flexpower_dagster.lib.quality.suites import (
    BLOCKING,
    WARN,
    a_ge_b,
    between,
    coverage_view,
    not_null,
    qh_complete,
    structure,
    suite,
)

#: The marts' rows, as completeness rules count them
ASSET_FORECAST_ROWS = Rows(ASSET_FORECAST)
PORTFOLIO_FORECAST_ROWS = Rows(PORTFOLIO_FORECAST, noun="QHs with assets", where="n_assets > 0", none="no asset in any QH")

ASSET_FORECAST_SUITE = suite(
    asset=("marts", "asset_forecast"),
    table=ASSET_FORECAST,
    entity="asset_id",
    reference_tables=CONTRACTS,
    views={"qh_coverage": portfolio_coverage_view("asset_id"), "contracts": contract_terms_view()},
    expectations=(
        *structure(ASSET_FORECAST, entity="asset_id"),
        qh_complete(check="completeness", severity=BLOCKING, description="96 QHs for every portfolio asset"),
        a_ge_b("delivery_start", "latest_version", check="values", severity=BLOCKING, entity="asset_id",
               id="latest-not-after-start", description="latest_version <= delivery_start"),
        a_ge_b("latest_version", "tradeable_version", check="values", severity=BLOCKING, entity="asset_id",
               id="tradeable-not-after-latest", description="tradeable_version <= latest_version"),
        *capacity_bounds("latest_mw", check="plausibility", severity=WARN, source="latest forecast"),
        not_null("tradeable_mw", check="freshness", severity=WARN, entity="asset_id",
                 description="a tradeable forecast exists for every asset and QH"),
        not_null("latest_mw", check="freshness", severity=WARN, entity="asset_id",
                 description="a latest forecast exists for every asset and QH"),
    ),
    failing_rows=(
        only_portfolio_assets(ASSET_FORECAST, check="completeness", severity=BLOCKING),
        inputs_present([
            Needs(CONTRACTS_IN_FORCE_ROWS, when=STAGED_FORECASTS),
            Needs(ASSET_FORECAST_ROWS, when=CONTRACTS_IN_FORCE_ROWS),
        ], check="completeness", severity=BLOCKING),
        inputs_present([Needs(CONTRACTS_IN_FORCE_ROWS, when=STAGED_FORECASTS, entity="asset_id")],
                       check="missing_inputs", severity=WARN, id="inputs-per-asset"),
    ),
)

PORTFOLIO_FORECAST_SUITE = suite(
    asset=("marts", "portfolio_forecast"),
    table=PORTFOLIO_FORECAST,
    views={"qh_coverage": coverage_view(None)},
    expectations=(
        *structure(PORTFOLIO_FORECAST),
        qh_complete(check="completeness", severity=BLOCKING, entity=None, id="qh-complete", description="96 QHs"),
        between("n_assets_without_tradeable", 0, 0, check="freshness", severity=WARN,
                description="every portfolio asset has a tradeable forecast in every QH"),
    ),
    failing_rows=(
        inputs_present([
            Needs(ASSET_FORECAST_ROWS, when=(STAGED_FORECASTS, CONTRACTS_IN_FORCE_ROWS)),
            Needs(PORTFOLIO_FORECAST_ROWS, when=ASSET_FORECAST_ROWS),
        ], check="completeness", severity=BLOCKING),
    ),
)
