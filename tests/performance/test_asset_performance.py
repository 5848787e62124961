"""Hand-computed cases for marts.asset_performance (definitions: docs/performance.md).

Two assets, two quarter-hours (10:00 and 10:15 UTC):

    asset A: solar, 2 MW, fixed price 80 EUR/MWh, fee fixed_as_produced 2 EUR/MWh
    asset B: wind, 4 MW, market price model, fee percent_of_market 5 %

    QH      asset  best-of-infeed (source)  latest  tradeable  imbalance  price  cost   market VWAP  revenue
    10:00   A      0.4 MWh (final)          0.5     0.3        +0.1 long  100    -10    60           150
    10:00   B      1.0 MWh (live)           0.8     1.2        -0.2 short 100    +20
    10:15   A      0.2 MWh (forecast)       0.2     0.25       -0.05      50     +2.5   40           45
    10:15   B      0.6 MWh (final)          0.7     0.5        +0.1       50     -5

Accuracy uses measured QHs only (A's 10:15 is a forecast: left out).
  A latest: error 0.5-0.4 = +0.1 -> MAE 0.1, bias +0.1 MWh; one QH of 2 MW = 0.5 MWh -> 20 %, +20 %
  A tradeable: 0.3-0.4 = -0.1 -> MAE 0.1, bias -0.1 -> 20 %, -20 %
  B latest: -0.2, +0.1 -> MAE 0.15, bias -0.05; 4 MW x 0.25 h = 1 MWh -> 15 %, -5 %
  B tradeable: +0.2, -0.1 -> MAE 0.15, bias +0.05 -> 15 %, +5 %
Market value: A 0.4*60 + 0.2*40 = 32 over 0.6 MWh -> 53.33 EUR/MWh; baseload (60+40)/2 = 50 -> rate 1.0667.
              B 1.0*60 + 0.6*40 = 84 over 1.6 MWh -> 52.5 -> rate 1.05.
Revenue allocated by tradeable share: portfolio tradeable 1.5 (10:00) and 0.75 (10:15)
  A: 150*0.3/1.5 + 45*0.25/0.75 = 30 + 15 = 45;  B: 150*1.2/1.5 + 45*0.5/0.75 = 120 + 30 = 150 (sum 195).
Payout/fee: A 0.6*80 = 48, fee 0.6*2 = 1.2; B payout = market value 84, fee 84*5 % = 4.2.
Margin: A 45 - 48 + 1.2 - (-7.5) = 5.7;  B 150 - 84 + 4.2 - 15 = 55.2.
"""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from flexpower_dagster.defs.performance.sql import asset_performance

DAY = date(2025, 6, 8)
T = pd.Timestamp
Q1, Q2 = T("2025-06-08 10:00"), T("2025-06-08 10:15")


def contracts(**override) -> pd.DataFrame:
    cols = ("contract_id", "asset_id", "technology", "capacity_mw", "price_model", "price_eur_per_mwh", "fee_model",
            "fee_eur", "fee_percent", "valid", "problems")
    rows = [
        dict(zip(cols, ("C-A", "A", "solar", 2.0, "fixed", 80.0, "fixed_as_produced", 2.0, None, True, None))),
        dict(zip(cols, ("C-B", "B", "wind", 4.0, "market", None, "percent_of_market", None, 5.0, True, None))),
    ]
    for asset, changes in override.items():
        for r in rows:
            if r["asset_id"] == asset:
                r.update(changes)
    df = pd.DataFrame(rows)
    df["delivery_day"] = T(DAY)
    return df


def best(**override) -> pd.DataFrame:
    rows = {("A", Q1): (0.4, "final"), ("B", Q1): (1.0, "live"), ("A", Q2): (0.2, "forecast"), ("B", Q2): (0.6, "final")}
    rows.update(override.get("rows", {}))
    df = pd.DataFrame(
        [(a, s, mwh, src, f"C-{a}") for (a, s), (mwh, src) in rows.items()],
        columns=["asset_id", "delivery_start", "mwh", "source", "contract_id"],
    )
    df["mw"] = df["mwh"] * 4
    df["delivery_day"] = T(DAY)
    return df


def forecast() -> pd.DataFrame:
    rows = [("A", Q1, 0.5, 0.3), ("B", Q1, 0.8, 1.2), ("A", Q2, 0.2, 0.25), ("B", Q2, 0.7, 0.5)]
    df = pd.DataFrame(rows, columns=["asset_id", "delivery_start", "latest_mwh", "tradeable_mwh"])
    df["delivery_day"] = T(DAY)
    return df


