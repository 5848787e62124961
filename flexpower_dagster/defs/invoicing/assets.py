"""Dagster wiring of monthly invoicing: ``marts/invoice_lines`` + ``marts/invoices`` (one computation) and
``marts/invoice_documents`` (HTML, PDF, outbox e-mails, operations list, and their manifest).

Monthly partitions (key = first day of the month) read every daily partition of the month through a
``TimeWindowPartitionMapping``; the IO manager loads the ``delivery_day`` range of the month, so days that
were never materialised simply have no rows (the invoice becomes provisional and names them).
Documents are a separate asset so that the warehouse rows and the files can be re-run independently
(e.g. re-render after a template change without touching the numbers), and a rendering failure never
loses the invoice rows.
"""

import warnings
from datetime import date

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.invoicing.documents import month_documents, write_documents
from flexpower_dagster.defs.invoicing.rules import compute_invoices
from flexpower_dagster.defs.invoicing.tables import INVOICE_DOCUMENTS, INVOICE_LINES, INVOICES
from flexpower_dagster.platform.partitions import MONTHLY_TAGS, monthly_partitions
from flexpower_dagster.platform.resources import DataDir
from flexpower_dagster.platform.staging import table_metadata

GROUP = "marts_invoicing"

#: Input name -> upstream daily asset. Each is loaded for every day of the month.
UPSTREAM: dict[str, list[str]] = {
    "contracts": ["marts", "contracts_in_force"],
    "infeed": ["marts", "best_of_infeed"],
    "forecast": ["marts", "asset_forecast"],
    "trading": ["marts", "trading_qh"],
    "flags": ["staging", "dso_redispatch_flags"],
    "compensation": ["staging", "dso_redispatch_compensation"],
}


def _month_ins() -> dict[str, dg.AssetIn]:
    # allow_nonexistent_upstream_partitions: the running month has days that are not daily partitions yet.
    with warnings.catch_warnings():  # the flag is marked beta; it is exactly what the running month needs
        warnings.simplefilter("ignore", dg.BetaWarning)
        mapping = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
    return {name: dg.AssetIn(key=key, partition_mapping=mapping) for name, key in UPSTREAM.items()}


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
                metadata=table_metadata(INVOICE_LINES, partition_expr="invoice_month"),
                description=INVOICE_LINES.description,
                tags=MONTHLY_TAGS,
                kinds={"duckdb", "pandas"},
                group_name=GROUP,
            ),
            "invoices": dg.AssetOut(
                key=["marts", "invoices"],
                metadata=table_metadata(INVOICES, partition_expr="invoice_month"),
                description=INVOICES.description,
                tags=MONTHLY_TAGS,
                kinds={"duckdb", "pandas"},
                group_name=GROUP,
            ),
        },
        ins=_month_ins(),
        partitions_def=monthly_partitions,
        can_subset=False,
    )
    def monthly_invoices(
        context: dg.AssetExecutionContext,
        contracts: pd.DataFrame,
        infeed: pd.DataFrame,
        forecast: pd.DataFrame,
        trading: pd.DataFrame,
        flags: pd.DataFrame,
        compensation: pd.DataFrame,
    ):
        month = date.fromisoformat(context.partition_key)
        lines, invoices = compute_invoices(
            month,
            {"contracts": contracts, "infeed": infeed, "forecast": forecast, "trading": trading, "flags": flags,
             "compensation": compensation},
        )
        for r in invoices[invoices["status"] == "blocked"].to_dict("records"):
            context.log.warning(f"invoice {r['invoice_id']} blocked: {r['problems']}")
        return (
            dg.Output(lines, output_name="invoice_lines", metadata={"lines": len(lines)}),
            dg.Output(invoices, output_name="invoices", metadata=_invoice_summary(invoices)),
        )

    @dg.asset(
        key=["marts", "invoice_documents"],
        ins={"invoices": dg.AssetIn(key=["marts", "invoices"]), "invoice_lines": dg.AssetIn(key=["marts", "invoice_lines"])},
        partitions_def=monthly_partitions,
        tags=MONTHLY_TAGS,
        group_name=GROUP,
        kinds={"duckdb", "pandas", "pdf", "html"},
        metadata=table_metadata(INVOICE_DOCUMENTS, partition_expr="invoice_month"),
        description=(
            "Invoice documents of the month: <data_dir>/invoices/<YYYY-MM>/<invoice_id>.html and .pdf, one .eml per "
            "non-blocked invoice in <data_dir>/outbox/<YYYY-MM>/ (never sent), operations.csv listing blocked "
            "invoices; the table is the manifest (path, size, SHA-256). Same data -> same bytes."
        ),
    )
    def invoice_documents(
        context: dg.AssetExecutionContext, data_dir: DataDir, invoices: pd.DataFrame, invoice_lines: pd.DataFrame
    ) -> dg.Output[pd.DataFrame]:
        month = date.fromisoformat(context.partition_key)
        docs = month_documents(month, invoices, invoice_lines)
        manifest = write_documents(data_dir.path, month, docs)
        return dg.Output(
            manifest,
            metadata={
                "files": len(manifest),
                "emails": int((manifest["kind"] == "eml").sum()),
                "blocked": int((invoices["status"] == "blocked").sum()) if len(invoices) else 0,
                "invoice_dir": str(data_dir.path / "invoices" / f"{month:%Y-%m}"),
                "outbox_dir": str(data_dir.path / "outbox" / f"{month:%Y-%m}"),
            },
        )

    return [monthly_invoices, invoice_documents]


monthly_invoices, invoice_documents = build_invoicing_assets()
