"""Dagster wiring of the customer statements (logic in :mod:`.data`, :mod:`.render`, :mod:`.files`;
docs/permissions.md, "Customer statements").

``customer_statements`` (monthly, like the invoices) writes ``<data dir>/statements/<YYYY-MM>/<customer>/statement.html``
and ``statement.pdf`` for every customer with a contract in force in the month, from that customer's scoped rows
(the policy's ``customer`` audience). It runs after ``marts/invoices`` and ``marts/invoice_lines`` of the month and
before ``marts/invoice_documents``, which attaches each customer's statement PDF to its invoice e-mails.
"""

import warnings
from datetime import date

import dagster as dg

from flexpower_dagster.defs.invoicing.parties import Issuer
from flexpower_dagster.defs.permissions.policy import load_policy
from flexpower_dagster.defs.statements.data import INFEED, PERFORMANCE, STATEMENT_TABLES, grants, read_customer_months
from flexpower_dagster.defs.statements.files import render_month, write_month
from flexpower_dagster.lib.customers import STATEMENTS_DIR, month_folder
from flexpower_dagster.lib.dagster.lanes import WAREHOUSE_POOL
from flexpower_dagster.lib.dagster.limits import limited
from flexpower_dagster.lib.dagster.metadata import quantities
from flexpower_dagster.lib.dagster.partitions import MONTHLY_TAGS, monthly_partitions
from flexpower_dagster.lib.dagster.resources import DataDir, Warehouse
from flexpower_dagster.lib.dbfile import open_reader
from flexpower_dagster.settings import Settings

POLICY = load_policy()
grants(POLICY)  # refuse at load time a policy that does not grant the statements' tables to customers
STATEMENTS_KEY = dg.AssetKey("customer_statements")
#: Daily marts the statement reads (every daily partition of the month) and the month's invoices.
DAILY_INPUTS = ("marts.contracts_in_force", INFEED, PERFORMANCE)


def _deps() -> list[dg.AssetDep]:
    with warnings.catch_warnings():  # the flag is beta; it is what the running month needs (as for the invoices)
        warnings.simplefilter("ignore", dg.BetaWarning)
        mapping = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
    daily = [dg.AssetDep(dg.AssetKey(t.split(".")), partition_mapping=mapping) for t in DAILY_INPUTS]
    monthly = [dg.AssetDep(dg.AssetKey(t.split("."))) for t in STATEMENT_TABLES if t not in DAILY_INPUTS]
    return daily + monthly


@dg.asset(
    key=STATEMENTS_KEY,
    pool=WAREHOUSE_POOL,
    deps=_deps(),
    partitions_def=monthly_partitions,
    tags=MONTHLY_TAGS,
    group_name="reporting",
    kinds={"duckdb", "html", "pdf"},
    description=(
        "Per customer (the CRM contract's e-mail; several contracts possible) and month: "
        f"<data dir>/{STATEMENTS_DIR}/<YYYY-MM>/<customer slug>/statement.html and statement.pdf with their assets' "
        "daily infeed vs forecast, redispatch and the invoice lines, generated only from the customer's rows as the "
        "permissions policy scopes them (audience customer:<e-mail>); one set of queries for all customers. "
        "marts/invoice_documents attaches the PDF to the customer's invoice e-mails. docs/permissions.md."
    ),
)
@limited("reporting")
def customer_statements(context: dg.AssetExecutionContext, warehouse: Warehouse, data_dir: DataDir) -> dg.MaterializeResult:
    month = date.fromisoformat(context.partition_key)
    with open_reader(warehouse.path, wait_seconds=warehouse.lock_wait_seconds, log=context.log.info) as conn:
        customers = read_customer_months(conn, POLICY, month)
    statements = render_month(customers, month, Issuer.from_settings(Settings.from_env()), POLICY.sha256)
    written = write_month(data_dir.path, month, statements)
    for reason in statements.skipped:
        context.log.warning(f"no statement: {reason}")
    context.log.info(f"{statements.customers} customer statements of {month:%Y-%m} ({len(written)} files) "
                     f"rendered in {statements.render_seconds:.1f} s")
    return dg.MaterializeResult(metadata=quantities({
        "directory": dg.MetadataValue.path(str(data_dir.path / STATEMENTS_DIR / month_folder(month))),
        "customers": statements.customers,
        "contracts": sum(len(c.contracts) for c in customers),
        "files": len(written),
        "size_mib": round(sum(len(f.content) for f in statements.files) / 2**20, 2),
        "render_seconds": round(statements.render_seconds, 2),
        "customers_without_statement": len(statements.skipped),
        "policy_sha256": POLICY.sha256,
    }))
