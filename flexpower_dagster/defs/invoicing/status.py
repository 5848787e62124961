"""Why an invoice is ``blocked`` or ``provisional`` (pure, no Dagster): the problems, in words a customer
service colleague can act on. See docs/invoicing.md.

* blocked by the contract: the contract is invalid in ``marts.contracts_in_force`` (its problems are named), its
  terms changed within the month, or a term the invoice needs is missing (checked again here, belt and braces);
* blocked by a missing input (missing is never 0): quarter-hours with infeed but no market VWAP (for a model that
  uses the market), redispatched quarter-hours without DSO compensation price or without forecast; the reason
  names the input and the days;
* provisional: days without data, quarter-hours not from final DSO data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from flexpower_dagster.defs.crm.terms import FEE_MODELS, PRICE_MODELS
from flexpower_dagster.lib.sql import QHS_PER_DAY


def day_ranges(days: list[date]) -> str:
    """Compact text for a set of days: ``2025-06-01..2025-06-07, 2025-06-09``."""
    out: list[str] = []
    ordered = sorted(set(days))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] - ordered[j] == timedelta(days=1):
            j += 1
        out.append(ordered[i].isoformat() if i == j else f"{ordered[i].isoformat()}..{ordered[j].isoformat()}")
        i = j + 1
    return ", ".join(out)


def dec(value) -> Decimal | None:
    """A float/str/Decimal as Decimal (floats via their shortest repr), None for NULL/NaN."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def blocking_problems(r: Mapping) -> list[str]:
    problems: list[str] = []
    if r["any_invalid"]:
        problems.append(f"contract invalid in contracts_in_force: {r['invalid_problems']}")
    if r["n_term_versions"] > 1:
        problems.append("contract terms changed within the month (several CRM versions): invoice manually")
    if r["any_invalid"]:
        return problems  # contracts_in_force already named the term problems; do not repeat them
    # Belt and braces: the terms the invoice needs, even if contracts_in_force called the contract valid.
    pm, fm = r["price_model"], r["fee_model"]
    if pm not in PRICE_MODELS:
        problems.append(f"unknown price_model {pm!r}")
    elif pm == "fixed" and dec(r["price_eur_per_mwh"]) is None:
        problems.append("price_model=fixed without price")
    if fm not in FEE_MODELS:
        problems.append(f"unknown fee_model {fm!r}")
    elif fm == "fixed_as_produced" and dec(r["fee_eur"]) is None:
        problems.append("fee_model=fixed_as_produced without fee")
    elif fm == "fixed_for_capacity" and (dec(r["fee_eur"]) is None or dec(r["capacity_mw"]) is None):
        problems.append("fee_model=fixed_for_capacity without fee or capacity")
    elif fm == "percent_of_market" and dec(r["fee_percent"]) is None:
        problems.append("fee_model=percent_of_market without fee_percent")
    if not (isinstance(r["email"], str) and "@" in r["email"]):
        problems.append("no customer e-mail address")
    if pd.isna(r["contract_begin"]):
        problems.append("contract without contract_begin")
    if pd.isna(r["period_start"]) or pd.isna(r["period_end_excl"]) or r["period_start"] >= r["period_end_excl"]:
        problems.append("newest contract terms put no day of the month inside the contract period")
    # Dedupe, keep order.
    return list(dict.fromkeys(problems))


def _days(values) -> list[date]:
    return [pd.Timestamp(d).date() for d in (values if values is not None else [])]


def missing_input_problems(r: Mapping) -> list[str]:
    """Inputs the invoice needs on delivered days but that are missing: never valued 0, the invoice is blocked
    until they exist (e.g. the day's public trades were rejected, so the market VWAP is missing)."""
    problems: list[str] = []
    uses_market = r["price_model"] == "market" or r["fee_model"] == "percent_of_market"
    if uses_market and r["n_qh_no_vwap"]:
        problems.append(
            f"missing input market VWAP (marts.trading_qh, from the exchange's public trades) for "
            f"{int(r['n_qh_no_vwap'])} quarter-hour(s) with infeed on {day_ranges(_days(r['days_no_vwap']))}: "
            "not priced until the trades exist"
        )
    if r["n_redispatch_no_price"]:
        problems.append(
            f"missing input DSO redispatch compensation price for {int(r['n_redispatch_no_price'])} redispatched "
            f"quarter-hour(s) on {day_ranges(_days(r['days_redispatch_no_price']))}"
        )
    if r["n_redispatch_no_forecast"]:
        problems.append(
            f"missing input forecast (marts.asset_forecast) for {int(r['n_redispatch_no_forecast'])} redispatched "
            f"quarter-hour(s) on {day_ranges(_days(r['days_redispatch_no_forecast']))}"
        )
    return problems


def provisional_problems(r: Mapping, missing_days: list[date], n_expected: int, n_final: int) -> list[str]:
    problems: list[str] = []
    if missing_days:
        problems.append(f"no data for {len(missing_days)} day(s): {day_ranges(missing_days)}")
    if n_final < n_expected:
        pct = Decimal(100 * (n_expected - n_final)) / Decimal(n_expected)
        problems.append(
            f"{pct.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} % of quarter-hours not from final DSO data "
            f"(live {int(r['n_qh_live'])}, forecast {int(r['n_qh_forecast'])}, "
            f"no value {int(r['n_qh_no_value'])}, on missing days {len(missing_days) * QHS_PER_DAY})"
        )
    return problems
