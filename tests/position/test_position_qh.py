"""marts.position_qh on a quarter-hour computed on paper (docs/marts.md, "Position").

Portfolio of two assets: SOL-1 (contract C-SOL, solar) and WND-1 (C-WND, wind). QH 10:00-10:15 of 2025-06-08:

  forecast (MW -> MWh = MW * 0.25)   latest            tradeable
    SOL-1                             8 MW = 2.00 MWh   3 MW = 0.75 MWh   (latest version 09:45)
    WND-1                             2 MW = 0.50 MWh   9 MW = 2.25 MWh   (latest version 10:00)
    portfolio                        10 MW = 2.50 MWh  12 MW = 3.00 MWh
  private trades (quarter-hourly, MW): SELL 8 MW @ 50 = 2.0 MWh, BUY 3.2 MW @ 40 = 0.8 MWh
    net sold = 2.0 - 0.8 = 1.2 MWh; revenue = 2.0*50 - 0.8*40 = 68.00 EUR; VWAP = (100 + 32) / 2.8 = 47.142857
  public trades: 4 MW @ 45 -> market VWAP 45.00; realised VWAP - market = +2.142857
  imbalance prices: final reBAP unterdeckt (short) 90, ueberdeckt (long) 30; an older estimate 55 (ignored)
  private trades exported 09:58 (file name)

  scope      share        net sold   open = latest - net sold   value = open * 45   imbalance if left open
  portfolio  1            1.2        2.50 - 1.2 = +1.30 long    +58.50              -1.30 * 30 = -39.00 (earns)
  solar      0.75/3=0.25  0.3        2.00 - 0.3 = +1.70 long    +76.50              -1.70 * 30 = -51.00
  wind       2.25/3=0.75  0.9        0.50 - 0.9 = -0.40 short   -18.00 (buy back)   +0.40 * 90 = +36.00 (pays)
  realised revenue: portfolio 68.00, solar 17.00, wind 51.00; as_of: portfolio and wind 10:00 (forecast),
  solar 09:58 (trade export)

QH 10:15: SOL-1 has no latest forecast, WND-1 4 MW; no trades (a true 0), no public trade, only the estimate 55.
"""

from datetime import date

import pandas as pd
import pytest

from flexpower_dagster.defs.forecast.sql import portfolio_forecast
from flexpower_dagster.defs.position.sql import position_qh
from flexpower_dagster.defs.trading.sql import trading_qh

DAY = date(2025, 6, 8)
T = pd.Timestamp
QHS = pd.date_range(T(DAY), periods=96, freq="15min")
CENT = 0.005
EXPORT = "exchange/Private_Trades-20250608-20250608T095800000Z.csv"


def asset_forecast() -> pd.DataFrame:
    rows = []
    for asset, contract in (("SOL-1", "C-SOL"), ("WND-1", "C-WND")):
        for qh in QHS:
            rows.append({"asset_id": asset, "contract_id": contract, "delivery_start": qh,
                         "delivery_end": qh + pd.Timedelta(minutes=15)})
    f = pd.DataFrame(rows)
    values = {
        ("SOL-1", "10:00"): (8.0, "09:45", 3.0, "09:30"),
        ("WND-1", "10:00"): (2.0, "10:00", 9.0, "09:40"),
        ("SOL-1", "10:15"): (None, None, 3.0, "09:55"),
        ("WND-1", "10:15"): (4.0, "10:10", 4.0, "10:00"),
    }
    for (asset, hhmm), (latest, lv, tradeable, tv) in values.items():
        i = (f.asset_id == asset) & (f.delivery_start == T(f"2025-06-08 {hhmm}"))
        f.loc[i, "latest_mw"] = latest
        f.loc[i, "latest_version"] = T(f"2025-06-08 {lv}") if lv else pd.NaT
        f.loc[i, "tradeable_mw"] = tradeable
        f.loc[i, "tradeable_version"] = T(f"2025-06-08 {tv}")
    f["latest_mwh"] = f["latest_mw"] * 0.25
    f["tradeable_mwh"] = f["tradeable_mw"] * 0.25
    return f


CONTRACTS = pd.DataFrame({
    "contract_id": ["C-SOL", "C-WND"], "asset_id": ["SOL-1", "WND-1"], "technology": ["solar", "wind"],
    "contract_begin": [T("2025-01-01")] * 2,
})


