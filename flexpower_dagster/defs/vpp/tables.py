"""Staging tables of the virtual power plant (VPP): technical data, forecasts, live samples."""

from flexpower_dagster.lib.tables import Column, TableSpec

VPP_TECHNICAL_DATA = TableSpec(
    schema="staging",
    name="vpp_technical_data",
    description="Asset technical data from the newest VPP snapshot taken before the delivery day ends.",
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("asset_id", "VARCHAR", "Asset id", nullable=False),
        Column("asset_name", "VARCHAR", "Asset name"),
        Column("technology", "VARCHAR", "solar or wind (VPP field `type`)"),
        Column("latitude", "DOUBLE"),
        Column("longitude", "DOUBLE"),
        Column("timezone", "VARCHAR"),
        Column("capacity_mw", "DOUBLE", "capacity_kw / 1000"),
        Column("status", "VARCHAR"),
        Column("owner_name", "VARCHAR"),
        Column("commissioning_date", "DATE"),
        Column("snapshot_taken_at", "TIMESTAMP", "Snapshot time from the file name (UTC)"),
        Column("source_file", "VARCHAR", "Landing file (lineage)"),
    ),
    key=("delivery_day", "asset_id"),
)

VPP_FORECASTS = TableSpec(
    schema="staging",
    name="vpp_forecasts",
    description="Every forecast version's value for every quarter-hour of the delivery day (MW).",
    columns=(
        Column("delivery_day", "DATE", "UTC day of delivery_start", nullable=False),
        Column("asset_id", "VARCHAR", "Asset id from the file's key", nullable=False),
        Column("version", "TIMESTAMP", "Forecast version instant (UTC)", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("mw", "DOUBLE", "Forecast power in MW (kW / 1000)"),
        Column("source_file", "VARCHAR", "Landing file (lineage)"),
    ),
    key=("delivery_day", "asset_id", "version", "delivery_start"),
)

VPP_LIVE_SAMPLES = TableSpec(
    schema="staging",
    name="vpp_live_samples",
    description="Live measured power samples (about one a minute, irregular), in MW.",
    columns=(
        Column("delivery_day", "DATE", "UTC day of the sample", nullable=False),
        Column("asset_id", "VARCHAR", "Asset id from the file's key (asset_id or entity_id)", nullable=False),
        Column("timestamp", "TIMESTAMP", "Sample instant (UTC)", nullable=False),
        Column("mw", "DOUBLE", "Measured power in MW (kW / 1000); small negatives at night kept as delivered"),
        Column("quality", "DOUBLE", "Quality factor as delivered"),
        Column("source_file", "VARCHAR", "Landing file (lineage)"),
    ),
    key=("delivery_day", "asset_id", "timestamp"),
)