def imbalance(**override) -> pd.DataFrame:
    rows = {("A", Q1): (0.1, 100.0), ("B", Q1): (-0.2, 100.0), ("A", Q2): (-0.05, 50.0), ("B", Q2): (0.1, 50.0)}
    rows.update(override.get("rows", {}))
    df = pd.DataFrame(
        [(a, s, imb, p) for (a, s), (imb, p) in rows.items()],
        columns=["asset_id", "delivery_start", "imbalance_mwh", "price_eur_per_mwh"],
    )
    df["cost_eur"] = -df["imbalance_mwh"] * df["price_eur_per_mwh"]
    df["delivery_day"] = T(DAY)
    return df


def trading(vwap2: float | None = 40.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"delivery_day": [T(DAY)] * 2, "delivery_start": [Q1, Q2], "revenue_eur": [150.0, 45.0],
         "market_vwap_eur_per_mwh": [60.0, vwap2]}
    )


def run(c=None, b=None, f=None, i=None, t=None) -> pd.DataFrame:
    out = asset_performance(
        contracts() if c is None else c, best() if b is None else b, forecast() if f is None else f,
        imbalance() if i is None else i, trading() if t is None else t, DAY,
    )
    return out.set_index("asset_id")


def test_forecast_accuracy_by_hand():
    out = run()
    a, b = out.loc["A"], out.loc["B"]
    assert (a.n_qh, a.n_qh_measured, a.latest_n_qh) == (2, 1, 1)  # A's 10:15 came from a forecast
    assert a.latest_mae_mwh == pytest.approx(0.1) and a.latest_bias_mwh == pytest.approx(0.1)
    assert a.latest_mae_pct_capacity == pytest.approx(20.0) and a.latest_bias_pct_capacity == pytest.approx(20.0)
    assert a.tradeable_mae_mwh == pytest.approx(0.1) and a.tradeable_bias_mwh == pytest.approx(-0.1)
    assert a.tradeable_bias_pct_capacity == pytest.approx(-20.0)
    assert b.latest_n_qh == 2
    assert b.latest_mae_mwh == pytest.approx(0.15) and b.latest_bias_mwh == pytest.approx(-0.05)
    assert b.latest_mae_pct_capacity == pytest.approx(15.0) and b.latest_bias_pct_capacity == pytest.approx(-5.0)
    assert b.tradeable_mae_mwh == pytest.approx(0.15) and b.tradeable_bias_mwh == pytest.approx(0.05)
    assert b.tradeable_mae_pct_capacity == pytest.approx(15.0) and b.tradeable_bias_pct_capacity == pytest.approx(5.0)
    # energy totals over all QHs (not only the measured ones)
    assert a.bestof_mwh == pytest.approx(0.6) and a.latest_forecast_mwh == pytest.approx(0.7)
    assert a.tradeable_forecast_mwh == pytest.approx(0.55)


def test_market_value_and_capture_rate_by_hand():
    out = run()
    a, b = out.loc["A"], out.loc["B"]
    assert a.market_value_eur == pytest.approx(32.0) and a.market_priced_mwh == pytest.approx(0.6)
    assert a.capture_price_eur_per_mwh == pytest.approx(32.0 / 0.6)
    assert a.baseload_price_eur_per_mwh == pytest.approx(50.0)
    assert a.capture_rate == pytest.approx(32.0 / 0.6 / 50.0)
    assert b.market_value_eur == pytest.approx(84.0) and b.capture_price_eur_per_mwh == pytest.approx(52.5)
    assert b.capture_rate == pytest.approx(1.05)


def test_imbalance_split_long_short_by_hand():
    out = run()
    a, b = out.loc["A"], out.loc["B"]
    assert a.imbalance_mwh == pytest.approx(0.05)
    assert (a.long_mwh, a.short_mwh) == (pytest.approx(0.1), pytest.approx(0.05))
    assert a.imbalance_cost_eur == pytest.approx(-7.5)
    assert (a.long_cost_eur, a.short_cost_eur) == (pytest.approx(-10.0), pytest.approx(2.5))
    assert a.imbalance_cost_eur_per_mwh == pytest.approx(-7.5 / 0.6)
    # B: a small net (-0.1 MWh) but a cost of 15 EUR: short at 100, long at 50
    assert b.imbalance_mwh == pytest.approx(-0.1)
    assert (b.long_mwh, b.short_mwh) == (pytest.approx(0.1), pytest.approx(0.2))
    assert (b.long_cost_eur, b.short_cost_eur, b.imbalance_cost_eur) == (
        pytest.approx(-5.0), pytest.approx(20.0), pytest.approx(15.0))
    assert b.imbalance_cost_eur_per_mwh == pytest.approx(15.0 / 1.6)


