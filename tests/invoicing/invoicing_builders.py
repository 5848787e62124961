"""Small hand-made inputs for the invoicing rules (frames shaped like the upstream marts)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

JUNE = date(2025, 6, 1)
#: Complete customer master data (name, postal address, tax ids) as the CRM would deliver it.
CUSTOMER = {"customer_name": "Windpark Muster GmbH & Co. KG", "customer_address": "Am Deich 5, 25899 Niebuell, Germany",
            "customer_tax_number": "15/293/01234", "customer_vat_id": "DE123456789"}


def contract(contract_id="CON1_A", asset_id="A", *, days, capacity_mw=4.0, begin=date(2024, 1, 1), end=None,
             price_model="fixed", price=80.0, fee_model="fixed_as_produced", fee=2.5, fee_percent=None,
             email="a@example.com", valid=True, problems=None, customer=None) -> pd.DataFrame:
    """contracts_in_force rows of one contract for the given delivery days, with the customer master data the CRM
    export does not carry yet (``customer``: the CUSTOMER_FIELDS; default complete, ``{}``: none)."""
    customer = CUSTOMER if customer is None else customer
    return pd.DataFrame([
        {
            "delivery_day": pd.Timestamp(d), "contract_id": contract_id, "asset_id": asset_id,
            "metering_point_id": f"MP-{asset_id}", "capacity_mw": capacity_mw, "technology": "wind",
            "contract_begin": pd.Timestamp(begin), "contract_end": pd.Timestamp(end) if end else pd.NaT,
            "price_model": price_model, "price_eur_per_mwh": price, "fee_model": fee_model, "fee_eur": fee,
            "fee_percent": fee_percent, "email": email, "valid": valid, "problems": problems,
            "source_file": "crm/x.csv", **customer,
        }
        for d in days
    ])


def qh_starts(day: date) -> list[datetime]:
    base = datetime(day.year, day.month, day.day)
    return [base + timedelta(minutes=15 * i) for i in range(96)]


def infeed(asset_id="A", *, days, mw=4.0, source="final", overrides=None) -> pd.DataFrame:
    """best_of_infeed: constant ``mw`` in every QH of ``days``; overrides {(day, qh_index): (mw, source)}."""
    rows = []
    for d in days:
        for i, s in enumerate(qh_starts(d)):
            m, src = (overrides or {}).get((d, i), (mw, source))
            rows.append({"delivery_day": pd.Timestamp(d), "asset_id": asset_id, "delivery_start": s,
                         "mw": m, "mwh": None if m is None else m * 0.25, "source": src})
    return pd.DataFrame(rows)


def trading(*, days, vwap=100.0, overrides=None) -> pd.DataFrame:
    rows = []
    for d in days:
        for i, s in enumerate(qh_starts(d)):
            rows.append({"delivery_day": pd.Timestamp(d), "delivery_start": s,
                         "market_vwap_eur_per_mwh": (overrides or {}).get((d, i), vwap)})
    return pd.DataFrame(rows)


def forecast(asset_id="A", *, days, mw=5.0) -> pd.DataFrame:
    return pd.DataFrame([
        {"delivery_day": pd.Timestamp(d), "asset_id": asset_id, "delivery_start": s, "latest_mw": mw,
         "latest_version": s, "tradeable_mw": mw, "tradeable_version": s}
        for d in days for s in qh_starts(d)
    ])


def flags(asset_id="A", *, qhs: list[tuple[date, int]]) -> pd.DataFrame:
    return pd.DataFrame([
        {"delivery_day": pd.Timestamp(d), "metering_point_id": f"MP-{asset_id}", "asset_id": asset_id,
         "delivery_start": qh_starts(d)[i], "delivery_end": qh_starts(d)[i] + timedelta(minutes=15),
         "is_redispatched": True, "source_file": "dso/x.csv"}
        for d, i in qhs
    ], columns=["delivery_day", "metering_point_id", "asset_id", "delivery_start", "delivery_end", "is_redispatched", "source_file"])


def compensation(*, days, price=60.0) -> pd.DataFrame:
    return pd.DataFrame([
        {"delivery_day": pd.Timestamp(d), "delivery_start": s, "delivery_end": s + timedelta(minutes=15),
         "price_eur_per_mwh": price, "source_file": "dso/c.csv"}
        for d in days for s in qh_starts(d)
    ])


def month_days(month: date = JUNE) -> list[date]:
    out, d = [], month
    while d.month == month.month:
        out.append(d)
        d += timedelta(days=1)
    return out
