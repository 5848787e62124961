"""Invoicing, step 2: the per-contract month sums -> invoice lines and invoices (pure, no Dagster).

The quarter-hour work (joining best-of-infeed, market VWAP, forecast, redispatch flags and compensation
prices, and summing them per contract) is one DuckDB SQL statement (:mod:`.sums`), with the money sums
in exact ``DECIMAL``. The few resulting sums per invoice are turned into lines here with Python
``Decimal`` (rounding half-up to cents) and integer cents, so that every total adds up exactly.
See docs/invoicing.md for the rules in words; the short version:

* QHs invoiced: the best-of-infeed rows of the contract's asset on the days of the month on which the
  contract is in force (``marts.contracts_in_force``) and inside the contract period of the newest terms.
* infeed payout: ``fixed`` -> volume (MWh, rounded to 3 decimals) x price; ``market`` -> sum over QHs of
  MWh x market VWAP of the QH. A QH with infeed but no market VWAP is never valued 0: the invoice is
  blocked until the VWAP exists (``problems`` names the missing input and the days); the same holds for a
  redispatched QH without compensation price or forecast.
* fee: ``fixed_as_produced`` -> volume x fee; ``fixed_for_capacity`` -> capacity x fee x days in force /
  days of the month (pro rata for a partial month, once per month); ``percent_of_market`` -> sum over QHs
  of MWh x VWAP x fee_percent / 100.
* redispatch payout: sum over the QHs flagged as redispatched of latest forecast MWh (latest_mw x 0.25) x
  DSO compensation price.
* rounding: each line's net is rounded half-up to cents; VAT = 19 % of the rounded net, rounded half-up;
  gross = net + VAT. Invoice totals are sums of the line cents, signed by direction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pandas as pd

from flexpower_dagster.defs.crm.formulas import FEE, PAYOUT
from flexpower_dagster.defs.invoicing.parties import CUSTOMER_FIELDS, customer_parties, customer_parties_of, text
from flexpower_dagster.defs.invoicing.register import assign_documents, read_register
from flexpower_dagster.defs.invoicing.status import (
    blocking_problems,
    day_ranges,
    dec,
    missing_input_problems,
    provisional_problems,
)
from flexpower_dagster.defs.invoicing.sums import contract_month_sums, contract_month_sums_of, month_bounds
from flexpower_dagster.defs.invoicing.tables import INVOICE_LINES, INVOICES
from flexpower_dagster.lib.sql import QHS_PER_DAY

VAT_RATE = Decimal("0.19")
VAT_PERCENT = 19
FLEX_PAYS = "flexpower_pays_customer"
CUSTOMER_PAYS = "customer_pays_flexpower"

#: Base direction of each line type (flipped when the signed amount is negative, e.g. negative market prices).
LINE_DIRECTION = {"infeed_payout": FLEX_PAYS, "fee": CUSTOMER_PAYS, "redispatch_payout": FLEX_PAYS}
LINE_NO = {"infeed_payout": 1, "fee": 2, "redispatch_payout": 3}

# --------------------------------------------------------------------------------------------- helpers
def invoice_id(month: date, contract_id: str) -> str:
    return f"{month:%Y-%m}-{contract_id}"


def round_cents(amount: Decimal) -> Decimal:
    """Half-up (away from zero) to cents."""
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def vat_cents(net_cents: int) -> int:
    """19 % of a non-negative net in cents, rounded half-up to a cent (integer arithmetic)."""
    if net_cents < 0:
        raise ValueError("VAT is computed on positive line amounts")
    return (net_cents * VAT_PERCENT + 50) // 100


# --------------------------------------------------------------------------------------------- invoices
@dataclass(frozen=True)
class Line:
    line_type: str
    description: str
    volume_mwh: Decimal | None
    unit_net_eur_per_mwh: Decimal | None
    quantity: Decimal | None
    quantity_unit: str
    unit_price: Decimal | None
    unit_price_unit: str
    signed_net: Decimal  # before choosing the direction; positive = the line type's base direction


def _lines(r: Mapping, days_in_force: int, days_in_month: int) -> list[Line]:
    """The payout and fee lines (amounts by the model formulas of ``defs/crm/formulas.py``) and the
    redispatch line. The volume is rounded half-up to kWh before it is multiplied by a price or fee."""
    volume = Decimal(r["volume"]).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    market_value = Decimal(r["market_value"])
    price, fee, pct, cap = dec(r["price_eur_per_mwh"]), dec(r["fee_eur"]), dec(r["fee_percent"]), dec(r["capacity_mw"])
    quantities = {
        "mwh": volume, "market_value": market_value, "price": price, "fee": fee, "fee_percent": pct,
        "capacity": cap, "days": Decimal(days_in_force), "days_in_month": Decimal(days_in_month),
    }

    def per_mwh(net):
        return ((net / volume).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if volume else None)

    lines: list[Line] = []
    pm, fm = r["price_model"], r["fee_model"]
    payout = PAYOUT[pm].value(quantities)
    if pm == "fixed":
        lines.append(Line("infeed_payout", f"Infeed payout, fixed price {price} EUR/MWh", volume, price, volume, "MWh",
                          price, "EUR/MWh", payout))
    else:
        lines.append(Line("infeed_payout", "Infeed payout at the market VWAP of each quarter-hour", volume,
                          per_mwh(round_cents(payout)), volume, "MWh", None, "market VWAP per QH", payout))

    amount = FEE[fm].value(quantities)
    if fm == "fixed_as_produced":
        lines.append(Line("fee", f"Service fee {fee} EUR/MWh produced", volume, fee, volume, "MWh", fee, "EUR/MWh", amount))
    elif fm == "fixed_for_capacity":
        share = Decimal(days_in_force) / Decimal(days_in_month)
        text = f"Service fee {fee} EUR/MW per month x {cap} MW"
        if days_in_force != days_in_month:
            text += f", pro rata {days_in_force}/{days_in_month} days"
        # Priced per MW and month, not per MWh: no MWh basis and no EUR/MWh price (printing volume x net/volume
        # would suggest a per-MWh fee whose product is not the net; domain.md: capacity MW x fee).
        lines.append(Line("fee", text, None, None,
                          (cap * share).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP), "MW-month", fee,
                          "EUR/MW-month", amount))
    else:
        lines.append(Line("fee", f"Service fee {pct} % of the market value", volume, per_mwh(round_cents(amount)), volume,
                          "MWh", None, f"{pct} % of market VWAP", amount))

    if r["n_qh_redispatched"]:
        rd_volume = Decimal(r["redispatch_mwh"]).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        rd_value = Decimal(r["redispatch_value"])
        rd_unit = (round_cents(rd_value) / rd_volume).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if rd_volume else None
        lines.append(Line("redispatch_payout",
                          f"Redispatch compensation, {int(r['n_qh_redispatched'])} quarter-hour(s) switched off by the DSO",
                          rd_volume, rd_unit, rd_volume, "MWh", None, "DSO compensation price per QH", rd_value))
    return lines


def compute_invoices(
    month: date, inputs: Mapping[str, pd.DataFrame | None], register: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(invoice_lines, invoices) for ``month`` from frames (see :func:`invoices_from_sums`); ``register``: the
    documents sent so far (none by default)."""
    return invoices_from_sums(month, contract_month_sums_of(month, inputs), register,
                              customer_parties_of(month, inputs.get("contracts")))


