"""Data-quality suites of the monthly invoices, declared as data (run by ``defs/quality``; see docs/quality.md).

Monthly partitions: results are stored with ``delivery_day`` = the month's first day. A blocked
invoice is a WARN naming the contract (invoicing isolates it; the others are issued).
"""

from flexpower_dagster.defs.invoicing.tables import INVOICE_LINES, INVOICES
from flexpower_dagster.lib.quality.suites import BLOCKING, WARN, between, in_set, not_null, structure, suite

INVOICES_SUITE = suite(
    asset=("marts", "invoices"),
    table=INVOICES,
    entity="contract_id",
    detail_column="problems",
    expectations=(
        *structure(INVOICES, entity="contract_id"),
        in_set("status", ("final", "provisional", "blocked"), check="values", severity=BLOCKING, entity="contract_id"),
        not_null("problems", check="values", severity=BLOCKING, entity="contract_id", id="blocked-has-reason",
                 description="a blocked invoice names its reasons", row_condition='status=="blocked"', condition_parser="pandas"),
        not_null("gross_eur", check="values", severity=BLOCKING, entity="contract_id", id="issued-has-amount",
                 description="an issued (final/provisional) invoice has a gross amount",
                 row_condition='status!="blocked"', condition_parser="pandas"),
        in_set("status", ("final", "provisional"), check="blocked_contracts", severity=WARN, entity="contract_id",
               id="not-blocked", description="no invoice is blocked"),
        in_set("status", ("final",), check="freshness", severity=WARN, entity="contract_id", id="final",
               description="every invoice is final (all QHs from final DSO data)"),
    ),
    check_descriptions={"blocked_contracts": "Invoices blocked by unusable contract data or a missing input (the contract is isolated; others are issued)."},
)

INVOICE_LINES_SUITE = suite(
    asset=("marts", "invoice_lines"),
    table=INVOICE_LINES,
    entity="contract_id",
    expectations=(
        *structure(INVOICE_LINES, entity="contract_id"),
        in_set("line_type", ("infeed_payout", "fee", "redispatch_payout"), check="values", severity=BLOCKING, entity="contract_id"),
        between("net_eur", 0, None, check="values", severity=BLOCKING, entity="contract_id", description="net_eur >= 0"),
        between("vat_eur", 0, None, check="values", severity=BLOCKING, entity="contract_id", description="vat_eur >= 0"),
        between("gross_eur", 0, None, check="values", severity=BLOCKING, entity="contract_id", description="gross_eur >= 0"),
    ),
)
