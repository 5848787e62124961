"""Issue 26.3: a document stands on its own. Its PDF text (pypdf) carries every item of the content list in
docs/invoicing.md, and each line's printed quantity x unit price is its net to the cent; a draft names what the CRM
export lacks; a final document lacking a legal field is held, not sent."""

from __future__ import annotations

import io
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pypdf

from flexpower_dagster.defs.invoicing.documents import document_model, issue_documents
from flexpower_dagster.defs.invoicing.lines import compute_invoices
from flexpower_dagster.defs.invoicing.parties import NOT_IN_CRM, Issuer
from flexpower_dagster.defs.invoicing.pdf import render_pdf

from invoicing_builders import CUSTOMER, JUNE, compensation, contract, flags, forecast, infeed, month_days, trading

DAYS = month_days()
ISSUER = Issuer("FlexPower GmbH", "Beispielweg 2, 10117 Berlin, Germany", "37/123/45678", "DE987654321",
                "invoicing@flexpower.example", "DE02 1001 0010 0123 4567 89")


def _month(days, customer=None, redispatch=True):
    contracts = pd.concat([
        contract("CON1_A", "A", days=days, price_model="market", price=None, fee_model="percent_of_market", fee=None,
                 fee_percent=7.0, email="maria@example.de", customer=customer),
        contract("CON1_B", "B", days=days, capacity_mw=4.0, price=75.0, fee_model="fixed_for_capacity", fee=3.0,
                 email="tom@example.de", customer=customer),
    ], ignore_index=True)
    # awkward values: market prices that vary per QH, so the average applied needs decimals
    vwap = {(d, i): 40.0 + (i * 7.31) % 61 for d in days for i in range(96)}
    inputs = {
        "contracts": contracts,
        "infeed": pd.concat([infeed("A", days=days, mw=1.237), infeed("B", days=days, mw=3.113)]),
        "forecast": pd.concat([forecast("A", days=days), forecast("B", days=days)]),
        "trading": trading(days=days, overrides=vwap),
        "flags": flags("A", qhs=[(days[0], 40), (days[0], 41)] if redispatch else []),
        "compensation": compensation(days=days, price=61.37),
    }
    return compute_invoices(JUNE, inputs)


def pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _check_lines(model: dict, text: str) -> None:
    for line in model["lines"]:
        for cell in ("quantity", "unit_price", "net", "vat", "gross"):
            assert _flat(line[cell]) in text, (cell, line[cell])
        q, p = line["quantity_value"], line["unit_price_value"]
        product = (q * p).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert int(product * 100) == line["net_cents"], (line["description"], q, p, line["net"])
        # what is printed is what was multiplied
        assert line["quantity"].replace(",", "").startswith(str(q).rstrip("0").rstrip(".")), line["quantity"]
        assert str(p) in line["unit_price"].replace(",", "")


def test_final_document_carries_every_content_item_and_lines_multiply_out():
    lines, invoices = _month(DAYS)
    docs, _register = issue_documents(JUNE, invoices, lines, issuer=ISSUER)
    by_path = {d.path: d for d in docs}
    for inv in invoices.to_dict("records"):
        assert (inv["status"], inv["document_status"]) == ("final", "sent")
        model = document_model(inv, lines[lines["invoice_id"] == inv["invoice_id"]], ISSUER)
        text = _flat(pdf_text(by_path[f"invoices/2025-06/{inv['document_number']}.pdf"].content))
        expected = [
            # document type: self-billing credit note (payout lines) with the fee invoice
            f"Gutschrift {inv['document_number']}", "self-billing credit note", "§ 14 Abs. 2 Satz 2 UStG",
            # issuer: name, address, tax number, VAT ID
            "FlexPower GmbH", "Beispielweg 2, 10117 Berlin, Germany", "37/123/45678", "DE987654321",
            # recipient: name, address, tax number, VAT ID, e-mail
            CUSTOMER["customer_name"], CUSTOMER["customer_address"], CUSTOMER["customer_tax_number"],
            CUSTOMER["customer_vat_id"], inv["email"],
            # document number and date
            f"Document number {inv['document_number']}", "Document date 2025-07-01",
            # contract, asset, metering point
            inv["contract_id"], f"{inv['asset_id']} (metering point MP-{inv['asset_id']})",
            # service period and the days delivered
            "Service period 2025-06-01 to 2025-06-30 (30 days in force of 30)",
            "Days delivered 30 of 30 days with data: 2025-06-01..2025-06-30",
            # columns, VAT rate and amount, totals, balance
            "Quantity", "Unit price", "Net EUR", "VAT 19 %", "Gross EUR",
            f"Total net {model['net']} EUR", f"VAT 19 % {model['vat']} EUR", f"Total gross {model['gross']} EUR",
            f"Balance: {model['balance_text']}",
            # payment terms
            "payable within 14 days of the document date, i.e. by 2025-07-15",
        ]
        for item in expected:
            assert _flat(item) in text, item
        assert NOT_IN_CRM not in text and "DEMO" not in text
        _check_lines(model, text)
        units = {line["unit_price"].split(" ", 2)[-1] for line in model["lines"]}
        if inv["contract_id"] == "CON1_A":  # market-valued lines state the average price applied in EUR/MWh
            assert units == {"EUR/MWh"} and all(line["unit_price"].startswith("avg ") for line in model["lines"])
            assert "volume-weighted average price actually applied (net / quantity)" in text
            assert len(model["lines"]) == 3  # payout, fee, redispatch
        else:  # 4 MW x 3.00 EUR/MW-month = 12.00, printed as such (not 4.000000, not a per-MWh price)
            fee = model["lines"][1]
            assert (fee["quantity"], fee["unit_price"], fee["net"]) == ("4 MW-month", "3.00 EUR/MW-month", "12.00")
            assert "4.000000" not in text


def test_draft_names_the_days_delivered_and_what_the_crm_export_lacks():
    lines, invoices = _month(DAYS[:14], customer={}, redispatch=False)
    inv = invoices.set_index("contract_id").loc["CON1_B"].to_dict() | {"contract_id": "CON1_B"}
    assert inv["document_status"] == "draft"
    model = document_model(inv, lines[lines["contract_id"] == "CON1_B"], ISSUER)
    text = _flat(pdf_text(render_pdf(model, JUNE)))
    assert "Days delivered 14 of 30 days with data: 2025-06-01..2025-06-14" in text
    assert text.count(NOT_IN_CRM) == 4  # name, address, tax number, VAT ID: never a made-up value
    assert "DRAFT Gutschrift 2025-06-CON1_B" in text and "Payment terms (once sent)" in text
    _check_lines(model, text)


def test_final_document_without_customer_master_data_is_held_not_sent():
    lines, invoices = _month(DAYS, customer={})
    docs, register = issue_documents(JUNE, invoices, lines, issuer=ISSUER)
    assert set(invoices["document_status"]) == {"held"} and invoices["document_number"].isna().all()
    assert invoices["hold_reason"].str.contains("customer name, customer postal address, customer tax number or VAT ID").all()
    assert len(register) == 0 and not [d for d in docs if d.kind == "eml"]
    held = {d.path: d for d in docs}["invoices/2025-06/2025-06-CON1_A.pdf"]
    text = _flat(pdf_text(held.content))
    assert "FINAL - HELD, NOT SENT" in text and "not sent: customer name" in text and NOT_IN_CRM in text