def compute_invoices_in(conn: duckdb.DuckDBPyConnection, month: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(invoice_lines, invoices) for ``month`` from the warehouse ``conn`` (sums and the document register)."""
    return invoices_from_sums(month, contract_month_sums(conn, month), read_register(conn, month),
                              customer_parties(conn, month))


def invoices_from_sums(
    month: date, sums: pd.DataFrame, register: pd.DataFrame | None = None, parties: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(invoice_lines, invoices) for ``month``, conformed to their TableSpecs, sorted by invoice id; the document
    columns (number, status, paths) come from :func:`~.register.assign_documents` against ``register``.

    Works per invoice on a handful of decimal sums (the QH work is done in SQL by
    :mod:`~flexpower_dagster.defs.invoicing.sums`), so the money arithmetic can be exact ``Decimal``.
    """
    start, end = month_bounds(month)
    days_in_month = (end - start).days
    issue_date = end
    line_rows: list[dict] = []
    invoice_rows: list[dict] = []
    party = {} if parties is None else {p["contract_id"]: p for p in parties.to_dict("records")}
    for r in sums.to_dict("records"):
        inv_id = invoice_id(start, r["contract_id"])
        # The contract first; an invoice with usable terms is still blocked while an input it needs is missing.
        blocking = blocking_problems(r)
        blocked_by = "contract" if blocking else None
        if not blocking:
            blocking = missing_input_problems(r)
            blocked_by = "missing_input" if blocking else None
        p_start = pd.Timestamp(r["period_start"]).date() if not pd.isna(r["period_start"]) else None
        p_end = pd.Timestamp(r["period_end_excl"]).date() if not pd.isna(r["period_end_excl"]) else None
        days_in_force = max((p_end - p_start).days, 0) if p_start and p_end else 0
        expected = [p_start + timedelta(days=i) for i in range(days_in_force)]
        with_data = {pd.Timestamp(d).date() for d in r["days_with_data"]}
        missing = [d for d in expected if d not in with_data]
        n_expected = days_in_force * QHS_PER_DAY
        n_final = int(r["n_qh_final"])
        row = {
            "invoice_month": pd.Timestamp(start),
            "invoice_id": inv_id,
            "contract_id": r["contract_id"],
            "asset_id": r["asset_id"],
            "metering_point_id": r["metering_point_id"],
            "email": r["email"],
            **{f: text(party.get(r["contract_id"], {}).get(f)) for f in CUSTOMER_FIELDS},
            "price_model": r["price_model"],
            "fee_model": r["fee_model"],
            "issue_date": pd.Timestamp(issue_date),
            "period_start": pd.Timestamp(p_start) if p_start else None,
            "period_end": pd.Timestamp(p_end - timedelta(days=1)) if p_end and days_in_force else None,
            "days_in_force": days_in_force,
            "days_in_month": days_in_month,
            "n_expected_qh": n_expected,
            "n_qh_final": n_final,
            "n_qh_live": int(r["n_qh_live"]),
            "n_qh_forecast": int(r["n_qh_forecast"]),
            "n_qh_missing": int(r["n_qh_no_value"]) + len(missing) * QHS_PER_DAY,
            "n_qh_redispatched": int(r["n_qh_redispatched"]),
            "final_share": (n_final / n_expected) if n_expected else None,
            "non_final_share": (1 - n_final / n_expected) if n_expected else None,
            "n_missing_days": len(missing),
            "missing_days": day_ranges(missing) or None,
            "n_days_with_data": len(expected) - len(missing),
            "days_with_data": day_ranges([d for d in expected if d in with_data]) or None,
            "volume_mwh": float(Decimal(r["volume"]).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)),
            "blocked_by": None,
            "html_path": None,
            "pdf_path": None,
            "eml_path": None,
            "document_number": None,
            "document_status": None,
            "replaces_document_number": None,
            "hold_reason": None,
        }
        if blocking:
            row.update(
                payout_net_eur=None, charge_net_eur=None, net_eur=None, vat_eur=None, gross_eur=None,
                net_cents=None, vat_cents=None, gross_cents=None, balance_direction=None,
                status="blocked", problems="; ".join(blocking), blocked_by=blocked_by,
            )
            invoice_rows.append(row)
            continue

        totals = {"net": 0, "vat": 0, "gross": 0, FLEX_PAYS: 0, CUSTOMER_PAYS: 0}
        for line in _lines(r, days_in_force, days_in_month):
            signed_cents = int(round_cents(line.signed_net) * 100)
            base = LINE_DIRECTION[line.line_type]
            direction = base if signed_cents >= 0 else (CUSTOMER_PAYS if base == FLEX_PAYS else FLEX_PAYS)
            net_c = abs(signed_cents)
            vat_c = vat_cents(net_c)
            gross_c = net_c + vat_c
            sign = 1 if direction == FLEX_PAYS else -1
            totals["net"] += sign * net_c
            totals["vat"] += sign * vat_c
            totals["gross"] += sign * gross_c
            totals[direction] += net_c
            line_rows.append({
                "invoice_month": pd.Timestamp(start),
                "invoice_id": inv_id,
                "line_type": line.line_type,
                "line_no": LINE_NO[line.line_type],
                "contract_id": r["contract_id"],
                "direction": direction,
                "description": line.description,
                "volume_mwh": _float(line.volume_mwh),
                "unit_net_eur_per_mwh": _float(line.unit_net_eur_per_mwh),
                "quantity": _float(line.quantity),
                "quantity_unit": line.quantity_unit,
                "unit_price": _float(line.unit_price),
                "unit_price_unit": line.unit_price_unit,
                "net_eur": net_c / 100,
                "vat_eur": vat_c / 100,
                "gross_eur": gross_c / 100,
                "net_cents": net_c,
                "vat_cents": vat_c,
                "gross_cents": gross_c,
                "vat_rate": float(VAT_RATE),
            })
        provisional = provisional_problems(r, missing, n_expected, n_final)
        row.update(
            payout_net_eur=totals[FLEX_PAYS] / 100,
            charge_net_eur=totals[CUSTOMER_PAYS] / 100,
            net_eur=totals["net"] / 100,
            vat_eur=totals["vat"] / 100,
            gross_eur=totals["gross"] / 100,
            net_cents=totals["net"],
            vat_cents=totals["vat"],
            gross_cents=totals["gross"],
            balance_direction=FLEX_PAYS if totals["gross"] >= 0 else CUSTOMER_PAYS,
            status="provisional" if provisional else "final",
            problems="; ".join(provisional) or None,
        )
        invoice_rows.append(row)

    lines = INVOICE_LINES.conform(pd.DataFrame(line_rows)) if line_rows else INVOICE_LINES.empty_frame()
    invoices = INVOICES.conform(pd.DataFrame(invoice_rows)) if invoice_rows else INVOICES.empty_frame()
    lines = lines.sort_values(["invoice_id", "line_no"]).reset_index(drop=True)
    invoices = INVOICES.conform(assign_documents(invoices, lines, register)) if len(invoices) else invoices
    return lines, invoices.sort_values("invoice_id").reset_index(drop=True)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
