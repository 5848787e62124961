"""Data-quality suites of the DSO staging tables, declared as data (run by ``defs/quality``; see docs/quality.md).

Final production is per asset: one asset's out-of-range or unknown-metering-point data is a WARN
(``quarantine``) and the best-of-infeed mart excludes that asset's final rows (falls back to live /
forecast); an asset without a complete final file is a WARN (``completeness``): best-of-infeed
falls back per QH. Only structural problems block.
"""

from flexpower_dagster.defs.crm.quality import CONTRACTS, capacity_bounds, contract_terms_view, known_to_contracts, portfolio_coverage_view
from flexpower_dagster.defs.dso.tables import DSO_FINAL_PRODUCTION, DSO_REDISPATCH_COMPENSATION, DSO_REDISPATCH_FLAGS
from flexpower_dagster.lib.quality.completeness import Rows
from flexpower_dagster.lib.quality.suites import (
    PLAUSIBLE_PRICE,
    WARN,
    between,
    coverage_view,
    not_null,
    qh_complete,
    structure,
    suite,
)

#: Final production of QHs of the day with a value, as completeness rules count it (lib/quality/completeness.py)
STAGED_FINAL_PRODUCTION = Rows(DSO_FINAL_PRODUCTION,
                               where="delivery_start >= $day_start AND delivery_start < $day_end AND mw IS NOT NULL")

DSO_FINAL_PRODUCTION_SUITE = suite(
    asset=("staging", "dso_final_production"),
    table=DSO_FINAL_PRODUCTION,
    entity="asset_id",
    reference_tables=CONTRACTS,
    views={"contracts": contract_terms_view(), "qh_coverage": portfolio_coverage_view("asset_id")},
    refused_files="warn",
    expectations=(
        *structure(DSO_FINAL_PRODUCTION, entity="asset_id"),
        *capacity_bounds("mw", check="quarantine", severity=WARN, source="final production"),
        qh_complete(check="completeness", severity=WARN,
                    description="final production for all 96 QHs of every portfolio asset (DSO delivers the previous day)"),
    ),
    failing_rows=known_to_contracts(DSO_FINAL_PRODUCTION, check="quarantine", severity=WARN, metering_point=True),
)

DSO_REDISPATCH_FLAGS_SUITE = suite(
    asset=("staging", "dso_redispatch_flags"),
    table=DSO_REDISPATCH_FLAGS,
    entity="asset_id",
    reference_tables=CONTRACTS,
    refused_files="warn",
    expectations=(
        *structure(DSO_REDISPATCH_FLAGS, entity="asset_id"),
        not_null("is_redispatched", check="quarantine", severity=WARN, entity="asset_id"),
    ),
    failing_rows=known_to_contracts(DSO_REDISPATCH_FLAGS, check="quarantine", severity=WARN, metering_point=True),
)

DSO_REDISPATCH_COMPENSATION_SUITE = suite(
    asset=("staging", "dso_redispatch_compensation"),
    table=DSO_REDISPATCH_COMPENSATION,
    views={"qh_coverage": coverage_view(None)},
    refused_files="warn",
    expectations=(
        *structure(DSO_REDISPATCH_COMPENSATION),
        not_null("price_eur_per_mwh", check="plausibility", severity=WARN),
        between("price_eur_per_mwh", *PLAUSIBLE_PRICE, check="plausibility", severity=WARN,
                description=f"{PLAUSIBLE_PRICE[0]:g} <= compensation price <= {PLAUSIBLE_PRICE[1]:g} EUR/MWh"),
        qh_complete(check="freshness", severity=WARN, entity=None, id="qh-complete",
                    description="compensation prices for all 96 QHs (file is periodic: may arrive later)"),
    ),
)
