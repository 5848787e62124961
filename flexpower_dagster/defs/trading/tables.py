"""Tables of the trading marts."""

from flexpower_dagster.lib.tables import Column, TableSpec

_METRICS = (
    Column("revenue_eur", "DOUBLE", "sum(sign * mw * hours * price), SELL +1 / BUY -1 (0 in a QH without trades; "
           "NULL for every QH of a day without private trade data)"),
    Column("n_trades", "BIGINT", "Distinct private trade ids (an hourly trade counts once)"),
    Column("net_volume_mwh", "DOUBLE", "sum(sign * mwh): positive = net sold"),
    Column("bought_mwh", "DOUBLE", "MWh bought"),
    Column("sold_mwh", "DOUBLE", "MWh sold"),
    Column("vwap_eur_per_mwh", "DOUBLE", "Private VWAP sum(mwh*price)/sum(mwh) over buys and sells (NULL: no trade)"),
    Column("buy_vwap_eur_per_mwh", "DOUBLE", "VWAP of the buys"),
    Column("sell_vwap_eur_per_mwh", "DOUBLE", "VWAP of the sells"),
    Column("market_vwap_eur_per_mwh", "DOUBLE", "Same VWAP over the public trades (market index)"),
    Column("vwap_minus_market_eur_per_mwh", "DOUBLE", "Private VWAP - market VWAP"),
    Column("market_volume_mwh", "DOUBLE", "Public traded MWh"),
    Column("n_market_trades", "BIGINT", "Distinct public trade ids"),
    Column("private_trades_loaded", "BOOLEAN",
           "The day's private trades were loaded; false = no data (no export, or only rejected ones): the private "
           "figures are NULL, never 0"),
)

TRADING_QH = TableSpec(
    schema="marts",
    name="trading_qh",
    description="Private trading result per QH (hourly trades split into four QH slices of the same MW) and market VWAP.",
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        *_METRICS,
    ),
    key=("delivery_day", "delivery_start"),
)

TRADING_DAILY = TableSpec(
    schema="marts",
    name="trading_daily",
    description="Private trading result of the delivery day and the day's market VWAP.",
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        *_METRICS,
        Column("n_hourly_trades", "BIGINT", "Private hourly trades"),
        Column("n_quarter_hourly_trades", "BIGINT", "Private quarter-hourly trades"),
        Column("n_qhs_traded", "BIGINT", "QHs of the day with at least one private trade slice"),
    ),
    key=("delivery_day",),
)
