"""Who issues and who receives an invoice document, and what a document must name to be sent (pure, no Dagster).

* The issuer is FlexPower: its legal name, postal address, tax number, VAT ID, e-mail and bank account come from
  the settings (``FLEXPOWER_ISSUER_*``; the defaults are demo values marked DEMO).
* The customer (the asset owner) comes from the contract data: the CRM export carries only the e-mail address.
  Its legal name, postal address, tax number and VAT ID are read from the optional contract columns
  :data:`CUSTOMER_FIELDS` of ``marts.contracts_in_force`` as soon as the CRM export delivers them; until then a
  draft prints :data:`NOT_IN_CRM` and a final document is held (not sent), naming the fields (docs/invoicing.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from flexpower_dagster import settings
from flexpower_dagster.settings import Settings

#: Customer master data a document needs and the CRM export lacks today (optional contract columns).
CUSTOMER_FIELDS = ("customer_name", "customer_address", "customer_tax_number", "customer_vat_id")
NOT_IN_CRM = "[not in CRM export]"


@dataclass(frozen=True)
class Issuer:
    name: str
    address: str
    tax_number: str
    vat_id: str
    email: str
    iban: str

    @classmethod
    def from_settings(cls, s: Settings) -> Issuer:
        return cls(s.issuer_name, s.issuer_address, s.issuer_tax_number, s.issuer_vat_id, s.issuer_email, s.issuer_iban)


#: The settings' defaults: demo values, each marked DEMO (tests and the demo).
DEMO_ISSUER = Issuer(settings.DEFAULT_ISSUER_NAME, settings.DEFAULT_ISSUER_ADDRESS, settings.DEFAULT_ISSUER_TAX_NUMBER,
                     settings.DEFAULT_ISSUER_VAT_ID, settings.DEFAULT_ISSUER_EMAIL, settings.DEFAULT_ISSUER_IBAN)


def text(value) -> str | None:
    """A non-empty stripped string, else None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    value = str(value).strip()
    return value or None


def missing_legal_fields(invoice: Mapping) -> list[str]:
    """What a document sent to the customer must name (§ 14 Abs. 4 UStG) but the invoice row lacks."""
    missing = []
    if not text(invoice.get("customer_name")):
        missing.append("customer name")
    if not text(invoice.get("customer_address")):
        missing.append("customer postal address")
    if not (text(invoice.get("customer_tax_number")) or text(invoice.get("customer_vat_id"))):
        missing.append("customer tax number or VAT ID")
    return missing


def hold_reason(invoice: Mapping) -> str | None:
    missing = missing_legal_fields(invoice)
    if not missing:
        return None
    return (f"not sent: {', '.join(missing)} missing (not in CRM export; required on the credit note/invoice by "
            "§ 14 Abs. 4 UStG): add them to the contract data in the CRM, then re-run the month")


def _newest(frame: pd.DataFrame, month: date) -> pd.DataFrame:
    cols = [c for c in CUSTOMER_FIELDS if c in frame.columns]
    if not cols or not len(frame):
        return pd.DataFrame(columns=["contract_id", *CUSTOMER_FIELDS])
    start = pd.Timestamp(month.replace(day=1))
    end = start + pd.offsets.MonthBegin(1)
    days = pd.to_datetime(frame["delivery_day"])
    f = frame[(days >= start) & (days < end)].assign(_day=days).sort_values("_day")
    out = f.groupby("contract_id", as_index=False).last()[["contract_id", *cols]]
    for c in CUSTOMER_FIELDS:
        if c not in out.columns:
            out[c] = None
    return out


def customer_parties_of(month: date, contracts: pd.DataFrame | None) -> pd.DataFrame:
    """Per contract, the customer fields of its newest row of the month (columns absent: none)."""
    return _newest(contracts if contracts is not None else pd.DataFrame(), month)


def customer_parties(conn: duckdb.DuckDBPyConnection, month: date) -> pd.DataFrame:
    """:func:`customer_parties_of` over ``marts.contracts_in_force`` in the warehouse: the columns it has."""
    have = {r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
        "AND table_name = 'contracts_in_force'").fetchall()}
    cols = [c for c in CUSTOMER_FIELDS if c in have]
    if not cols:
        return _newest(pd.DataFrame(), month)
    start = month.replace(day=1)
    end = (pd.Timestamp(start) + pd.offsets.MonthBegin(1)).date()
    frame = conn.execute(
        f"SELECT delivery_day, contract_id, {', '.join(cols)} FROM marts.contracts_in_force "
        "WHERE delivery_day >= ? AND delivery_day < ?", [start, end]).fetchdf()
    return _newest(frame, month)
