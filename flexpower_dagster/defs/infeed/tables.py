"""Tables of the infeed marts."""

from flexpower_dagster.lib.tables import Column, TableSpec

#: Values of best_of_infeed.source, in priority order.
SOURCES = ("final", "live", "forecast", "forecast_redispatched", "missing")

LIVE_INFEED = TableSpec(
    schema="marts",
    name="live_infeed",
    description=(
        "Live measured infeed per asset and QH: mean of the VPP live samples with "
        "delivery_start <= timestamp < delivery_end (MW). A QH without a sample has no row."
    ),
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("asset_id", "VARCHAR", "Asset id (from the live file's key)", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("mw", "DOUBLE", "Mean of the samples' MW (negative night values kept as delivered)"),
        Column("mwh", "DOUBLE", "mw * 0.25"),
        Column("n_samples", "BIGINT", "Samples averaged (non-NULL values)"),
        Column("min_mw", "DOUBLE", "Smallest sample"),
        Column("max_mw", "DOUBLE", "Largest sample"),
        Column("mean_quality", "DOUBLE", "Mean quality factor of the samples"),
        Column("first_sample_at", "TIMESTAMP", "First sample instant in the QH (UTC)"),
        Column("last_sample_at", "TIMESTAMP", "Last sample instant in the QH (UTC)"),
    ),
    key=("delivery_day", "asset_id", "delivery_start"),
)

BEST_OF_INFEED = TableSpec(
    schema="marts",
    name="best_of_infeed",
    description=(
        "Per portfolio asset and QH: first available of final DSO -> live VPP -> latest forecast "
        "(0 in redispatched QHs), else missing (NULL), with the source."
    ),
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("asset_id", "VARCHAR", "Portfolio asset (contract in force)", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("mw", "DOUBLE", "Best available power in MW (NULL when source = missing)"),
        Column("mwh", "DOUBLE", "mw * 0.25 (NULL when source = missing)"),
        Column("source", "VARCHAR", "final, live, forecast, forecast_redispatched or missing"),
        Column("final_mw", "DOUBLE", "Final DSO measurement, if any"),
        Column("live_mw", "DOUBLE", "Live VPP mean, if any"),
        Column("live_n_samples", "BIGINT", "Live samples behind live_mw"),
        Column("forecast_mw", "DOUBLE", "Latest forecast, if any"),
        Column("forecast_version", "TIMESTAMP", "Version of forecast_mw"),
        Column("redispatched", "BOOLEAN", "DSO flagged the QH as redispatched (switched off)"),
        Column("metering_point_id", "VARCHAR", "Metering point of the contract in force"),
        Column("contract_id", "VARCHAR", "Contract in force"),
    ),
    key=("delivery_day", "asset_id", "delivery_start"),
)

PORTFOLIO_BEST_OF_INFEED = TableSpec(
    schema="marts",
    name="portfolio_best_of_infeed",
    description="Per QH: sum of the portfolio's best-of-infeed and the share of portfolio assets per source.",
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("mw", "DOUBLE", "Sum of mw over the assets that have a value (see missing_share)"),
        Column("mwh", "DOUBLE", "Sum of mwh over the assets that have a value"),
        Column("n_assets", "BIGINT", "Portfolio assets"),
        Column("final_share", "DOUBLE", "Share of portfolio assets whose value is final DSO data"),
        Column("live_share", "DOUBLE", "Share of assets from live VPP data"),
        Column(
            "forecast_share",
            "DOUBLE",
            "Share of assets from the forecast step, INCLUDING forecast_redispatched (see forecast_redispatched_share)",
        ),
        Column("forecast_redispatched_share", "DOUBLE", "Share of assets set to 0 because redispatched (part of forecast_share)"),
        Column("missing_share", "DOUBLE", "Share of assets with no value; final+live+forecast+missing = 1"),
        Column("final_mwh", "DOUBLE", "MWh from final data"),
        Column("live_mwh", "DOUBLE", "MWh from live data"),
        Column("forecast_mwh", "DOUBLE", "MWh from forecasts (redispatched QHs count 0)"),
        Column("n_missing", "BIGINT", "Assets with source missing"),
        Column("complete", "BOOLEAN", "True when no asset is missing"),
    ),
    key=("delivery_day", "delivery_start"),
)
