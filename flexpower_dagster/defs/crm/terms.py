"""Contract terms (pure, vectorised pandas, no Dagster).

* :func:`contract_problems` — readable data-quality problems of each contract row;
* :func:`contracts_in_force` — the rows of ``marts.contracts_in_force`` for one day (which contracts are
  in force: :mod:`flexpower_dagster.defs.crm.portfolio`, the one definition).

An inconsistent contract (e.g. ``price_model=fixed`` without ``price``) is never "fixed" with a
silent 0: it stays in the table with ``valid = false`` and every problem named in ``problems``,
so that invoicing can block exactly that contract and nobody else.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from flexpower_dagster.defs.crm.portfolio import as_dates, in_force
from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.lib.bounds import EXCHANGE_PRICE, POWER_MW
from flexpower_dagster.lib.errors import excerpt
from flexpower_dagster.lib.identifiers import valid_email

PRICE_MODELS = ("fixed", "market")
FEE_MODELS = ("fixed_as_produced", "fixed_for_capacity", "percent_of_market")
TECHNOLOGIES = ("solar", "wind")

#: fee model -> the contract column that must hold its parameter
FEE_PARAMETER = {
    "fixed_as_produced": "fee_eur",
    "fixed_for_capacity": "fee_eur",
    "percent_of_market": "fee_percent",
}
_CRM_NAME = {"fee_eur": "fee", "fee_percent": "fee_percent", "price_eur_per_mwh": "price"}

PROBLEM_SEPARATOR = "; "


def _text(s: pd.Series) -> pd.Series:
    """Stripped text with empty strings as NaN."""
    t = s.astype("object").where(s.notna(), None).astype("string").str.strip()
    return t.where(t.ne(""), pd.NA)


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _fmt(s: pd.Series) -> pd.Series:
    """Numbers for messages: 7.0 -> '7', 2.5 -> '2.5'."""
    return s.map("{:g}".format, na_action="ignore").astype("string")


def contract_problems(contracts: pd.DataFrame) -> pd.Series:
    """One readable text per row listing every problem ('; '-separated), '' when the row is fine.

    Checks (each one a vectorised mask, so a contract with several problems names all of them):

    * price model: missing or unknown; ``fixed`` needs ``price`` (``market`` with a price is fine:
      the price is simply not used);
    * fee model: missing or unknown; each model needs its parameter
      (``fixed_as_produced`` / ``fixed_for_capacity`` -> ``fee``, ``percent_of_market`` -> ``fee_percent``),
      and the message mentions a parameter of another model that was given instead;
      ``fee_percent`` outside 0..100;
    * technology missing or unknown; capacity missing or not positive;
    * ``contract_begin`` not before ``contract_end``; missing ``contract_begin``;
    * missing or malformed email, missing metering point;
    * the same asset or metering point under several contracts of the same frame.
    """
    idx = contracts.index
    price_model = _text(contracts["price_model"]).str.lower()
    fee_model = _text(contracts["fee_model"]).str.lower()
    technology = _text(contracts["technology"]).str.lower()
    price = _num(contracts["price_eur_per_mwh"])
    fee = _num(contracts["fee_eur"])
    fee_percent = _num(contracts["fee_percent"])
    capacity = _num(contracts["capacity_mw"])
    begin = as_dates(contracts["contract_begin"])
    end = as_dates(contracts["contract_end"])
    email = _text(contracts["email"])
    metering_point = _text(contracts["metering_point_id"])
    asset = _text(contracts["asset_id"])

    checks: list[tuple[pd.Series, pd.Series | str]] = []

    def add(mask: pd.Series, message: pd.Series | str) -> None:
        checks.append((mask.fillna(False).astype(bool), message))

    # price model
    add(price_model.isna(), "missing price_model")
    add(price_model.notna() & ~price_model.isin(PRICE_MODELS), "unknown price_model '" + price_model.fillna("") + "'")
    add(price_model.eq("fixed") & price.isna(), "price_model 'fixed' without price")

    # fee model and its parameter
    add(fee_model.isna(), "missing fee_model")
    add(fee_model.notna() & ~fee_model.isin(FEE_MODELS), "unknown fee_model '" + fee_model.fillna("") + "'")
    for model, column in FEE_PARAMETER.items():
        other = "fee_percent" if column == "fee_eur" else "fee_eur"
        other_value = fee_percent if other == "fee_percent" else fee
        lacks = fee_model.eq(model) & _num(contracts[column]).isna()
        hint = pd.Series(
            np.where(
                other_value.notna(),
                " (" + _CRM_NAME[other] + " " + _fmt(other_value).fillna("") + " given instead)",
                "",
            ),
            index=idx,
        )
        add(lacks, f"fee_model '{model}' without {_CRM_NAME[column]}" + hint)
    add(fee_percent.notna() & ((fee_percent < 0) | (fee_percent > 100)), "fee_percent " + _fmt(fee_percent).fillna("") + " outside 0..100")

    # asset
    add(technology.isna(), "missing technology")
    add(technology.notna() & ~technology.isin(TECHNOLOGIES), "unknown technology '" + technology.fillna("") + "'")
    add(capacity.isna(), "missing capacity")
    add(capacity.notna() & (capacity <= 0), "capacity " + _fmt(capacity).fillna("") + " MW is not positive")
    add(capacity > POWER_MW.hi, "capacity " + _fmt(capacity).fillna("") + f" MW outside {POWER_MW.text('MW')}")
    add((price < EXCHANGE_PRICE.lo) | (price > EXCHANGE_PRICE.hi),
        "price " + _fmt(price).fillna("") + f" outside {EXCHANGE_PRICE.text('EUR/MWh')}")
    add(fee.abs() > EXCHANGE_PRICE.hi, "fee " + _fmt(fee).fillna("") + f" outside {EXCHANGE_PRICE.text('EUR')}")

    # period
    add(begin.isna(), "missing contract_begin")
    add(
        begin.notna() & end.notna() & (begin >= end),
        "contract_begin " + begin.dt.strftime("%Y-%m-%d").fillna("") + " is not before contract_end "
        + end.dt.strftime("%Y-%m-%d").fillna(""),
    )

    # customer and metering
    add(email.isna(), "missing email")
    add(email.notna() & ~email.map(valid_email, na_action="ignore").fillna(False).astype(bool),
        "malformed email " + email.fillna("").map(excerpt))
    add(metering_point.isna(), "missing metering_point_id")
    add(asset.notna() & asset.duplicated(keep=False), "asset " + asset.fillna("") + " has several contracts")
    add(
        metering_point.notna() & metering_point.duplicated(keep=False),
        "metering point " + metering_point.fillna("") + " is used by several contracts",
    )

    text = pd.Series("", index=idx, dtype="object")
    for mask, message in checks:  # loop over the (few) checks; each check is vectorised over all rows
        msg = message if isinstance(message, str) else message.astype("object").to_numpy()
        piece = np.where(mask.to_numpy(), msg, "")
        sep = np.where((text.str.len().to_numpy() > 0) & mask.to_numpy(), PROBLEM_SEPARATOR, "")
        text = text + pd.Series(sep, index=idx, dtype="object") + pd.Series(piece, index=idx, dtype="object")
    return text


def contracts_in_force(staged: pd.DataFrame, day: date) -> pd.DataFrame:
    """``marts.contracts_in_force`` for ``day`` from the staged snapshot rows of that day.

    ``staged`` holds ``staging.crm_contracts`` rows (the snapshot in effect for the day). Rows not in
    force on the day are dropped; every remaining row gets ``valid`` and ``problems`` (NULL when
    valid). Duplicate assets / metering points are judged among the contracts in force only.
    """
    if staged is None or len(staged) == 0:
        return CONTRACTS_IN_FORCE.empty_frame()
    rows = in_force(staged, day).reset_index(drop=True)
    problems = contract_problems(rows)
    out = rows.assign(
        delivery_day=pd.Timestamp(day),
        valid=problems.eq(""),
        problems=problems.where(problems.ne(""), None),
    )
    if "source_file" not in out.columns:
        out["source_file"] = None
    out = out.loc[:, CONTRACTS_IN_FORCE.column_names].sort_values("contract_id", kind="stable")
    return CONTRACTS_IN_FORCE.conform(out)
