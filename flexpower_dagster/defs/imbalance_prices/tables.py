"""Staging tables of the imbalance prices (TSO / regulator)."""

from flexpower_dagster.lib.tables import Column, TableSpec

IMBALANCE_PRICE_ESTIMATES = TableSpec(
    schema="staging",
    name="imbalance_price_estimates",
    description="Estimated imbalance price per quarter-hour (AEP-Schätzer), newest estimation file wins.",
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("price_eur_per_mwh", "DOUBLE", "Estimated price"),
        Column("status", "VARCHAR", "The file's Status column as delivered"),
        Column("published_at", "TIMESTAMP", "Estimation time from the file name (UTC)"),
        Column("source_file", "VARCHAR", "Landing file (lineage)"),
    ),
    key=("delivery_day", "delivery_start"),
)

IMBALANCE_PRICE_FINAL = TableSpec(
    schema="staging",
    name="imbalance_price_final",
    description="Final imbalance price (reBAP) per quarter-hour; may have gaps.",
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("price_short_eur_per_mwh", "DOUBLE", "reBAP unterdeckt: price when the balancing group is short"),
        Column("price_long_eur_per_mwh", "DOUBLE", "reBAP ueberdeckt: price when the balancing group is long"),
        Column("published_at", "TIMESTAMP", "Publication time from the file name (UTC)"),
        Column("source_file", "VARCHAR", "Landing file (lineage)"),
    ),
    key=("delivery_day", "delivery_start"),
)
