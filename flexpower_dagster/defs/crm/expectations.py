"""Data-quality suites of the CRM domain, declared as data (run by ``defs/quality``; see docs/quality.md).

* ``staging.crm_contracts`` — the whole snapshot. Structure is blocking (every daily mart builds its
  portfolio from it). Contract consistency is a WARN: one broken contract must not stop the portfolio.
* ``marts.contracts_in_force`` — structure (keys, one contract per asset, contract period) is blocking.
  Contract consistency is a per-contract finding and therefore a WARN that names each contract and every
  problem: the platform isolates it where it matters (invoicing blocks exactly that contract with
  ``status='blocked'`` and the reasons), so it must not turn every day's run red (docs/quality.md).
"""

from flexpower_dagster.defs.crm.quality import CONTRACTS_IN_FORCE_ROWS
from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE, CRM_CONTRACTS
from flexpower_dagster.defs.crm.terms import FEE_MODELS, FEE_PARAMETER, PRICE_MODELS, TECHNOLOGIES
from flexpower_dagster.lib.identifiers import EMAIL
from flexpower_dagster.lib.quality.completeness import Needs, Rows, inputs_present
from flexpower_dagster.lib.quality.suites import (
    BLOCKING,
    WARN,
    FailingRows,
    a_ge_b,
    between,
    expect,
    in_set,
    not_null,
    row_count,
    structure,
    suite,
)
from flexpower_dagster.lib.quality.views import snapshot_age

_EMAIL = "^" + EMAIL.pattern + "$"  # the e-mail rule of lib/identifiers.py


def _consistency(check: str, severity: str) -> list:
    """Contract consistency: each model needs its parameter, begin before end, known enums."""
    e = "contract_id"
    out = [
        not_null("price_eur_per_mwh", check=check, severity=severity, entity=e, id="fixed-price-has-price",
                 description="price_model 'fixed' has a price", row_condition='price_model=="fixed"', condition_parser="pandas"),
    ]
    for model, column in FEE_PARAMETER.items():
        crm_name = {"fee_eur": "fee", "fee_percent": "fee_percent"}[column]
        out.append(not_null(column, check=check, severity=severity, entity=e, id=f"{model.replace('_', '-')}-has-{crm_name.replace('_', '-')}",
                            description=f"fee_model '{model}' has {crm_name}",
                            row_condition=f'fee_model=="{model}"', condition_parser="pandas"))
    out += [
        a_ge_b("contract_end", "contract_begin", check=check, severity=severity, entity=e, strict=True,
               id="begin-before-end", description="contract_begin is before contract_end"),
        not_null("contract_begin", check=check, severity=severity, entity=e),
        in_set("price_model", PRICE_MODELS, check=check, severity=severity, entity=e),
        in_set("fee_model", FEE_MODELS, check=check, severity=severity, entity=e),
        in_set("technology", TECHNOLOGIES, check=check, severity=severity, entity=e),
        not_null("price_model", check=check, severity=severity, entity=e),
        not_null("fee_model", check=check, severity=severity, entity=e),
        between("capacity_mw", 0, None, strict_min=True, check=check, severity=severity, entity=e,
                description="capacity_mw > 0"),
        not_null("capacity_mw", check=check, severity=severity, entity=e),
        between("fee_percent", 0, 100, check=check, severity=severity, entity=e, description="0 <= fee_percent <= 100"),
    ]
    return out


CRM_CONTRACTS_SUITE = suite(
    asset=("staging", "crm_contracts"),
    table=CRM_CONTRACTS,
    entity="contract_id",
    description="The contract snapshot in effect for the day.",
    views={"snapshot": snapshot_age},
    refused_files="warn",
    expectations=(
        *structure(CRM_CONTRACTS, entity="contract_id", not_null=("snapshot_created_at", "source_file")),
        *_consistency("contract_consistency", WARN),
        expect("email-format", "ExpectColumnValuesToMatchRegex", "email looks like an e-mail address",
               check="contract_consistency", severity=WARN, entity="contract_id", column="email", regex=_EMAIL),
        not_null("metering_point_id", check="contract_consistency", severity=WARN, entity="contract_id"),
        row_count(1, None, check="freshness", severity=WARN, id="has-contracts",
                  description="a CRM snapshot covers the day (at least one contract)"),
        between("_age_days", None, 8, check="freshness", severity=WARN, view="snapshot", entity="source_file",
                id="snapshot-age", description="the snapshot is at most 8 days old (weekly export on Sundays)"),
    ),
)

_CIF = "contract_id"

CONTRACTS_IN_FORCE_SUITE = suite(
    asset=("marts", "contracts_in_force"),
    table=CONTRACTS_IN_FORCE,
    entity="contract_id",
    detail_column="problems",
    description="Contracts in force on the day: the portfolio and the commercial terms invoicing uses.",
    expectations=(
        *structure(CONTRACTS_IN_FORCE, entity=_CIF),
        expect("asset-unique", "ExpectCompoundColumnsToBeUnique", "one contract in force per asset",
               check="structure", severity=BLOCKING, entity=_CIF, column_list=["delivery_day", "asset_id"]),
        a_ge_b("delivery_day", "contract_begin", check="structure", severity=BLOCKING, entity=_CIF,
               id="begun", description="contract_begin <= delivery_day (contract has begun)"),
        a_ge_b("contract_end", "delivery_day", check="structure", severity=BLOCKING, entity=_CIF, strict=True,
               id="not-ended", description="delivery_day < contract_end (contract has not ended)"),
        *_consistency("contract_consistency", WARN),
        expect("email-format", "ExpectColumnValuesToMatchRegex", "email looks like an e-mail address",
               check="customer_data", severity=WARN, entity=_CIF, column="email", regex=_EMAIL),
        not_null("email", check="customer_data", severity=WARN, entity=_CIF),
        not_null("metering_point_id", check="customer_data", severity=WARN, entity=_CIF),
        row_count(1, None, check="freshness", severity=WARN, id="has-contracts",
                  description="at least one contract is in force"),
    ),
    # the staged snapshot's contracts in force are the portfolio: the mart holds them (an empty portfolio on a
    # day with asset data is blocked where the portfolio is built: asset_forecast, best_of_infeed)
    failing_rows=(
        inputs_present([Needs(Rows(CONTRACTS_IN_FORCE), when=CONTRACTS_IN_FORCE_ROWS)], check="completeness",
                       severity=BLOCKING),
        FailingRows.where(CONTRACTS_IN_FORCE, "NOT valid", "coalesce(problems, 'valid = false')", id="valid",
                          check="contract_consistency", severity=WARN, entity=_CIF,
                          description="the mart's own rules find no problem (valid = true)"),
    ),
    check_descriptions={
        "contract_consistency": (
            "Per contract (warning): commercial terms usable (fixed price has a price, each fee model its parameter, "
            "begin before end, known models/technology, capacity > 0). Fails naming the contract(s) and every problem. "
            "The finding is isolated where it matters: invoicing blocks exactly that contract (status 'blocked' with "
            "the reasons); the physical and trading marts are unaffected."
        ),
        "customer_data": "Customer e-mail and metering point present and well-formed (needed to send invoices).",
    },
)
