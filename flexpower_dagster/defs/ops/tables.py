"""Tables of the operations domain."""

from flexpower_dagster.lib.tables import Column, TableSpec

ALERTS = TableSpec(
    schema="marts",
    name="alerts",
    description=(
        "Everything that needs a person, one row per alert key: late source files (per source, day and asset), "
        "failed runs (per job/step and partition), failed data-quality checks, blocked invoices. Open until the "
        "cause is gone (resolved_at set); found again, it reopens. See docs/operations.md."
    ),
    columns=(
        Column("alert_key", "VARCHAR", "Stable key: kind:what:day-or-month:entity", nullable=False),
        Column("kind", "VARCHAR", "late_data, run_failure, data_quality or blocked_invoice", nullable=False),
        Column("severity", "VARCHAR", "info, warning or error"),
        Column("status", "VARCHAR", "open or resolved"),
        Column("delivery_day", "DATE", "Delivery day concerned (NULL for monthly or portfolio-wide alerts)"),
        Column("invoice_month", "DATE", "Invoice month concerned (blocked invoices)"),
        Column("entity", "VARCHAR", "Asset, contract, source or job concerned"),
        Column("source", "VARCHAR", "Staging table, asset key, check or job the alert is about"),
        Column("message", "VARCHAR", "What is wrong, with the day/asset/contract"),
        Column("action", "VARCHAR", "What to do"),
        Column("link", "VARCHAR", "Dagster UI link (run, asset) where there is one"),
        Column("details", "VARCHAR", "JSON: run id, failing step, due time, reasons, ..."),
        Column("since", "TIMESTAMP", "When the cause started (deadline, run failure), UTC"),
        Column("opened_at", "TIMESTAMP", "When the alert (last) opened, UTC"),
        Column("last_seen_at", "TIMESTAMP", "Latest evaluation that still found it, UTC"),
        Column("resolved_at", "TIMESTAMP", "When the cause was gone, UTC (NULL while open)"),
        Column("occurrences", "INTEGER", "How often it opened (1 + reopenings)"),
    ),
    key=("alert_key",),
    partition_column=None,
)
