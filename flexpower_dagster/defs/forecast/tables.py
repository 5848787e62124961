"""Tables of the forecast marts."""

from flexpower_dagster.lib.tables import Column, TableSpec

ASSET_FORECAST = TableSpec(
    schema="marts",
    name="asset_forecast",
    description=(
        "Per portfolio asset and QH of the delivery day: the latest forecast (newest version <= delivery_start) "
        "and the tradeable forecast (newest version <= delivery_start - 15 min, gate closure), with the versions."
    ),
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("asset_id", "VARCHAR", "Portfolio asset (contract in force on the day)", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("latest_mw", "DOUBLE", "Forecast MW of the newest version with version <= delivery_start (NULL: none)"),
        Column("latest_mwh", "DOUBLE", "latest_mw * 0.25"),
        Column("latest_version", "TIMESTAMP", "Version instant of latest_mw (UTC)"),
        Column("tradeable_mw", "DOUBLE", "Forecast MW of the newest version with version <= delivery_start - 15 min"),
        Column("tradeable_mwh", "DOUBLE", "tradeable_mw * 0.25"),
        Column("tradeable_version", "TIMESTAMP", "Version instant of tradeable_mw (UTC)"),
        Column("n_versions", "BIGINT", "Forecast versions staged for this asset and QH (all, including later ones)"),
        Column("contract_id", "VARCHAR", "Contract in force that puts the asset in the portfolio"),
    ),
    key=("delivery_day", "asset_id", "delivery_start"),
)

PORTFOLIO_FORECAST = TableSpec(
    schema="marts",
    name="portfolio_forecast",
    description="Per QH: sum of the portfolio assets' latest and tradeable forecasts.",
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("latest_mw", "DOUBLE", "Sum of latest_mw over the portfolio assets that have one (NULL: none has)"),
        Column("latest_mwh", "DOUBLE", "latest_mw * 0.25"),
        Column("tradeable_mw", "DOUBLE", "Sum of tradeable_mw over the portfolio assets that have one"),
        Column("tradeable_mwh", "DOUBLE", "tradeable_mw * 0.25"),
        Column("n_assets", "BIGINT", "Assets in the portfolio (contracts in force)"),
        Column("n_assets_without_latest", "BIGINT", "Portfolio assets with no latest forecast for the QH"),
        Column("n_assets_without_tradeable", "BIGINT", "Portfolio assets with no tradeable forecast for the QH"),
    ),
    key=("delivery_day", "delivery_start"),
)