def test_revenue_allocation_payout_fee_and_margin_by_hand():
    out = run()
    a, b = out.loc["A"], out.loc["B"]
    assert a.trading_revenue_eur == pytest.approx(45.0) and b.trading_revenue_eur == pytest.approx(150.0)
    assert out.trading_revenue_eur.sum() == pytest.approx(195.0)  # the portfolio's revenue, fully allocated
    assert (a.payout_eur_est, a.fee_eur_est) == (pytest.approx(48.0), pytest.approx(1.2))
    assert (b.payout_eur_est, b.fee_eur_est) == (pytest.approx(84.0), pytest.approx(4.2))
    assert a.margin_eur == pytest.approx(5.7) and b.margin_eur == pytest.approx(55.2)
    assert bool(a.margin_complete) and bool(b.margin_complete)
    assert a.margin_caveat is None and b.margin_caveat is None


def test_blocked_contract_margin_is_not_silently_complete():
    """A fixed price model without a price (the sample's WND-DE-003): payout unknown, so the margin is NULL and
    the caveat says why; the known parts stay visible."""
    c = contracts(A={"price_eur_per_mwh": None, "valid": False, "problems": "price_model 'fixed' without price"})
    a = run(c=c).loc["A"]
    assert pd.isna(a.payout_eur_est) and a.n_qh_payout_unknown == 2
    assert pd.isna(a.margin_eur) and not bool(a.margin_complete)
    assert a.margin_known_eur == pytest.approx(45.0 + 1.2 + 7.5)  # revenue + fee - imbalance cost, no payout
    assert "invoice blocked" in a.margin_caveat and "without price" in a.margin_caveat
    assert "payout not estimable" in a.margin_caveat


def test_capacity_fee_is_spread_over_the_qhs_of_the_month():
    # 4 MW x 300 EUR/MW per month, June = 30 days: 1,200 EUR / (96 x 30) QHs per QH, two QHs here
    c = contracts(B={"fee_model": "fixed_for_capacity", "fee_eur": 300.0, "fee_percent": None})
    b = run(c=c).loc["B"]
    assert b.fee_eur_est == pytest.approx(2 * 4 * 300.0 / (96 * 30))


def test_missing_infeed_and_missing_market_price_are_never_zero():
    b_rows = {("B", Q2): (None, "missing")}
    i_rows = {("B", Q2): (None, 50.0)}
    out = run(b=best(rows=b_rows), i=imbalance(rows=i_rows), t=trading(vwap2=None))
    a, b = out.loc["A"], out.loc["B"]
    # B's 10:15 has no energy: not in the accuracy sample, not valued, margin incomplete
    assert b.n_qh_missing == 1 and b.latest_n_qh == 1 and b.bestof_mwh == pytest.approx(1.0)
    assert b.n_qh_imbalance_unknown == 1 and pd.isna(b.margin_eur)
    assert "1 QH(s) without best-of-infeed" in b.margin_caveat
    # 10:15 has no market VWAP: A's 0.2 MWh are left out of its market value (and counted), baseload = 60
    assert a.market_value_eur == pytest.approx(24.0) and a.market_priced_mwh == pytest.approx(0.4)
    assert a.n_qh_without_market_price == 1
    assert a.baseload_price_eur_per_mwh == pytest.approx(60.0) and a.capture_rate == pytest.approx(1.0)


def test_an_asset_without_measured_qhs_has_no_accuracy():
    b = best(rows={("A", Q1): (0.4, "forecast"), ("A", Q2): (0.0, "forecast_redispatched")})
    a = run(b=b).loc["A"]
    assert a.latest_n_qh == 0 and pd.isna(a.latest_mae_mwh) and pd.isna(a.tradeable_bias_pct_capacity)


def test_one_row_per_asset_with_the_partition_day():
    out = run().reset_index()
    assert list(out.asset_id) == ["A", "B"]
    assert (out.delivery_day == T(DAY)).all()
    assert not np.isinf(out.select_dtypes("number").to_numpy(dtype=float)).any()
