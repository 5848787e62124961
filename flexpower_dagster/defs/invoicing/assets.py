"""Dagster wiring of monthly invoicing: ``marts/invoice_lines`` + ``marts/invoices`` (one computation) and
``marts/invoice_documents`` (HTML, PDF, outbox e-mails, operations list, and their manifest).

Monthly partitions (key = first day of the month) depend on every daily partition of the month through a
``TimeWindowPartitionMapping``; the month's sums are one SQL statement over the warehouse
(:mod:`.sums`), so days that were never materialised simply have no rows (the invoice becomes provisional
and names them).
Documents are a separate asset so that the warehouse rows and the files can be re-run independently
(e.g. re-render after a template change without touching the numbers), and a rendering failure never
loses the invoice rows.
"""

import warnings
from datetime import date

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.invoicing.documents import issue_documents, write_documents
from flexpower_dagster.defs.invoicing.expectations import INVOICE_LINES_SUITE, INVOICES_SUITE
from flexpower_dagster.defs.invoicing.lines import compute_invoices_in
from flexpower_dagster.defs.invoicing.parties import Issuer
from flexpower_dagster.defs.invoicing.register import read_register
from flexpower_dagster.defs.invoicing.sums import INPUTS
from flexpower_dagster.defs.invoicing.tables import INVOICE_DOCUMENTS, INVOICE_LINES, INVOICE_REGISTER, INVOICES
from flexpower_dagster.lib.customers import read_statement_pdf
from flexpower_dagster.lib.dagster.checks import build_suite_checks
from flexpower_dagster.lib.dagster.lanes import WAREHOUSE_POOL
from flexpower_dagster.lib.dagster.limits import limited
from flexpower_dagster.lib.dagster.metadata import quantities, table_metadata
from flexpower_dagster.lib.dagster.partitions import MONTHLY_TAGS, monthly_partitions
from flexpower_dagster.lib.dagster.resources import DataDir, Warehouse
from flexpower_dagster.lib.warehouse import replace_partitions
from flexpower_dagster.settings import Settings

GROUP = "marts_invoicing"
#: The customer statements of the month (``defs/statements``): an invoice e-mail attaches its customer's.
STATEMENTS_KEY = dg.AssetKey("customer_statements")

def _month_deps() -> list[dg.AssetDep]:
    """Every daily partition of the month of each input table (``sums.INPUTS``)."""
    # allow_nonexistent_upstream_partitions: the running month has days that are not daily partitions yet.
    with warnings.catch_warnings():  # the flag is marked beta; it is exactly what the running month needs
        warnings.simplefilter("ignore", dg.BetaWarning)
        mapping = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
    return [dg.AssetDep(dg.AssetKey([spec.schema, spec.name]), partition_mapping=mapping) for spec in INPUTS.values()]


def _invoice_summary(invoices: pd.DataFrame) -> dict:
    md: dict = {
        "invoices": len(invoices),
        "final": int((invoices["status"] == "final").sum()),
        "provisional": int((invoices["status"] == "provisional").sum()),
        "blocked": int((invoices["status"] == "blocked").sum()),
    }
    if len(invoices):
        md["totals"] = dg.MetadataValue.md(
            "| invoice | status | net EUR | VAT EUR | gross EUR | problems |\n|---|---|---:|---:|---:|---|\n"
            + "\n".join(
                f"| {r['invoice_id']} | {r['status']} | {_fmt(r['net_eur'])} | {_fmt(r['vat_eur'])} | "
                f"{_fmt(r['gross_eur'])} | {r['problems'] or ''} |"
                for r in invoices.to_dict("records")
            )
        )
    return md


def _fmt(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:,.2f}"


