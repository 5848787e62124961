"""Tables of the imbalance marts."""

from flexpower_dagster.lib.tables import Column, TableSpec

IMBALANCE = TableSpec(
    schema="marts",
    name="imbalance",
    description=(
        "Per portfolio asset and QH: imbalance_mwh = best_of_infeed_mwh - tradeable_forecast_mwh, priced with "
        "final reBAP (unterdeckt when short, ueberdeckt when long) else the newest estimate; cost_eur = -imbalance_mwh * price."
    ),
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("asset_id", "VARCHAR", "Portfolio asset", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("best_of_infeed_mwh", "DOUBLE", "marts.best_of_infeed.mwh"),
        Column("infeed_source", "VARCHAR", "marts.best_of_infeed.source"),
        Column("tradeable_forecast_mwh", "DOUBLE", "marts.asset_forecast.tradeable_mwh"),
        Column("tradeable_version", "TIMESTAMP", "Forecast version the tradeable MWh came from"),
        Column("imbalance_mwh", "DOUBLE", "best_of_infeed_mwh - tradeable_forecast_mwh (> 0 long, < 0 short; NULL: see reason)"),
        Column("direction", "VARCHAR", "short (< 0), long (> 0), balanced (= 0, priced like long), NULL when unknown"),
        Column("price_eur_per_mwh", "DOUBLE", "Imbalance price applied (NULL when imbalance or price unknown)"),
        Column("price_source", "VARCHAR", "final (reBAP published), estimate (newest AEP estimate) or none"),
        Column("cost_eur", "DOUBLE", "-imbalance_mwh * price: positive = FlexPower pays"),
        Column("reason", "VARCHAR", "Why imbalance or cost is NULL (missing_best_of_infeed, no_tradeable_forecast, no_price)"),
    ),
    key=("delivery_day", "asset_id", "delivery_start"),
)

PORTFOLIO_IMBALANCE = TableSpec(
    schema="marts",
    name="portfolio_imbalance",
    description=(
        "Per QH: the portfolio's asset imbalances netted before pricing; cost_eur = -net_mwh * price(sign of net), "
        "next to the sum of the asset costs."
    ),
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("imbalance_mwh", "DOUBLE", "Net of the asset imbalances (NULL when any asset's imbalance is unknown)"),
        Column("known_imbalance_mwh", "DOUBLE", "Net over the assets whose imbalance is known"),
        Column("direction", "VARCHAR", "short, long or balanced (sign of the net)"),
        Column("price_eur_per_mwh", "DOUBLE", "Price for the net's direction"),
        Column("price_source", "VARCHAR", "final, estimate or none"),
        Column("estimate_priced", "BOOLEAN", "True when the QH is priced with an estimate, not final reBAP"),
        Column("cost_eur", "DOUBLE", "-imbalance_mwh * price (positive = FlexPower pays)"),
        Column("sum_of_asset_costs_eur", "DOUBLE", "Sum of marts.imbalance.cost_eur (NULL when any asset cost is unknown)"),
        Column("netting_benefit_eur", "DOUBLE", "sum_of_asset_costs_eur - cost_eur"),
        Column("n_assets", "BIGINT", "Portfolio assets"),
        Column("n_assets_unknown", "BIGINT", "Assets whose imbalance is NULL"),
        Column("reason", "VARCHAR", "Why imbalance or cost is NULL"),
    ),
    key=("delivery_day", "delivery_start"),
)
