"""Tables of the operations domain."""

from flexpower_dagster.lib.tables import Column, TableSpec

ALERTS = TableSpec(
    schema="marts",
    name="alerts",
    description=(
        "Everything that needs a person, one row per cause (alert key), listing the days or months it covers: "
        "late source files (per source and asset), failed runs (per job and step), failed data-quality checks "
        "(per asset and check; monthly checks per month), blocked invoices (per contract). Open until the cause is "
        "gone (resolved_at set); found again, it reopens. See docs/operations.md."
    ),
    columns=(
        Column("alert_key", "VARCHAR", "Stable key of the cause: kind:what:entity (monthly checks: and the month); "
               "no day: the days are in covered_keys", nullable=False),
        Column("kind", "VARCHAR", "late_data, run_failure, data_quality or blocked_invoice", nullable=False),
        Column("severity", "VARCHAR", "info, warning or error"),
        Column("status", "VARCHAR", "open or resolved"),
        Column("delivery_day", "DATE", "Newest delivery day the cause covers (NULL for monthly or portfolio-wide alerts)"),
        Column("invoice_month", "DATE", "Newest month the cause covers (blocked invoices, monthly checks)"),
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
        Column("title", "VARCHAR", "The cause in a line: check or source, entity, days (the e-mail subject)"),
        Column("covers", "VARCHAR", "Days (or months, run partitions) the cause covers, compact: 2025-06-02..06-05, 06-09"),
        Column("covered_keys", "VARCHAR", "The same, one ISO day (YYYY-MM-DD), month (YYYY-MM) or partition each, "
               "comma-separated"),
        Column("n_covered", "INTEGER", "How many days (months, partitions) the cause covers"),
        Column("priority", "INTEGER", "Sort order, 1 first: late data, failed runs, blocked invoices, data quality; "
               "errors before warnings before info"),
    ),
    key=("alert_key",),
    partition_column=None,
)