def trades(rows, source_file=None) -> pd.DataFrame:
    f = pd.DataFrame(rows, columns=["trade_id", "side", "product", "delivery_start", "delivery_end", "price_eur_per_mwh", "volume_mw"])
    return f.assign(source_file=source_file)


PRIVATE = trades([
    ("1", "SELL", "quarter_hourly", T("2025-06-08 10:00"), T("2025-06-08 10:15"), 50.0, 8.0),
    ("2", "BUY", "quarter_hourly", T("2025-06-08 10:00"), T("2025-06-08 10:15"), 40.0, 3.2),
], EXPORT)
PUBLIC = trades([("p1", "SELL", "quarter_hourly", T("2025-06-08 10:00"), T("2025-06-08 10:15"), 45.0, 4.0)])

PRICE_FINAL = pd.DataFrame({"delivery_start": [T("2025-06-08 10:00")], "price_short_eur_per_mwh": [90.0],
                            "price_long_eur_per_mwh": [30.0], "published_at": [T("2025-06-09 12:00")]})
PRICE_ESTIMATES = pd.DataFrame({"delivery_start": [T("2025-06-08 10:00"), T("2025-06-08 10:15")],
                                "price_eur_per_mwh": [55.0, 55.0], "published_at": [T("2025-06-07 04:18")] * 2})


def build(private=PRIVATE) -> pd.DataFrame:
    af = asset_forecast()
    return position_qh(
        asset_forecast=af, portfolio_forecast=portfolio_forecast(af, DAY), contracts=CONTRACTS,
        trading=trading_qh(private, PUBLIC, DAY), private_trades=private,
        price_final=PRICE_FINAL, price_estimates=PRICE_ESTIMATES, day=DAY,
    )


def row(out: pd.DataFrame, scope: str, hhmm: str) -> pd.Series:
    hit = out[(out.scope == scope) & (out.delivery_start == T(f"2025-06-08 {hhmm}"))]
    assert len(hit) == 1
    return hit.iloc[0]


EXPECTED_1000 = {
    #                         portfolio  solar   wind
    "n_assets":               (2, 1, 1),
    "n_assets_without_latest": (0, 0, 0),
    "latest_forecast_mwh":    (2.50, 2.00, 0.50),
    "tradeable_forecast_mwh": (3.00, 0.75, 2.25),
    "allocation_share":       (1.00, 0.25, 0.75),
    "net_sold_mwh":           (1.20, 0.30, 0.90),
    "open_position_mwh":      (1.30, 1.70, -0.40),
    "market_vwap_eur_per_mwh": (45.00, 45.00, 45.00),
    "open_position_value_eur": (58.50, 76.50, -18.00),
    "realised_revenue_eur":   (68.00, 17.00, 51.00),
    "realised_vwap_eur_per_mwh": (132 / 2.8,) * 3,
    "realised_vwap_minus_market_eur_per_mwh": (132 / 2.8 - 45,) * 3,
    "imbalance_price_eur_per_mwh": (30.00, 30.00, 90.00),
    "expected_imbalance_cost_eur": (-39.00, -51.00, 36.00),
}


def test_the_quarter_hour_on_paper_every_column_to_the_cent():
    out = build()
    for i, scope in enumerate(("portfolio", "solar", "wind")):
        r = row(out, scope, "10:00")
        for column, values in EXPECTED_1000.items():
            assert r[column] == pytest.approx(values[i], abs=CENT), (scope, column)
        assert r.delivery_end == T("2025-06-08 10:15")
        assert r.net_sold_basis == ("trades" if scope == "portfolio" else "allocated")
        assert r.expected_imbalance_direction == ("short" if scope == "wind" else "long")
        assert r.imbalance_price_source == "final"
        assert r.trades_exported_at == T("2025-06-08 09:58")
        assert r.forecast_version == T("2025-06-08 09:45" if scope == "solar" else "2025-06-08 10:00")
        assert r.as_of == T("2025-06-08 09:58" if scope == "solar" else "2025-06-08 10:00")
        assert pd.isna(r.reason), (scope, r.reason)
        assert r.delivery_day == T(DAY)
    # the technologies add up to the portfolio (allocation shares sum to 1)
    both = out[out.delivery_start == T("2025-06-08 10:00")].set_index("scope")
    for column in ("net_sold_mwh", "open_position_mwh", "open_position_value_eur", "realised_revenue_eur"):
        assert both.loc[["solar", "wind"], column].sum() == pytest.approx(both.loc["portfolio", column], abs=1e-9)