def build_invoicing_assets() -> list[dg.AssetsDefinition]:
    @dg.multi_asset(
        name="monthly_invoices",
        outs={
            "invoice_lines": dg.AssetOut(
                key=["marts", "invoice_lines"],
                metadata=table_metadata(INVOICE_LINES),
                description=INVOICE_LINES.description,
                tags=MONTHLY_TAGS,
                kinds={"duckdb", "pandas"},
                group_name=GROUP,
            ),
            "invoices": dg.AssetOut(
                key=["marts", "invoices"],
                metadata=table_metadata(INVOICES),
                description=INVOICES.description,
                tags=MONTHLY_TAGS,
                kinds={"duckdb", "pandas"},
                group_name=GROUP,
            ),
        },
        deps=_month_deps(),
        partitions_def=monthly_partitions,
        can_subset=False,
        pool=WAREHOUSE_POOL,
    )
    @limited("invoicing")
    def monthly_invoices(context: dg.AssetExecutionContext, warehouse: Warehouse):
        month = date.fromisoformat(context.partition_key)
        with warehouse.connect(log=context.log.info) as conn:
            lines, invoices = compute_invoices_in(conn, month)
        for r in invoices[invoices["status"] == "blocked"].to_dict("records"):
            context.log.warning(f"invoice {r['invoice_id']} blocked: {r['problems']}")
        return (
            dg.Output(lines, output_name="invoice_lines", metadata=quantities({"lines": len(lines)})),
            dg.Output(invoices, output_name="invoices", metadata=quantities(_invoice_summary(invoices))),
        )

    @dg.asset(
        key=["marts", "invoice_documents"],
        pool=WAREHOUSE_POOL,
        ins={"invoices": dg.AssetIn(key=["marts", "invoices"]), "invoice_lines": dg.AssetIn(key=["marts", "invoice_lines"])},
        deps=[STATEMENTS_KEY],
        partitions_def=monthly_partitions,
        tags=MONTHLY_TAGS,
        group_name=GROUP,
        kinds={"duckdb", "pandas", "pdf", "html"},
        metadata=table_metadata(INVOICE_DOCUMENTS),
        description=(
            "Invoice documents of the month. Only settled invoices reach a customer: a final invoice is sent as "
            "<data_dir>/invoices/<YYYY-MM>/<document_number>.html/.pdf plus an e-mail in <data_dir>/outbox/<YYYY-MM>/; "
            "a provisional one is an internal draft <invoice_id>.html/.pdf marked DRAFT, never e-mailed; a sent "
            "document is never changed (a correction is a cancellation plus a new document, both e-mailed, recorded "
            "in marts.invoice_register); an invoice e-mail attaches the customer's monthly statement (customer_statements, "
            "built before); operations.csv lists blocked invoices. The table is the manifest (path, "
            "size, SHA-256). Same data -> same bytes, nothing new sent."
        ),
    )
    @limited("invoicing")
    def invoice_documents(
        context: dg.AssetExecutionContext, data_dir: DataDir, warehouse: Warehouse, invoices: pd.DataFrame,
        invoice_lines: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        month = date.fromisoformat(context.partition_key)
        with warehouse.connect(log=context.log.info) as conn:
            register = read_register(conn, month)
        # FlexPower's name, address and tax ids from the settings (FLEXPOWER_ISSUER_*; demo defaults marked DEMO)
        # an invoice e-mail attaches its customer's statement of the month (written by customer_statements before)
        docs, new_register = issue_documents(month, invoices, invoice_lines, register,
                                             Issuer.from_settings(Settings.from_env()),
                                             statement_for=lambda email: read_statement_pdf(data_dir.path, month, email))
        manifest = write_documents(data_dir.path, month, docs)
        # After the files: the register never names a document that was not written. Old rows are carried forward.
        issued = new_register[~new_register["document_number"].isin(register["document_number"])]
        if len(issued):
            with warehouse.connect(log=context.log.info) as conn:
                replace_partitions(conn, INVOICE_REGISTER, [month], new_register)
        for r in issued.to_dict("records"):
            context.log.info(f"sent {r['kind']} {r['document_number']} of invoice {r['invoice_id']} to {r['email']}")
        return dg.Output(
            manifest,
            metadata=quantities({
                "files": len(manifest),
                "emails": int((manifest["kind"] == "eml").sum()),
                "documents_sent_now": len(issued),
                "documents_sent_total": len(new_register),
                "drafts": int((invoices["status"] == "provisional").sum()) if len(invoices) else 0,
                "blocked": int((invoices["status"] == "blocked").sum()) if len(invoices) else 0,
                "invoice_dir": str(data_dir.path / "invoices" / f"{month:%Y-%m}"),
                "outbox_dir": str(data_dir.path / "outbox" / f"{month:%Y-%m}"),
            }),
        )

    return [monthly_invoices, invoice_documents]


monthly_invoices, invoice_documents = build_invoicing_assets()

invoices_checks = build_suite_checks(INVOICES_SUITE)
invoice_lines_checks = build_suite_checks(INVOICE_LINES_SUITE)
