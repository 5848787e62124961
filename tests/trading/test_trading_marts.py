"""Hand-computed cases for marts.trading_qh and marts.trading_daily.

Private: trade 1 = hourly BUY 2 MW @ 40 for 10:00-11:00 (four slices of 0.5 MWh),
trade 2 = quarter-hourly SELL 4 MW @ 60 for 10:15-10:30 (1 MWh). They overlap in QH 10:15:
  revenue = +1 * 1.0 * 60 - 1 * 0.5 * 40 = 40; net = 1.0 - 0.5 = 0.5 MWh; VWAP = (0.5*40 + 1*60) / 1.5 = 53.33.
Day: revenue = 60 - 4 * 20 = -20; net = 1 - 2 = -1 MWh; VWAP = (2*40 + 1*60) / 3 = 46.67; 2 trades.
Public: quarter-hourly 1 MW @ 50 at 10:15 and hourly 3 MW @ 30 10:00-11:00:
  market VWAP at 10:15 = (0.25*50 + 0.75*30) / 1.0 = 35; day = (0.25*50 + 3*30) / 3.25 = 31.54.
"""

from datetime import date

import pandas as pd
import pytest

from flexpower_dagster.defs.trading.assets import summarize_trading_daily, summarize_trading_qh
from flexpower_dagster.defs.trading.sql import trading_daily, trading_qh

DAY = date(2025, 6, 8)
T = pd.Timestamp


def trades(rows) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["trade_id", "side", "product", "delivery_start", "delivery_end", "price_eur_per_mwh", "volume_mw"]
    )


PRIVATE = trades(
    [
        ("1", "BUY", "hourly", T("2025-06-08 10:00"), T("2025-06-08 11:00"), 40.0, 2.0),
        ("2", "SELL", "quarter_hourly", T("2025-06-08 10:15"), T("2025-06-08 10:30"), 60.0, 4.0),
    ]
)
PUBLIC = trades(
    [
        ("p1", "SELL", "quarter_hourly", T("2025-06-08 10:15"), T("2025-06-08 10:30"), 50.0, 1.0),
        ("p2", "BUY", "hourly", T("2025-06-08 10:00"), T("2025-06-08 11:00"), 30.0, 3.0),
    ]
)


def qh(df, start):
    hit = df[df.delivery_start == T(start)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_overlapping_qh_by_hand():
    q = trading_qh(PRIVATE, PUBLIC, DAY)
    r = qh(q, "2025-06-08 10:15")
    assert r.revenue_eur == pytest.approx(40.0)
    assert r.n_trades == 2
    assert r.net_volume_mwh == pytest.approx(0.5)
    assert (r.bought_mwh, r.sold_mwh) == (pytest.approx(0.5), pytest.approx(1.0))
    assert r.vwap_eur_per_mwh == pytest.approx(80.0 / 1.5)
    assert (r.buy_vwap_eur_per_mwh, r.sell_vwap_eur_per_mwh) == (40.0, 60.0)
    assert r.market_vwap_eur_per_mwh == pytest.approx(35.0)
    assert r.vwap_minus_market_eur_per_mwh == pytest.approx(80.0 / 1.5 - 35.0)
    assert r.n_market_trades == 2


def test_hourly_slice_alone():
    r = qh(trading_qh(PRIVATE, PUBLIC, DAY), "2025-06-08 10:45")
    assert (r.revenue_eur, r.n_trades, r.net_volume_mwh, r.bought_mwh, r.vwap_eur_per_mwh) == (-20.0, 1, -0.5, 0.5, 40.0)
    assert r.market_vwap_eur_per_mwh == 30.0


def test_every_qh_present_without_trades():
    q = trading_qh(PRIVATE, PUBLIC, DAY)
    assert len(q) == 96 and q.delivery_start.is_unique
    r = qh(q, "2025-06-08 09:45")
    assert (r.revenue_eur, r.n_trades, r.net_volume_mwh, r.bought_mwh, r.sold_mwh) == (0.0, 0, 0.0, 0.0, 0.0)
    assert pd.isna(r.vwap_eur_per_mwh) and pd.isna(r.market_vwap_eur_per_mwh)
    assert q.revenue_eur.sum() == pytest.approx(-20.0)


def test_daily_by_hand():
    d = trading_daily(PRIVATE, PUBLIC, DAY)
    assert len(d) == 1
    r = d.iloc[0]
    assert r.revenue_eur == pytest.approx(-20.0)
    assert r.n_trades == 2  # the hourly trade counts once, not four times
    assert r.net_volume_mwh == pytest.approx(-1.0)
    assert (r.bought_mwh, r.sold_mwh) == (pytest.approx(2.0), pytest.approx(1.0))
    assert r.vwap_eur_per_mwh == pytest.approx(140.0 / 3.0)
    assert r.market_vwap_eur_per_mwh == pytest.approx((0.25 * 50 + 3 * 30) / 3.25)
    assert (r.n_hourly_trades, r.n_quarter_hourly_trades, r.n_qhs_traded) == (1, 1, 4)


def test_a_day_without_private_trade_data_is_null_not_zero():
    """No export (or only rejected ones) is *no data*: NULL revenue, never 0 EUR (hardening issue, case 10)."""
    d = trading_daily(pd.DataFrame(), pd.DataFrame(), DAY).iloc[0]
    assert all(pd.isna(v) for v in (d.revenue_eur, d.n_trades, d.net_volume_mwh, d.vwap_eur_per_mwh))
    assert not d.private_trades_loaded
    qh = trading_qh(pd.DataFrame(), pd.DataFrame(), DAY)
    assert len(qh) == 96 and qh["revenue_eur"].isna().all() and not qh["private_trades_loaded"].any()


def test_the_metadata_of_a_day_without_private_trade_data_says_no_data():
    """The assets' metadata of such a day is None ("no data"), never 0 EUR, and never a crash (an automated run
    of a day that has public but no private trades materialises it)."""
    daily = summarize_trading_daily(trading_daily(pd.DataFrame(), pd.DataFrame(), DAY))
    assert daily["revenue_eur"] is None and daily["n_trades"] is None and daily["n_market_trades"] == 0
    per_qh = summarize_trading_qh(trading_qh(pd.DataFrame(), pd.DataFrame(), DAY))
    assert per_qh["revenue_eur"] is None and per_qh["best_qh"] is None
