"""Data-quality suites of the imbalance prices, declared as data (run by ``defs/quality``; see docs/quality.md).

Gaps in the final reBAP are normal (the imbalance mart prices those QHs with the newest estimate):
completeness is a WARN. Prices outside the plausible band are a WARN (reBAP can spike for real).
"""

from flexpower_dagster.defs.imbalance_prices.tables import IMBALANCE_PRICE_ESTIMATES, IMBALANCE_PRICE_FINAL
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

_LO, _HI = PLAUSIBLE_PRICE

_PRICED_QH = "delivery_start >= $day_start AND delivery_start < $day_end"
#: A price for the day, final or estimated, as completeness rules count it (lib/quality/completeness.py)
STAGED_PRICES = (
    Rows(IMBALANCE_PRICE_FINAL, noun="QH prices", where=_PRICED_QH, none="no final price"),
    Rows(IMBALANCE_PRICE_ESTIMATES, noun="QH prices", where=f"{_PRICED_QH} AND price_eur_per_mwh IS NOT NULL",
         none="no estimate"),
)

IMBALANCE_PRICE_ESTIMATES_SUITE = suite(
    asset=("staging", "imbalance_price_estimates"),
    table=IMBALANCE_PRICE_ESTIMATES,
    views={"qh_coverage": coverage_view(None)},
    refused_files="warn",
    expectations=(
        *structure(IMBALANCE_PRICE_ESTIMATES),
        not_null("price_eur_per_mwh", check="plausibility", severity=WARN),
        between("price_eur_per_mwh", _LO, _HI, check="plausibility", severity=WARN,
                description=f"{_LO:g} <= estimated price <= {_HI:g} EUR/MWh"),
        qh_complete(check="completeness", severity=WARN, entity=None, id="qh-complete",
                    description="estimates for all 96 QHs (the fallback when no final price is published)"),
    ),
)

IMBALANCE_PRICE_FINAL_SUITE = suite(
    asset=("staging", "imbalance_price_final"),
    table=IMBALANCE_PRICE_FINAL,
    views={"qh_coverage": coverage_view(None)},
    refused_files="warn",
    expectations=(
        *structure(IMBALANCE_PRICE_FINAL),
        not_null("price_short_eur_per_mwh", check="plausibility", severity=WARN),
        not_null("price_long_eur_per_mwh", check="plausibility", severity=WARN),
        between("price_short_eur_per_mwh", _LO, _HI, check="plausibility", severity=WARN,
                description=f"{_LO:g} <= reBAP unterdeckt <= {_HI:g} EUR/MWh"),
        between("price_long_eur_per_mwh", _LO, _HI, check="plausibility", severity=WARN,
                description=f"{_LO:g} <= reBAP ueberdeckt <= {_HI:g} EUR/MWh"),
        qh_complete(check="completeness", severity=WARN, entity=None, id="qh-complete",
                    description="final reBAP for all 96 QHs (missing QHs are priced with estimates)"),
    ),
)
