"""Hand-computed cases for marts.imbalance and marts.portfolio_imbalance.

QH 10:00 (final reBAP: unterdeckt 100, ueberdeckt 50):
  A: 1.0 - 0.6 = +0.4 MWh long  -> price 50  -> cost -0.4 * 50 = -20 (FlexPower receives)
  B: 0.2 - 0.5 = -0.3 MWh short -> price 100 -> cost +0.3 * 100 = +30 (FlexPower pays)
  portfolio: net +0.1 long -> 50 -> cost -5; sum of asset costs +10; netting benefit 15.
QH 10:15 (final reBAP: unterdeckt 90, ueberdeckt 20): A -0.2 short -> 90 -> +18; B +0.3 long -> 20 -> -6;
  net +0.1 long -> 20 -> -2.
QH 10:30 (no final, estimate 80): A 0.5 - 0.5 = 0 balanced -> 80 (estimate), cost 0; B best-of-infeed missing.
QH 10:45 (no final, estimate 70): A 0.3 - 0.5 = -0.2 -> 70 estimate -> +14; B no tradeable forecast.
QH 11:00 (no price): A +0.1 -> no_price.
"""

from datetime import date

import pandas as pd
import pytest

from flexpower_dagster.defs.imbalance.sql import imbalance, portfolio_imbalance

DAY = date(2025, 6, 8)
T = pd.Timestamp
QHS = pd.date_range("2025-06-08", periods=96, freq="15min")


def frame(rows, columns):
    return pd.DataFrame(rows, columns=columns)


def inputs():
    boi_rows = [
        ("A", "10:00", 1.0, "final"), ("B", "10:00", 0.2, "live"),
        ("A", "10:15", 0.3, "final"), ("B", "10:15", 0.8, "final"),
        ("A", "10:30", 0.5, "final"), ("B", "10:30", None, "missing"),
        ("A", "10:45", 0.3, "final"), ("B", "10:45", 0.1, "forecast"),
        ("A", "11:00", 0.6, "final"), ("B", "11:00", 0.5, "final"),
    ]  # fmt: skip
    fc_rows = [
        ("A", "10:00", 0.6), ("B", "10:00", 0.5),
        ("A", "10:15", 0.5), ("B", "10:15", 0.5),
        ("A", "10:30", 0.5), ("B", "10:30", 0.5),
        ("A", "10:45", 0.5), ("B", "10:45", None),
        ("A", "11:00", 0.5), ("B", "11:00", 0.5),
    ]  # fmt: skip
    boi = frame([(a, T(f"2025-06-08 {t}"), m, s) for a, t, m, s in boi_rows], ["asset_id", "delivery_start", "mwh", "source"])
    boi["delivery_day"] = T("2025-06-08")
    fc = frame([(a, T(f"2025-06-08 {t}"), m) for a, t, m in fc_rows], ["asset_id", "delivery_start", "tradeable_mwh"])
    fc["delivery_day"] = T("2025-06-08")
    final = frame(
        [(T("2025-06-08 10:00"), 100.0, 50.0), (T("2025-06-08 10:15"), 90.0, 20.0)],
        ["delivery_start", "price_short_eur_per_mwh", "price_long_eur_per_mwh"],
    )
    est = frame(
        [
            (T("2025-06-08 10:00"), 999.0, T("2025-06-07 04:00")),  # final wins
            (T("2025-06-08 10:30"), 80.0, T("2025-06-07 04:00")),
            (T("2025-06-08 10:45"), 70.0, T("2025-06-07 04:00")),
        ],
        ["delivery_start", "price_eur_per_mwh", "published_at"],
    )
    return boi, fc, final, est


@pytest.fixture
def imb():
    boi, fc, final, est = inputs()
    return imbalance(boi, fc, final, est, DAY)


def row(df, t, asset=None):
    hit = df[df.delivery_start == T(f"2025-06-08 {t}")]
    if asset:
        hit = hit[hit.asset_id == asset]
    assert len(hit) == 1
    return hit.iloc[0]


def test_long_and_short_use_their_final_price(imb):
    a, b = row(imb, "10:00", "A"), row(imb, "10:00", "B")
    assert (a.imbalance_mwh, a.direction, a.price_eur_per_mwh, a.price_source) == (pytest.approx(0.4), "long", 50.0, "final")
    assert a.cost_eur == pytest.approx(-20.0)
    assert (b.imbalance_mwh, b.direction, b.price_eur_per_mwh) == (pytest.approx(-0.3), "short", 100.0)
    assert b.cost_eur == pytest.approx(30.0)
    a, b = row(imb, "10:15", "A"), row(imb, "10:15", "B")
    assert (a.direction, a.price_eur_per_mwh, b.direction, b.price_eur_per_mwh) == ("short", 90.0, "long", 20.0)
    assert (a.cost_eur, b.cost_eur) == (pytest.approx(18.0), pytest.approx(-6.0))


def test_estimate_only_and_balanced(imb):
    a = row(imb, "10:30", "A")
    assert (a.imbalance_mwh, a.direction, a.price_eur_per_mwh, a.price_source, a.cost_eur) == (0.0, "balanced", 80.0, "estimate", 0.0)
    a = row(imb, "10:45", "A")
    assert (a.price_eur_per_mwh, a.price_source) == (70.0, "estimate") and a.cost_eur == pytest.approx(14.0)


def test_unknown_imbalance_is_null_with_reason(imb):
    b = row(imb, "10:30", "B")
    assert pd.isna(b.imbalance_mwh) and pd.isna(b.cost_eur) and b.reason == "missing_best_of_infeed"
    b = row(imb, "10:45", "B")
    assert pd.isna(b.imbalance_mwh) and b.reason == "no_tradeable_forecast"
    a = row(imb, "11:00", "A")
    assert a.imbalance_mwh == pytest.approx(0.1) and a.price_source == "none" and pd.isna(a.cost_eur)
    assert a.reason == "no_price"
    assert pd.isna(row(imb, "10:00", "A").reason)


def test_portfolio_nets_before_pricing(imb):
    _, _, final, est = inputs()
    p = portfolio_imbalance(imb, final, est, DAY)
    assert len(p) == 96
    r = row(p, "10:00")
    assert (r.imbalance_mwh, r.direction, r.price_eur_per_mwh) == (pytest.approx(0.1), "long", 50.0)
    assert r.cost_eur == pytest.approx(-5.0)
    assert r.sum_of_asset_costs_eur == pytest.approx(10.0)
    assert r.netting_benefit_eur == pytest.approx(15.0)
    assert (r.n_assets, r.estimate_priced) == (2, False)
    r = row(p, "10:15")
    assert r.cost_eur == pytest.approx(-2.0) and r.sum_of_asset_costs_eur == pytest.approx(12.0)


def test_portfolio_incomplete_is_null(imb):
    _, _, final, est = inputs()
    p = portfolio_imbalance(imb, final, est, DAY)
    r = row(p, "10:30")
    assert pd.isna(r.imbalance_mwh) and pd.isna(r.cost_eur) and pd.isna(r.sum_of_asset_costs_eur)
    assert r.known_imbalance_mwh == 0.0 and r.n_assets_unknown == 1
    assert r.reason == "1 of 2 assets have no imbalance" and r.estimate_priced
    r = row(p, "11:00")  # both known, no price
    assert r.imbalance_mwh == pytest.approx(0.1) and r.price_source == "none" and pd.isna(r.cost_eur)
    assert r.reason == "no_price"