def test_every_scope_has_96_rows_and_missing_is_never_zero():
    out = build()
    assert len(out) == 3 * 96 and not out.duplicated(["scope", "delivery_start"]).any()
    # 10:15: SOL-1 has no latest forecast -> the solar position is unknown, the portfolio's too (partial sum)
    sol, wnd, pf = (row(out, s, "10:15") for s in ("solar", "wind", "portfolio"))
    assert pd.isna(sol.latest_forecast_mwh) and pd.isna(sol.open_position_mwh) and pd.isna(sol.expected_imbalance_cost_eur)
    assert sol.reason == "no_latest_forecast; no_market_vwap"
    assert pf.latest_forecast_mwh == pytest.approx(1.0) and pf.n_assets_without_latest == 1
    assert pd.isna(pf.open_position_mwh) and pf.reason == "1 of 2 assets have no latest forecast; no_market_vwap"
    # nothing traded is a true 0; no public trade -> no value; the estimate prices the wind position
    assert (wnd.net_sold_mwh, wnd.realised_revenue_eur, wnd.open_position_mwh) == (0.0, 0.0, 1.0)
    assert pd.isna(wnd.open_position_value_eur) and pd.isna(wnd.realised_vwap_eur_per_mwh)
    assert (wnd.imbalance_price_source, wnd.imbalance_price_eur_per_mwh) == ("estimate", 55.0)
    assert wnd.expected_imbalance_cost_eur == pytest.approx(-55.0)
    # a QH without any forecast: NULL forecast and NULL open position, never 0
    night = row(out, "portfolio", "03:00")
    assert pd.isna(night.latest_forecast_mwh) and pd.isna(night.open_position_mwh) and night.net_sold_mwh == 0.0


def test_a_day_without_private_trades_has_no_position():
    out = build(private=PRIVATE.iloc[0:0])
    r = row(out, "portfolio", "10:00")
    assert pd.isna(r.net_sold_mwh) and pd.isna(r.open_position_mwh) and pd.isna(r.realised_revenue_eur)
    assert pd.isna(r.trades_exported_at) and r.as_of == T("2025-06-08 10:00")
    assert r.reason == "no_private_trades"
    assert row(out, "solar", "10:00").reason == "no_private_trades"
    assert r.market_vwap_eur_per_mwh == 45.0 and r.latest_forecast_mwh == pytest.approx(2.5)


def test_trades_while_the_portfolio_forecast_is_zero_are_not_attributable():
    af = asset_forecast()
    af.loc[af.delivery_start == T("2025-06-08 10:00"), ["tradeable_mw", "tradeable_mwh"]] = 0.0
    out = position_qh(asset_forecast=af, portfolio_forecast=portfolio_forecast(af, DAY), contracts=CONTRACTS,
                      trading=trading_qh(PRIVATE, PUBLIC, DAY), private_trades=PRIVATE, day=DAY)
    sol, pf = row(out, "solar", "10:00"), row(out, "portfolio", "10:00")
    assert pd.isna(sol.allocation_share) and pd.isna(sol.net_sold_mwh) and pd.isna(sol.open_position_mwh)
    assert sol.reason == "not_attributable"
    assert pf.open_position_mwh == pytest.approx(1.3) and pf.imbalance_price_source == "none"
    assert pf.reason == "no_imbalance_price"


def test_metadata_totals_of_the_portfolio_and_unknown_is_none():
    from flexpower_dagster.defs.position.assets import summarize_position_qh

    md = summarize_position_qh(build())
    assert md["open_position_mwh"] == pytest.approx(1.3)  # 10:00 only: 10:15 is unknown (partial forecast)
    assert md["net_sold_mwh"] == pytest.approx(1.2) and md["realised_revenue_eur"] == pytest.approx(68.0)
    assert md["expected_imbalance_cost_eur"] == pytest.approx(-39.0) and md["open_position_value_eur"] == pytest.approx(58.5)
    assert md["qhs_open_position_unknown"] == 95 and md["as_of"] == "2025-06-08 10:10:00"
    empty = summarize_position_qh(build(private=PRIVATE.iloc[0:0]))
    assert empty["net_sold_mwh"] is None and empty["open_position_mwh"] is None
