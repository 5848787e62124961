"""Which customer document is current for each invoice, and which new ones a run must send (pure, no Dagster).

Only settled invoices reach a customer: a ``final`` invoice is sent as a document with its own number, a
``provisional`` one is an internal draft (never in the outbox), a ``blocked`` one has no document.

A sent document is immutable. ``marts.invoice_register`` holds every document ever sent (append-only, carried
forward on every run). When the figures of a final invoice differ from those of its current sent document
(``figures_sha256``), the run sends a cancellation of that document (negated amounts, referring to it) and a
new invoice document; with unchanged figures nothing new is sent. A final document that lacks a legally required
field (customer name, postal address, tax number or VAT ID: :mod:`.parties`) is not sent: ``held`` with
``hold_reason`` (an internal copy without number when nothing was sent yet; else the sent document stands). Numbers: ``FP-<YYYY-MM>-<contract_id>-<seq>``,
``seq`` = 01, 02, ... per invoice over its invoices and cancellations (see docs/invoicing.md).
"""

from __future__ import annotations

import hashlib
import json

import duckdb
import pandas as pd

from flexpower_dagster.defs.invoicing.parties import hold_reason
from flexpower_dagster.defs.invoicing.tables import INVOICE_REGISTER
from flexpower_dagster.lib.warehouse import table_exists

DRAFT, SENT, HELD = "draft", "sent", "held"
INVOICE, CANCELLATION = "invoice", "cancellation"

#: What the customer sees, and so what decides whether a sent document still holds (wording and layout do not).
_INVOICE_FIGURES = ("invoice_id", "contract_id", "asset_id", "metering_point_id", "email", "period_start", "period_end",
                    "volume_mwh", "net_cents", "vat_cents", "gross_cents")
_LINE_FIGURES = ("line_type", "direction", "quantity", "quantity_unit", "unit_price", "unit_price_unit", "net_cents",
                 "vat_cents", "gross_cents")


def document_number(invoice_month, contract_id: str, seq: int) -> str:
    return f"FP-{pd.Timestamp(invoice_month):%Y-%m}-{contract_id}-{seq:02d}"


def document_paths(invoice_month, name: str, sent: bool) -> dict[str, str | None]:
    """Files of a document named ``name`` (a document number, or the invoice id for a draft)."""
    month = f"{pd.Timestamp(invoice_month):%Y-%m}"
    return {
        "html_path": f"invoices/{month}/{name}.html",
        "pdf_path": f"invoices/{month}/{name}.pdf",
        "eml_path": f"outbox/{month}/{name}.eml" if sent else None,
    }


def _plain(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


def figures_sha256(invoice: dict, lines: pd.DataFrame) -> str:
    """SHA-256 of an invoice's figures: customer, period, totals and every line's quantity, price and amounts."""
    data = {
        "invoice": [_plain(invoice[c]) for c in _INVOICE_FIGURES],
        "lines": [[_plain(r[c]) for c in _LINE_FIGURES] for r in lines.sort_values("line_no").to_dict("records")],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def read_register(conn: duckdb.DuckDBPyConnection, month) -> pd.DataFrame:
    """The month's register rows (empty before the first document is sent)."""
    if not table_exists(conn, INVOICE_REGISTER.qualified_name):
        return INVOICE_REGISTER.empty_frame()
    cols = ", ".join(f'"{c}"' for c in INVOICE_REGISTER.column_names)
    frame = conn.execute(
        f"SELECT {cols} FROM {INVOICE_REGISTER.qualified_name} WHERE invoice_month = ? ORDER BY invoice_id, seq",
        [pd.Timestamp(month).date()],
    ).fetchdf()
    return INVOICE_REGISTER.conform(frame) if len(frame) else INVOICE_REGISTER.empty_frame()


def current_documents(register: pd.DataFrame) -> dict[str, dict]:
    """Per invoice id, its current sent invoice document: the newest ``invoice`` row no cancellation refers to."""
    if register is None or not len(register):
        return {}
    cancelled = set(register.loc[register["kind"] == CANCELLATION, "refers_to"].dropna())
    live = register[(register["kind"] == INVOICE) & ~register["document_number"].isin(cancelled)]
    return {r["invoice_id"]: r for r in live.sort_values("seq").to_dict("records")}


def last_seq(register: pd.DataFrame) -> dict[str, int]:
    if register is None or not len(register):
        return {}
    return {k: int(v) for k, v in register.groupby("invoice_id")["seq"].max().items()}


def assign_documents(invoices: pd.DataFrame, lines: pd.DataFrame, register: pd.DataFrame | None) -> pd.DataFrame:
    """``invoices`` with ``document_number``, ``document_status``, ``replaces_document_number`` and the paths of
    the current document set from the register (see the module docstring). Deterministic: the same invoices and
    register give the same columns, before and after the documents step has sent the planned documents."""
    current, seqs = current_documents(register), last_seq(register)
    out = invoices.copy()
    rows = []
    for inv in out.to_dict("records"):
        cur = current.get(inv["invoice_id"])
        doc = {"document_number": None, "document_status": None, "replaces_document_number": None,
               "html_path": None, "pdf_path": None, "eml_path": None, "hold_reason": None}
        held = hold_reason(inv) if inv["status"] == "final" else None
        if inv["status"] == "final":
            fp = figures_sha256(inv, lines[lines["invoice_id"] == inv["invoice_id"]])
            if cur is not None and cur["figures_sha256"] == fp:
                number, replaces = cur["document_number"], cur["refers_to"]
            elif held and cur is not None:  # the correction cannot be sent: the sent document stands
                doc.update(document_number=cur["document_number"], document_status=HELD,
                           replaces_document_number=cur["refers_to"], html_path=cur["html_path"],
                           pdf_path=cur["pdf_path"], eml_path=cur["eml_path"], hold_reason=held)
                rows.append(doc)
                continue
            elif held:  # nothing sent yet: an internal copy for finance (like a draft), no number, no e-mail
                doc.update(document_status=HELD, hold_reason=held,
                           **document_paths(inv["invoice_month"], inv["invoice_id"], sent=False))
                rows.append(doc)
                continue
            else:
                seq = seqs.get(inv["invoice_id"], 0) + (2 if cur is not None else 1)  # a cancellation goes first
                number = document_number(inv["invoice_month"], inv["contract_id"], seq)
                replaces = cur["document_number"] if cur is not None else None
            doc.update(document_number=number, document_status=SENT, replaces_document_number=replaces,
                       **document_paths(inv["invoice_month"], number, sent=True))
        elif cur is not None:  # sent before, not final now: the sent document stands, nothing new goes out
            doc.update(document_number=cur["document_number"], document_status=HELD,
                       replaces_document_number=cur["refers_to"],
                       html_path=cur["html_path"], pdf_path=cur["pdf_path"], eml_path=cur["eml_path"])
        elif inv["status"] == "provisional":
            doc.update(document_status=DRAFT, **document_paths(inv["invoice_month"], inv["invoice_id"], sent=False))
        rows.append(doc)
    for col in ("document_number", "document_status", "replaces_document_number", "html_path", "pdf_path", "eml_path",
                "hold_reason"):
        out[col] = [r[col] for r in rows]
    return out
