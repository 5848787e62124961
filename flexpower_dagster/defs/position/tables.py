"""Table of the position mart: the trading desk's open position per scope (portfolio, technology) and QH."""

from flexpower_dagster.lib.tables import Column, TableSpec

#: The scope of the whole portfolio; the other scopes are the contracts' technologies (``solar``, ``wind``).
PORTFOLIO_SCOPE = "portfolio"
#: The scope of portfolio assets whose contract names no technology.
UNKNOWN_TECHNOLOGY = "unknown"

POSITION_QH = TableSpec(
    schema="marts",
    name="position_qh",
    description=(
        "The trading desk's open position per scope (portfolio, and per technology) and QH: latest and tradeable "
        "forecast, net sold so far, open position = latest forecast - net sold (MWh still to sell; negative = to buy "
        "back), valued at the market VWAP, realised revenue and VWAP vs market, and the expected imbalance cost if the "
        "open position stays open (positive = FlexPower pays)."
    ),
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("scope", "VARCHAR", "'portfolio', or a technology of the portfolio's contracts ('solar', 'wind'; "
               "'unknown' when a contract names none)", nullable=False),
        Column("delivery_start", "TIMESTAMP", "QH start (UTC)", nullable=False),
        Column("delivery_end", "TIMESTAMP", "QH end (UTC)"),
        Column("n_assets", "BIGINT", "Portfolio assets in the scope"),
        Column("n_assets_without_latest", "BIGINT", "Assets of the scope without a latest forecast for the QH"),
        Column("latest_forecast_mwh", "DOUBLE", "Latest forecast MWh (marts.portfolio_forecast / sum of "
               "marts.asset_forecast over the scope's assets that have one; NULL: none has)"),
        Column("tradeable_forecast_mwh", "DOUBLE", "Tradeable forecast MWh (gate closure), same sources"),
        Column("forecast_version", "TIMESTAMP", "Newest forecast version behind latest_forecast_mwh (UTC)"),
        Column("net_sold_mwh", "DOUBLE", "Private sold - bought MWh so far (marts.trading_qh.net_volume_mwh; a technology's "
               "share of it by tradeable forecast). NULL: no private trades loaded for the day, or not attributable"),
        Column("net_sold_basis", "VARCHAR", "'trades' (portfolio: the trades themselves) or 'allocated' (technology: "
               "portfolio figure x allocation_share; trades carry no asset)"),
        Column("allocation_share", "DOUBLE", "Scope tradeable forecast / portfolio tradeable forecast (1 for the "
               "portfolio; NULL when the portfolio's tradeable forecast is not positive)"),
        Column("open_position_mwh", "DOUBLE", "latest_forecast_mwh - net_sold_mwh: > 0 still to sell, < 0 to buy back. "
               "NULL when either is NULL or an asset of the scope has no latest forecast (never a partial sum)"),
        Column("market_vwap_eur_per_mwh", "DOUBLE", "Market VWAP of the QH over the public trades (marts.trading_qh)"),
        Column("open_position_value_eur", "DOUBLE", "open_position_mwh x market VWAP: > 0 what selling the rest at market "
               "would earn, < 0 what buying back would cost"),
        Column("realised_revenue_eur", "DOUBLE", "Revenue of the private trades so far, sum(sign * mwh * price), SELL +1 / "
               "BUY -1 (a technology: its allocated share)"),
        Column("realised_vwap_eur_per_mwh", "DOUBLE", "Private VWAP sum(mwh*price)/sum(mwh) over buys and sells "
               "(marts.trading_qh; the same for every scope)"),
        Column("realised_vwap_minus_market_eur_per_mwh", "DOUBLE", "Realised VWAP - market VWAP (trading performance)"),
        Column("expected_imbalance_direction", "VARCHAR", "If the open position stays open: long (> 0, produced more "
               "than sold), short (< 0), balanced (= 0); NULL when the open position is unknown"),
        Column("imbalance_price_eur_per_mwh", "DOUBLE", "Imbalance price for that direction: final reBAP if published, "
               "else the newest estimate (the marts.imbalance rule)"),
        Column("imbalance_price_source", "VARCHAR", "final, estimate or none"),
        Column("expected_imbalance_cost_eur", "DOUBLE", "-open_position_mwh x imbalance price: positive = FlexPower pays "
               "(marts.imbalance sign convention)"),
        Column("trades_exported_at", "TIMESTAMP", "Export time of the private trades file the figures come from (UTC)"),
        Column("as_of", "TIMESTAMP", "Newest input behind the row: greatest(forecast_version, trades_exported_at) (UTC)"),
        Column("reason", "VARCHAR", "Why a figure is NULL ('; '-joined): no_latest_forecast, 'k of n assets have no "
               "latest forecast', no_private_trades, not_attributable, no_market_vwap, no_imbalance_price"),
    ),
    key=("delivery_day", "scope", "delivery_start"),
)
