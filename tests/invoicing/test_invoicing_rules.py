"""Hand-computed invoices: every price model x fee model, partial month, redispatch, provisional, blocked, rounding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from flexpower_dagster.defs.invoicing.lines import compute_invoices, day_ranges, round_cents, vat_cents

from invoicing_builders import JUNE, compensation, contract, flags, forecast, infeed, month_days, trading

DAYS = month_days()  # 30 days of June 2025


def run(contracts, infeed_frame, *, vwap_overrides=None, flag_qhs=(), forecast_mw=5.0, comp_price=60.0, days=DAYS):
    inputs = {
        "contracts": contracts,
        "infeed": infeed_frame,
        "forecast": pd.concat([forecast(a, days=days, mw=forecast_mw) for a in contracts["asset_id"].unique()]),
        "trading": trading(days=days, vwap=100.0, overrides=vwap_overrides),
        "flags": flags("A", qhs=list(flag_qhs)),
        "compensation": compensation(days=days, price=comp_price),
    }
    lines, invoices = compute_invoices(JUNE, inputs)
    return lines, invoices


# Full month, 2 MW in every QH -> 0.5 MWh x 2880 QH = 1440 MWh. Market VWAP 100 EUR/MWh except 10 QHs of
# June 1st at -20 EUR/MWh -> market value = 0.5 * (2870 * 100 + 10 * -20) = 143,400.00 EUR.
NEGATIVE_QHS = {(date(2025, 6, 1), i): -20.0 for i in range(10)}
PAYOUT = {"fixed": 1440 * Decimal("80.25"), "market": Decimal("143400.00")}  # 115,560.00 / 143,400.00
FEE = {
    "fixed_as_produced": 1440 * Decimal("2.35"),  # 3,384.00
    "fixed_for_capacity": Decimal("4.0") * Decimal("3.0"),  # 12.00, once for the month
    "percent_of_market": Decimal("143400.00") * Decimal("7.3") / 100,  # 10,468.20
}
VAT = {  # 19 % of the rounded net, rounded half-up
    Decimal("115560.00"): Decimal("21956.40"),
    Decimal("143400.00"): Decimal("27246.00"),
    Decimal("3384.00"): Decimal("642.96"),
    Decimal("12.00"): Decimal("2.28"),
    Decimal("10468.20"): Decimal("1988.96"),  # 1988.958
}


@pytest.mark.parametrize("price_model", ["fixed", "market"])
@pytest.mark.parametrize("fee_model", ["fixed_as_produced", "fixed_for_capacity", "percent_of_market"])
def test_price_model_x_fee_model(price_model, fee_model):
    c = contract(days=DAYS, capacity_mw=4.0, price_model=price_model, price=80.25 if price_model == "fixed" else None,
                 fee_model=fee_model, fee=None if fee_model == "percent_of_market" else (2.35 if fee_model == "fixed_as_produced" else 3.0),
                 fee_percent=7.3 if fee_model == "percent_of_market" else None)
    lines, invoices = run(c, infeed(days=DAYS, mw=2.0), vwap_overrides=NEGATIVE_QHS)
    inv = invoices.iloc[0]
    assert inv["invoice_id"] == "2025-06-CON1_A"
    assert inv["status"] == "final" and inv["problems"] is None and inv["final_share"] == 1.0
    assert list(lines["line_type"]) == ["infeed_payout", "fee"]
    payout, fee = lines.iloc[0], lines.iloc[1]
    assert payout["volume_mwh"] == 1440.0
    if fee_model == "fixed_for_capacity":  # priced per MW-month: no MWh basis, no EUR/MWh (issue 26.3)
        assert pd.isna(fee["volume_mwh"]) and pd.isna(fee["unit_net_eur_per_mwh"])
        assert (fee["quantity"], fee["quantity_unit"], fee["unit_price"], fee["unit_price_unit"]) == (
            4.0, "MW-month", 3.0, "EUR/MW-month")
    else:
        assert fee["volume_mwh"] == 1440.0
    assert payout["direction"] == "flexpower_pays_customer" and fee["direction"] == "customer_pays_flexpower"
    exp_payout, exp_fee = round_cents(PAYOUT[price_model]), round_cents(FEE[fee_model])
    assert payout["net_cents"] == int(exp_payout * 100) and payout["vat_cents"] == int(VAT[exp_payout] * 100)
    assert fee["net_cents"] == int(exp_fee * 100) and fee["vat_cents"] == int(VAT[exp_fee] * 100)
    for line in (payout, fee):
        assert line["gross_cents"] == line["net_cents"] + line["vat_cents"]
        assert line["net_eur"] == line["net_cents"] / 100
    assert inv["net_cents"] == payout["net_cents"] - fee["net_cents"]
    assert inv["vat_cents"] == payout["vat_cents"] - fee["vat_cents"]
    assert inv["gross_cents"] == payout["gross_cents"] - fee["gross_cents"] == inv["net_cents"] + inv["vat_cents"]
    if price_model == "fixed":
        assert payout["unit_net_eur_per_mwh"] == 80.25
    else:
        assert payout["unit_net_eur_per_mwh"] == 99.5833  # 143400 / 1440


def test_partial_month_contract_is_invoiced_for_its_days_and_capacity_fee_pro_rata():
    # Contract begins 2025-06-11: 20 of 30 days. Infeed exists for the whole month but only the 20 days count.
    days = DAYS[10:]
    c = contract(days=days, begin=date(2025, 6, 11), capacity_mw=1.49, price_model="fixed", price=50.0,
                 fee_model="fixed_for_capacity", fee=3.7)
    lines, invoices = run(c, infeed(days=DAYS, mw=2.0))
    inv = invoices.iloc[0]
    assert (inv["period_start"], inv["period_end"]) == (pd.Timestamp("2025-06-11"), pd.Timestamp("2025-06-30"))
    assert inv["days_in_force"] == 20 and inv["n_expected_qh"] == 1920 and inv["status"] == "final"
    payout, fee = lines.iloc[0], lines.iloc[1]
    assert payout["volume_mwh"] == 960.0 and payout["net_cents"] == 4_800_000  # 960 MWh x 50
    # 1.49 MW x 3.7 EUR/MW-month x 20/30 = 3.675333 -> 3.68; VAT 0.6992 -> 0.70
    assert (fee["net_cents"], fee["vat_cents"], fee["gross_cents"]) == (368, 70, 438)
    assert fee["quantity"] == pytest.approx(0.993333) and fee["quantity_unit"] == "MW-month"
    assert "pro rata 20/30 days" in fee["description"]


def test_contract_ending_mid_month():
    c = contract(days=DAYS[:15], end=date(2025, 6, 16), capacity_mw=4.0, fee_model="fixed_for_capacity", fee=3.0)
    lines, invoices = run(c, infeed(days=DAYS, mw=2.0))
    inv = invoices.iloc[0]
    assert inv["period_end"] == pd.Timestamp("2025-06-15") and inv["days_in_force"] == 15
    assert lines.iloc[1]["net_cents"] == 600  # 4 MW x 3 EUR x 15/30 = 6.00


def test_redispatched_qh_is_paid_at_latest_forecast_times_compensation():
    day = date(2025, 6, 5)
    inf = infeed(days=DAYS, mw=2.0, overrides={(day, 40): (0.0, "forecast_redispatched")})
    c = contract(days=DAYS, price=80.0, fee=2.0)
    lines, invoices = run(c, inf, flag_qhs=[(day, 40)], forecast_mw=5.2, comp_price=61.3)
    rd = lines.set_index("line_type").loc["redispatch_payout"]
    # 5.2 MW x 0.25 h = 1.3 MWh x 61.3 EUR/MWh = 79.69; VAT 15.1411 -> 15.14
    assert rd["volume_mwh"] == 1.3 and (rd["net_cents"], rd["vat_cents"], rd["gross_cents"]) == (7969, 1514, 9483)
    assert rd["direction"] == "flexpower_pays_customer" and rd["unit_net_eur_per_mwh"] == 61.3
    inv = invoices.iloc[0]
    assert inv["n_qh_redispatched"] == 1 and inv["n_qh_forecast"] == 1
    # 1439.5 MWh x 80 = 115,160.00 ; fee 1439.5 x 2 = 2,879.00
    assert inv["net_cents"] == 11_516_000 - 287_900 + 7969
    assert inv["status"] == "provisional"  # the redispatched QH is valued from the forecast, not final data


def test_provisional_month_names_missing_days_and_shares():
    present = [date(2025, 6, d) for d in (1, 2, 3, 8)]
    inf = infeed(days=present, mw=2.0, overrides={(date(2025, 6, 8), i): (2.0, "live") for i in range(48)})
    c = contract(days=present)
    lines, invoices = run(c, inf)
    inv = invoices.iloc[0]
    assert inv["status"] == "provisional"
    assert inv["n_missing_days"] == 26 and inv["missing_days"] == "2025-06-04..2025-06-07, 2025-06-09..2025-06-30"
    assert (inv["n_qh_final"], inv["n_qh_live"], inv["n_qh_missing"]) == (336, 48, 26 * 96)
    assert inv["non_final_share"] == pytest.approx(1 - 336 / 2880)
    assert "no data for 26 day(s)" in inv["problems"] and "88.3 %" in inv["problems"]
    assert lines.iloc[0]["volume_mwh"] == 192.0  # 4 days x 96 x 0.5


def test_qh_without_market_vwap_blocks_the_invoice_naming_the_input_and_days():
    """Missing is never 0: a QH with infeed but no market VWAP is not valued 0, the invoice waits for it."""
    c = contract(days=DAYS, price_model="market", price=None, fee_model="percent_of_market", fee=None, fee_percent=10.0)
    lines, invoices = run(c, infeed(days=DAYS, mw=2.0), vwap_overrides={(date(2025, 6, 2), 7): None, (date(2025, 6, 3), 9): None})
    inv = invoices.iloc[0]
    assert inv["status"] == "blocked" and inv["blocked_by"] == "missing_input"
    assert inv["problems"] == ("missing input market VWAP (marts.trading_qh, from the exchange's public trades) for "
                               "2 quarter-hour(s) with infeed on 2025-06-02..2025-06-03: not priced until the trades exist")
    assert pd.isna(inv["net_cents"]) and pd.isna(inv["gross_eur"]) and len(lines) == 0


def test_forecast_only_days_are_not_invoiced():
    """The running day and tomorrow (forecasts only, no live or final QH anywhere in the portfolio) are built for
    the trading view but not invoiced: no customer is paid for energy not yet produced; they count as days without
    data. A delivered day keeps its forecast-sourced QHs (best-of-infeed, provisional)."""
    delivered = [date(2025, 6, 1), date(2025, 6, 2)]
    ahead = [date(2025, 6, 3), date(2025, 6, 4)]
    inf = pd.concat([infeed(days=delivered, mw=2.0, overrides={(date(2025, 6, 2), 5): (2.0, "forecast")}),
                     infeed(days=ahead, mw=2.0, source="forecast")], ignore_index=True)
    c = contract(days=delivered + ahead, price_model="market", price=None, fee_model="percent_of_market", fee=None,
                 fee_percent=10.0)
    lines, invoices = run(c, inf, vwap_overrides={(d, i): None for d in ahead for i in range(96)})
    inv = invoices.iloc[0]
    assert inv["status"] == "provisional"  # not blocked by the missing prices of the days ahead
    assert (inv["n_qh_final"], inv["n_qh_forecast"]) == (191, 1)
    assert "2025-06-03..2025-06-30" in inv["missing_days"]
    assert lines.iloc[0]["volume_mwh"] == 96.0  # 2 days x 96 x 0.5


def test_fixed_price_contract_does_not_need_the_market_vwap():
    c = contract(days=DAYS, price=80.0, fee=2.5)
    _lines, invoices = run(c, infeed(days=DAYS, mw=2.0), vwap_overrides={(date(2025, 6, 2), 7): None})
    assert invoices.iloc[0]["status"] == "final"


def test_redispatched_qh_without_compensation_price_blocks_the_invoice():
    day = date(2025, 6, 5)
    inf = infeed(days=DAYS, mw=2.0, overrides={(day, 40): (0.0, "forecast_redispatched")})
    lines, invoices = run(contract(days=DAYS), inf, flag_qhs=[(day, 40)], comp_price=None)
    inv = invoices.iloc[0]
    assert inv["status"] == "blocked" and inv["blocked_by"] == "missing_input"
    assert inv["problems"] == "missing input DSO redispatch compensation price for 1 redispatched quarter-hour(s) on 2025-06-05"
    assert len(lines) == 0


def test_blocked_contract_does_not_stop_the_others():
    contracts = pd.concat([
        contract("CON1_A", "A", days=DAYS),
        contract("CON1_B", "B", days=DAYS, price=None, valid=False, problems="price_model 'fixed' without price"),
        contract("CON1_C", "C", days=DAYS, email=None),
        contract("CON1_D", "D", days=DAYS[:10], price=80.0),
        contract("CON1_D", "D", days=DAYS[10:], price=90.0),
    ], ignore_index=True)
    inf = pd.concat([infeed(a, days=DAYS, mw=2.0) for a in "ABCD"])
    lines, invoices = run(contracts, inf)
    status = dict(zip(invoices["contract_id"], invoices["status"]))
    assert status == {"CON1_A": "final", "CON1_B": "blocked", "CON1_C": "blocked", "CON1_D": "blocked"}
    problems = dict(zip(invoices["contract_id"], invoices["problems"]))
    assert problems["CON1_B"] == "contract invalid in contracts_in_force: price_model 'fixed' without price"
    assert problems["CON1_C"] == "no customer e-mail address"
    assert "terms changed within the month" in problems["CON1_D"]
    blocked = invoices[invoices["status"] == "blocked"]
    assert blocked["net_eur"].isna().all() and blocked["gross_cents"].isna().all()
    assert set(lines["contract_id"]) == {"CON1_A"}


def test_rounding_rules():
    assert round_cents(Decimal("2.345")) == Decimal("2.35")  # half-up, not banker's
    assert round_cents(Decimal("2.3449999")) == Decimal("2.34")
    assert vat_cents(150) == 29  # 28.5 -> 29 (banker's rounding would give 28)
    assert vat_cents(1) == 0 and vat_cents(3) == 1  # 0.19 -> 0, 0.57 -> 1
    assert day_ranges([date(2025, 6, 3), date(2025, 6, 1), date(2025, 6, 2), date(2025, 6, 9)]) == "2025-06-01..2025-06-03, 2025-06-09"


def test_half_cent_line_and_totals_that_add_up():
    # One QH of 0.004 MW -> 0.001 MWh x 5 EUR/MWh = 0.005 EUR -> 0.01 (half-up); VAT 0.0019 -> 0.00.
    day = date(2025, 6, 8)
    inf = infeed(days=[day], mw=0.0, overrides={(day, 50): (0.004, "final")})
    lines, _invoices = run(contract(days=[day], price=5.0, fee=0.1), inf)
    payout, fee = lines.iloc[0], lines.iloc[1]
    assert (payout["net_cents"], payout["vat_cents"], payout["gross_cents"]) == (1, 0, 1)
    assert (fee["net_cents"], fee["vat_cents"]) == (0, 0)  # 0.0001 EUR


def test_awkward_volumes_add_up_exactly():
    # Irregular MW per QH, several contracts: every invoice total equals the signed sum of its rounded lines.
    import numpy as np

    rng = np.random.default_rng(7)
    frames, contracts = [], []
    for k, (pm, fm) in enumerate([("fixed", "fixed_as_produced"), ("market", "percent_of_market"), ("market", "fixed_for_capacity")]):
        a = f"X{k}"
        f = infeed(a, days=DAYS, mw=1.0)
        f["mw"] = rng.uniform(0, 6.789, len(f)).round(6)
        f["mwh"] = f["mw"] * 0.25
        frames.append(f)
        contracts.append(contract(f"CON1_{a}", a, days=DAYS, price_model=pm, price=83.17 if pm == "fixed" else None,
                                  fee_model=fm, fee=1.37, fee_percent=6.5, capacity_mw=3.3))
    vw = {(d, i): float(v) for d in DAYS for i, v in zip(range(96), rng.uniform(-50, 250, 96).round(2))}
    lines, invoices = run(pd.concat(contracts, ignore_index=True), pd.concat(frames), vwap_overrides=vw)
    assert (lines["gross_cents"] == lines["net_cents"] + lines["vat_cents"]).all()
    assert (lines["vat_cents"] == (lines["net_cents"] * 19 + 50) // 100).all()
    sign = lines["direction"].map({"flexpower_pays_customer": 1, "customer_pays_flexpower": -1})
    for col in ("net_cents", "vat_cents", "gross_cents"):
        signed = (lines[col] * sign).groupby(lines["invoice_id"]).sum()
        assert (invoices.set_index("invoice_id")[col] == signed).all()
    assert (invoices["gross_cents"] == invoices["net_cents"] + invoices["vat_cents"]).all()
    assert (lines["net_cents"] >= 0).all()


def test_negative_market_value_flips_the_direction_with_positive_amounts():
    c = contract(days=DAYS, price_model="market", price=None, fee_model="fixed_as_produced", fee=1.0)
    lines, invoices = run(c, infeed(days=DAYS, mw=2.0),
                          vwap_overrides={(d, i): -10.0 for d in DAYS for i in range(96)})
    payout = lines.iloc[0]
    assert payout["direction"] == "customer_pays_flexpower" and payout["net_cents"] == 1_440_000  # 1440 x 10
    inv = invoices.iloc[0]
    assert inv["net_cents"] == -1_440_000 - 144_000 and inv["balance_direction"] == "customer_pays_flexpower"


def test_no_contracts_gives_empty_typed_frames():
    lines, invoices = compute_invoices(JUNE, {"contracts": None, "infeed": pd.DataFrame()})
    assert len(lines) == 0 and len(invoices) == 0
    assert "invoice_month" in invoices.columns
