"""Invoice documents: the PDF opens and shows the totals, the .eml carries the PDF, everything is byte-stable.
Only a final invoice is e-mailed; a provisional one is an internal draft (test_invoicing_register.py: numbers,
corrections)."""

from __future__ import annotations

import email
import io
from email import policy

import pandas as pd
import pypdf

from flexpower_dagster.defs.invoicing.documents import month_documents, write_documents
from flexpower_dagster.defs.invoicing.lines import compute_invoices

from invoicing_builders import JUNE, compensation, contract, flags, forecast, infeed, month_days, trading

DAYS = month_days()


def month(final: bool = False):
    days = DAYS if final else DAYS[:5]
    contracts = pd.concat([
        contract("CON1_A", "A", days=days, price=80.0, fee=2.5, email="maria@example.de"),
        contract("CON1_B", "B", days=days, price=None, valid=False, problems="price_model 'fixed' without price"),
    ], ignore_index=True)
    inputs = {
        "contracts": contracts,
        "infeed": pd.concat([infeed("A", days=days, mw=2.0), infeed("B", days=days, mw=1.0)]),
        "forecast": forecast("A", days=days),
        "trading": trading(days=days),
        "flags": flags("A", qhs=[]),
        "compensation": compensation(days=days),
    }
    return compute_invoices(JUNE, inputs)


def docs_by_path(final: bool = False):
    lines, invoices = month(final)
    return {d.path: d for d in month_documents(JUNE, invoices, lines)}, invoices


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(p.extract_text() for p in reader.pages)


def test_files_per_invoice_and_operations_list():
    docs, invoices = docs_by_path()
    # provisional: an internal draft for finance, never in the customer outbox
    assert invoices.set_index("contract_id").loc["CON1_A", "document_status"] == "draft"
    assert sorted(docs) == [
        "invoices/2025-06/2025-06-CON1_A.html",
        "invoices/2025-06/2025-06-CON1_A.pdf",
        "outbox/2025-06/operations.csv",
    ]
    final_docs, _ = docs_by_path(final=True)
    assert sorted(final_docs) == [
        "invoices/2025-06/FP-2025-06-CON1_A-01.html",
        "invoices/2025-06/FP-2025-06-CON1_A-01.pdf",
        "outbox/2025-06/FP-2025-06-CON1_A-01.eml",
        "outbox/2025-06/operations.csv",
    ]
    ops = docs["outbox/2025-06/operations.csv"].content.decode()
    assert ops.splitlines()[0] == "invoice_id,contract_id,asset_id,email,status,action,problems"
    assert "2025-06-CON1_B" in ops and "price_model 'fixed' without price" in ops


def test_draft_pdf_opens_and_shows_customer_period_lines_totals_and_the_draft_mark():
    docs, invoices = docs_by_path()
    inv = invoices.set_index("contract_id").loc["CON1_A"]
    # 5 days x 96 QH x 0.5 MWh = 240 MWh; payout 240 x 80 = 19,200.00 (VAT 3,648.00), fee 240 x 2.5 = 600.00 (114.00)
    assert (inv["net_cents"], inv["vat_cents"], inv["gross_cents"]) == (1_860_000, 353_400, 2_213_400)
    text = pdf_text(docs["invoices/2025-06/2025-06-CON1_A.pdf"].content)
    for expected in ("Invoice 2025-06-CON1_A", "maria@example.de", "2025-06-01 to 2025-06-30", "Asset A",
                     "19,200.00", "600.00", "Total net 18,600.00 EUR", "VAT 19 % 3,534.00 EUR",
                     "Total gross 22,134.00 EUR", "DRAFT", "PROVISIONAL - DRAFT, NOT SENT", "not sent to the customer"):
        assert expected in text, expected
    html = docs["invoices/2025-06/2025-06-CON1_A.html"].content.decode()
    assert 'class="watermark">DRAFT' in html and "22,134.00" in html and "maria@example.de" in html
    assert "none: internal draft, not sent" in html


def test_final_invoice_has_no_watermark_and_its_document_number():
    docs, invoices = docs_by_path(final=True)
    inv = invoices.set_index("contract_id").loc["CON1_A"]
    assert (inv["status"], inv["document_status"], inv["document_number"]) == ("final", "sent", "FP-2025-06-CON1_A-01")
    text = pdf_text(docs["invoices/2025-06/FP-2025-06-CON1_A-01.pdf"].content)
    assert "PROVISIONAL" not in text and "DRAFT" not in text and "Gutschrift FP-2025-06-CON1_A-01" in text
    assert "watermark\">" not in docs["invoices/2025-06/FP-2025-06-CON1_A-01.html"].content.decode()


def test_eml_parses_and_carries_the_pdf():
    docs, invoices = docs_by_path(final=True)
    inv = invoices.set_index("contract_id").loc["CON1_A"]
    msg = email.message_from_bytes(docs["outbox/2025-06/FP-2025-06-CON1_A-01.eml"].content, policy=policy.default)
    assert msg["To"] == "maria@example.de"
    assert msg["Subject"] == "Gutschrift FP-2025-06-CON1_A-01"
    assert msg["X-FlexPower-Invoice-Status"] == "final" and msg["X-FlexPower-Document"] == "FP-2025-06-CON1_A-01"
    assert msg["Date"] == "Tue, 01 Jul 2025 00:00:00 +0000"
    assert str(msg["Message-ID"]).strip().startswith("<FP-2025-06-CON1_A-01.")  # long: folded, as RFC 5322 allows
    attachments = list(msg.iter_attachments())
    assert len(attachments) == 1 and attachments[0].get_filename() == "FP-2025-06-CON1_A-01.pdf"
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_content() == docs["invoices/2025-06/FP-2025-06-CON1_A-01.pdf"].content
    assert f"Total net {inv['net_cents'] / 100:,.2f} EUR" in msg.get_body(preferencelist=("plain",)).get_content()


def test_deterministic_bytes_and_idempotent_writes(tmp_path):
    first, _ = docs_by_path()
    second, _ = docs_by_path()
    assert {p: d.content for p, d in first.items()} == {p: d.content for p, d in second.items()}

    lines, invoices = month()
    m1 = write_documents(tmp_path, JUNE, month_documents(JUNE, invoices, lines))
    snapshot = {p: (tmp_path / p).read_bytes() for p in m1["path"]}
    m2 = write_documents(tmp_path, JUNE, month_documents(JUNE, invoices, lines))
    pd.testing.assert_frame_equal(m1, m2)
    assert {p: (tmp_path / p).read_bytes() for p in m2["path"]} == snapshot


def test_stale_drafts_are_removed_when_an_invoice_becomes_blocked(tmp_path):
    lines, invoices = month()
    write_documents(tmp_path, JUNE, month_documents(JUNE, invoices, lines))
    assert (tmp_path / "invoices/2025-06/2025-06-CON1_A.pdf").exists()
    assert not list((tmp_path / "outbox").rglob("*.eml"))  # a draft is never e-mailed
    blocked = invoices.copy()
    blocked.loc[blocked["contract_id"] == "CON1_A", "status"] = "blocked"
    write_documents(tmp_path, JUNE, month_documents(JUNE, blocked, lines))
    assert not (tmp_path / "invoices/2025-06/2025-06-CON1_A.pdf").exists()
    assert "2025-06-CON1_A" in (tmp_path / "outbox/2025-06/operations.csv").read_text()
