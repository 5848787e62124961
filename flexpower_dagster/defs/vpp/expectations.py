"""Data-quality suites of the VPP staging tables, declared as data (run by ``defs/quality``; see docs/quality.md).

Per-asset problems (values beyond 1.1 x capacity, unknown asset ids) are WARN checks named
``quarantine``: the marts exclude that asset's rows of the source (``defs/quality/rules.py``) and the
rest of the portfolio proceeds. Only structural problems (schema, NULL or duplicate keys) block.
"""

from flexpower_dagster.defs.crm.portfolio import LIVE_NEGATIVE_FACTOR
from flexpower_dagster.defs.crm.quality import (
    CONTRACTS,
    asset_bounds_sql_view,
    capacity_bounds_per_asset,
    contract_terms_view,
    known_to_contracts,
    portfolio_coverage_sql_view,
)
from flexpower_dagster.defs.vpp.tables import VPP_FORECASTS, VPP_LIVE_SAMPLES, VPP_TECHNICAL_DATA
from flexpower_dagster.lib.quality.completeness import Rows
from flexpower_dagster.lib.quality.suites import (
    WARN,
    a_ge_b,
    between,
    in_set,
    qh_complete,
    row_count,
    structure,
    structure_sql,
    suite,
)

#: What the marts use of the staged VPP data, as completeness rules count it (lib/quality/completeness.py):
#: forecast values for QHs of the day; live samples inside the day with a value (marts/live_infeed's filter)
STAGED_FORECASTS = Rows(VPP_FORECASTS, where="delivery_start >= $day_start AND delivery_start < $day_end")
STAGED_LIVE_SAMPLES = Rows(VPP_LIVE_SAMPLES, noun="samples",
                           where='"timestamp" >= $day_start AND "timestamp" < $day_end AND mw IS NOT NULL')

VPP_TECHNICAL_DATA_SUITE = suite(
    asset=("staging", "vpp_technical_data"),
    table=VPP_TECHNICAL_DATA,
    entity="asset_id",
    reference_tables=CONTRACTS,
    views={"contracts": contract_terms_view()},
    refused_files="warn",
    expectations=(
        *structure(VPP_TECHNICAL_DATA, entity="asset_id"),
        in_set("technology", ("solar", "wind"), check="plausibility", severity=WARN, entity="asset_id"),
        between("capacity_mw", 0, None, strict_min=True, check="plausibility", severity=WARN, entity="asset_id",
                description="capacity_mw > 0"),
        a_ge_b("_max_mw", "capacity_mw", view="contracts", check="plausibility", severity=WARN, entity="asset_id",
               id="capacity-agrees", description="VPP capacity <= 1.1 x contract capacity"),
        row_count(1, None, check="freshness", severity=WARN, id="has-assets", description="a technical-data snapshot covers the day"),
    ),
    failing_rows=known_to_contracts(VPP_TECHNICAL_DATA, check="plausibility", severity=WARN),
)

#: ~14 million rows a day at 1,000 assets (every version x QH): checked in the warehouse, per asset
VPP_FORECASTS_SUITE = suite(
    asset=("staging", "vpp_forecasts"),
    table=VPP_FORECASTS,
    entity="asset_id",
    load_partition=False,
    reference_tables=CONTRACTS,
    views={"per_asset": asset_bounds_sql_view(VPP_FORECASTS), "qh_coverage": portfolio_coverage_sql_view(VPP_FORECASTS)},
    refused_files="warn",
    expectations=(
        *capacity_bounds_per_asset("mw", check="quarantine", severity=WARN, source="forecast"),
        qh_complete(check="completeness", severity=WARN, description="forecasts for all 96 QHs of every portfolio asset"),
    ),
    failing_rows=(*structure_sql(VPP_FORECASTS), *known_to_contracts(VPP_FORECASTS, check="quarantine", severity=WARN, per_asset=True)),
)

#: ~1.4 million samples a day at 1,000 assets: checked in the warehouse, per asset
VPP_LIVE_SAMPLES_SUITE = suite(
    asset=("staging", "vpp_live_samples"),
    table=VPP_LIVE_SAMPLES,
    entity="asset_id",
    load_partition=False,
    reference_tables=CONTRACTS,
    views={
        "per_asset": asset_bounds_sql_view(VPP_LIVE_SAMPLES, lower_factor=LIVE_NEGATIVE_FACTOR),
        "qh_coverage": portfolio_coverage_sql_view(VPP_LIVE_SAMPLES, "timestamp", only_present=True),
    },
    refused_files="warn",
    expectations=(
        *capacity_bounds_per_asset("mw", check="quarantine", severity=WARN, lower="capacity", source="live power"),
        qh_complete(check="completeness", severity=WARN, view="qh_coverage", id="live-qh-per-asset",
                    description="live samples in all 96 QHs for every asset that reports live data"),
    ),
    failing_rows=(*structure_sql(VPP_LIVE_SAMPLES),
                  *known_to_contracts(VPP_LIVE_SAMPLES, check="quarantine", severity=WARN, per_asset=True)),
)
