"""Tables of the performance marts (definitions, formulas and sign conventions: docs/performance.md)."""

from flexpower_dagster.lib.tables import Column, TableSpec

ASSET_PERFORMANCE = TableSpec(
    schema="marts",
    name="asset_performance",
    description=(
        "Per portfolio asset and delivery day: forecast accuracy (MAE and bias of the latest and tradeable forecast "
        "against measured best-of-infeed, MWh per QH and % of capacity), market value of the production "
        "(sum of best-of-infeed MWh x market VWAP per QH) and capture rate, imbalance volume split long/short with "
        "its cost and cost per produced MWh, allocated trading revenue, payout and fee estimates and the margin, "
        "with a caveat whenever a part of the margin is unknown (e.g. invalid contract terms: invoice blocked)."
    ),
    columns=(
        Column("delivery_day", "DATE", "UTC delivery day", nullable=False),
        Column("asset_id", "VARCHAR", "Portfolio asset", nullable=False),
        Column("contract_id", "VARCHAR", "Contract in force (smallest contract id when the CRM lists two)"),
        Column("technology", "VARCHAR", "solar or wind"),
        Column("capacity_mw", "DOUBLE", "Installed capacity (MW) of the contract in force"),
        Column("contract_valid", "BOOLEAN", "False when the contract's terms are inconsistent (invoice blocked)"),
        Column("contract_problems", "VARCHAR", "Why the terms are inconsistent (marts.contracts_in_force.problems)"),
        # energy
        Column("n_qh", "BIGINT", "Quarter-hours of the asset in marts.best_of_infeed (96 for a full day)"),
        Column("n_qh_measured", "BIGINT", "QHs whose best-of-infeed is measured (source final or live)"),
        Column("n_qh_missing", "BIGINT", "QHs without any best-of-infeed value (source missing)"),
        Column("bestof_mwh", "DOUBLE", "Sum of best-of-infeed MWh (NULL when no QH has a value)"),
        Column("latest_forecast_mwh", "DOUBLE", "Sum of the latest forecast MWh over all QHs"),
        Column("tradeable_forecast_mwh", "DOUBLE", "Sum of the tradeable forecast MWh over all QHs"),
        # forecast accuracy (measured QHs only)
        Column("latest_n_qh", "BIGINT", "Measured QHs with a latest forecast (the accuracy sample)"),
        Column("latest_abs_error_mwh", "DOUBLE", "Sum over the sample of |latest forecast MWh - best-of-infeed MWh|"),
        Column("latest_error_mwh", "DOUBLE", "Sum over the sample of (latest forecast MWh - best-of-infeed MWh)"),
        Column("latest_mae_mwh", "DOUBLE", "Mean absolute error per QH (MWh) of the latest forecast"),
        Column("latest_bias_mwh", "DOUBLE", "Mean error per QH (MWh): > 0 forecast too high, < 0 too low"),
        Column("latest_mae_pct_capacity", "DOUBLE", "latest_mae_mwh / (capacity_mw x 0.25 h) x 100"),
        Column("latest_bias_pct_capacity", "DOUBLE", "latest_bias_mwh / (capacity_mw x 0.25 h) x 100"),
        Column("tradeable_n_qh", "BIGINT", "Measured QHs with a tradeable forecast"),
        Column("tradeable_abs_error_mwh", "DOUBLE", "Sum of |tradeable forecast MWh - best-of-infeed MWh|"),
        Column("tradeable_error_mwh", "DOUBLE", "Sum of (tradeable forecast MWh - best-of-infeed MWh)"),
        Column("tradeable_mae_mwh", "DOUBLE", "Mean absolute error per QH (MWh) of the tradeable forecast"),
        Column("tradeable_bias_mwh", "DOUBLE", "Mean error per QH (MWh) of the tradeable forecast (> 0 too high)"),
        Column("tradeable_mae_pct_capacity", "DOUBLE", "tradeable_mae_mwh / (capacity_mw x 0.25 h) x 100"),
        Column("tradeable_bias_pct_capacity", "DOUBLE", "tradeable_bias_mwh / (capacity_mw x 0.25 h) x 100"),
        # market value
        Column("market_value_eur", "DOUBLE", "Sum over QHs of best-of-infeed MWh x market VWAP of the QH"),
        Column("market_priced_mwh", "DOUBLE", "Best-of-infeed MWh of the QHs that have a market VWAP"),
        Column("n_qh_without_market_price", "BIGINT", "QHs with energy but no market VWAP (not in the market value)"),
        Column("capture_price_eur_per_mwh", "DOUBLE", "market_value_eur / market_priced_mwh"),
        Column("baseload_price_eur_per_mwh", "DOUBLE", "Mean market VWAP over the day's QHs that have one"),
        Column("capture_rate", "DOUBLE", "capture_price / baseload_price (1 = the asset earns the day's average)"),
        # imbalance
        Column("imbalance_mwh", "DOUBLE", "Net imbalance: sum of best-of-infeed - tradeable forecast (> 0 long)"),
        Column("long_mwh", "DOUBLE", "Sum of the long QHs' imbalance (produced more than sold), >= 0"),
        Column("short_mwh", "DOUBLE", "Sum of the short QHs' imbalance as a positive volume, >= 0"),
        Column("imbalance_cost_eur", "DOUBLE", "Sum of marts.imbalance.cost_eur (positive = FlexPower pays)"),
        Column("long_cost_eur", "DOUBLE", "Cost of the long QHs (negative = FlexPower was paid for its surplus)"),
        Column("short_cost_eur", "DOUBLE", "Cost of the short QHs (positive = FlexPower paid for its shortfall)"),
        Column("n_qh_imbalance_unknown", "BIGINT", "QHs whose imbalance cost is NULL (no volume or no price)"),
        Column("imbalance_cost_eur_per_mwh", "DOUBLE", "imbalance_cost_eur / bestof_mwh (EUR per produced MWh)"),
        # money
        Column(
            "trading_revenue_eur",
            "DOUBLE",
            "Portfolio trading revenue of each QH allocated by the asset's share of the portfolio tradeable forecast",
        ),
        Column("payout_eur_est", "DOUBLE", "Infeed payout estimate (fixed: MWh x price; market: MWh x market VWAP)"),
        Column("fee_eur_est", "DOUBLE", "Service fee estimate (the fee model of the contract, see docs/performance.md)"),
        Column("n_qh_payout_unknown", "BIGINT", "QHs with energy whose payout cannot be estimated"),
        Column("n_qh_fee_unknown", "BIGINT", "QHs whose fee cannot be estimated"),
        Column(
            "margin_known_eur",
            "DOUBLE",
            "trading revenue - payout + fee - imbalance cost over the parts that are known (see margin_complete)",
        ),
        Column("margin_complete", "BOOLEAN", "True when every part of the margin is known for every QH"),
        Column("margin_eur", "DOUBLE", "margin_known_eur when margin_complete, else NULL (never a silent 0)"),
        Column("margin_caveat", "VARCHAR", "What the margin leaves out and why (NULL when complete)"),
    ),
    key=("delivery_day", "asset_id"),
)
