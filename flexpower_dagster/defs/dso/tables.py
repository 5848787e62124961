"""Staging tables of the distribution system operator (DSO)."""

from flexpower_dagster.lib.tables import Column, TableSpec

DSO_FINAL_PRODUCTION = TableSpec(
    schema="staging",
    name="dso_final_production",
    description="Final measured power per quarter-hour and metering point, mapped to the asset via the contracts.",
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("metering_point_id", "VARCHAR", "Metering point from the header", nullable=False),
        Column("asset_id", "VARCHAR", "Asset of the metering point (CRM contracts)", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("mw", "DOUBLE", "Final measured power in MW (kW / 1000)"),
        Column("mwh", "DOUBLE", "Energy in the QH: mw * 0.25"),
        Column("source_file", "VARCHAR", "Landing file (lineage)"),
    ),
    key=("delivery_day", "metering_point_id", "delivery_start"),
)

DSO_REDISPATCH_FLAGS = TableSpec(
    schema="staging",
    name="dso_redispatch_flags",
    description="Quarter-hours in which the DSO switched an asset off (redispatch).",
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("metering_point_id", "VARCHAR", "Metering point from the file name", nullable=False),
        Column("asset_id", "VARCHAR", "Asset of the metering point (CRM contracts)", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("is_redispatched", "BOOLEAN", "True = switched off in this QH"),
        Column("source_file", "VARCHAR", "Landing file (lineage)"),
    ),
    key=("delivery_day", "metering_point_id", "delivery_start"),
)

DSO_REDISPATCH_COMPENSATION = TableSpec(
    schema="staging",
    name="dso_redispatch_compensation",
    description="DSO compensation price per quarter-hour for redispatched volume (EUR/MWh).",
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("price_eur_per_mwh", "DOUBLE", "Compensation price"),
        Column("source_file", "VARCHAR", "Landing file (lineage)"),
    ),
    key=("delivery_day", "delivery_start"),
)
