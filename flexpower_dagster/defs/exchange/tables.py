"""Staging tables of the exchange (EPEX intraday): FlexPower's own trades and the public market."""

from flexpower_dagster.lib.tables import Column, TableSpec


def _trades(name: str, who: str) -> TableSpec:
    return TableSpec(
        schema="staging",
        name=name,
        description=f"{who} of the delivery day, from the newest export of that day. Volume in MW.",
        columns=(
            Column("delivery_day", "DATE", "UTC delivery day (of delivery_start)", nullable=False),
            Column("trade_id", "VARCHAR", "Exchange trade id", nullable=False),
            Column("side", "VARCHAR", "BUY or SELL"),
            Column("product", "VARCHAR", "hourly or quarter_hourly (from delivery_end - delivery_start)"),
            Column("delivery_start", "TIMESTAMP", "Product start (UTC)", nullable=False),
            Column("delivery_end", "TIMESTAMP", "Product end (UTC)"),
            Column("execution_time", "TIMESTAMP", "Execution instant (UTC)"),
            Column("price_eur_per_mwh", "DOUBLE", "Price in EUR/MWh"),
            Column("volume_mw", "DOUBLE", "Volume in MW (the file's MWH label is wrong; the exchange documents MW)"),
            Column("currency", "VARCHAR", "EUR"),
            Column("source_file", "VARCHAR", "Landing file (lineage)"),
        ),
        key=("delivery_day", "trade_id"),
    )


EXCHANGE_PRIVATE_TRADES = _trades("exchange_private_trades", "FlexPower's own trades")
EXCHANGE_PUBLIC_TRADES = _trades("exchange_public_trades", "All market participants' trades")
