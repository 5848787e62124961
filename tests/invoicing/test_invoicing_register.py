"""Only settled invoices reach a customer, and a sent document is immutable (hand-made warehouse rows).

final -> sent (number FP-2025-06-CON1_A-01, e-mail in the outbox); unchanged inputs -> nothing new, same bytes;
changed inputs (a corrected DSO file) -> a cancellation of -01 with negated amounts (-02) and a new invoice (-03),
both e-mailed, the old files untouched; a final invoice that is no longer final -> held, nothing sent."""

from __future__ import annotations

import email
from email import policy

import pandas as pd

from flexpower_dagster.defs.invoicing.documents import issue_documents, write_documents
from flexpower_dagster.defs.invoicing.lines import compute_invoices

from invoicing_builders import JUNE, compensation, contract, flags, forecast, infeed, month_days, trading

DAYS = month_days()


def invoices_of(mw: float, register=None, days=DAYS):
    inputs = {
        "contracts": contract("CON1_A", "A", days=days, price=80.0, fee=2.5, email="maria@example.de"),
        "infeed": infeed("A", days=days, mw=mw),
        "forecast": forecast("A", days=days),
        "trading": trading(days=days),
        "flags": flags("A", qhs=[]),
        "compensation": compensation(days=days),
    }
    return compute_invoices(JUNE, inputs, register)


def run(tmp_path, mw: float, register=None, days=DAYS):
    """One month run: invoices against the register, then the documents step; returns (invoice, register)."""
    lines, invoices = invoices_of(mw, register, days)
    docs, new_register = issue_documents(JUNE, invoices, lines, register)
    write_documents(tmp_path, JUNE, docs)
    return invoices.iloc[0], new_register


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def message(root, name):
    return email.message_from_bytes((root / "outbox/2025-06" / f"{name}.eml").read_bytes(), policy=policy.default)


def test_final_invoice_is_sent_once_and_a_rerun_sends_nothing(tmp_path):
    inv, register = run(tmp_path, mw=2.0)
    assert (inv["status"], inv["document_status"], inv["document_number"]) == ("final", "sent", "FP-2025-06-CON1_A-01")
    assert inv["eml_path"] == "outbox/2025-06/FP-2025-06-CON1_A-01.eml" and pd.isna(inv["replaces_document_number"])
    assert list(register["document_number"]) == ["FP-2025-06-CON1_A-01"] and list(register["kind"]) == ["invoice"]
    assert int(register.iloc[0]["net_cents"]) == int(inv["net_cents"])
    assert sorted(p.name for p in (tmp_path / "outbox/2025-06").glob("*.eml")) == ["FP-2025-06-CON1_A-01.eml"]
    before = files(tmp_path)

    inv2, register2 = run(tmp_path, mw=2.0, register=register)
    assert inv2.equals(inv)
    pd.testing.assert_frame_equal(register2, register)
    assert files(tmp_path) == before


def test_changed_inputs_cancel_the_sent_document_and_send_a_new_one(tmp_path):
    first, register = run(tmp_path, mw=2.0)
    sent = files(tmp_path)

    inv, register2 = run(tmp_path, mw=1.5, register=register)  # e.g. a corrected DSO file: less infeed
    assert (inv["status"], inv["document_status"]) == ("final", "sent")
    assert inv["invoice_id"] == first["invoice_id"] == "2025-06-CON1_A"  # the invoice keeps its id
    assert (inv["document_number"], inv["replaces_document_number"]) == ("FP-2025-06-CON1_A-03", "FP-2025-06-CON1_A-01")
    assert inv["net_cents"] != first["net_cents"]
    assert list(zip(register2["document_number"], register2["kind"], register2["refers_to"].fillna(""), strict=True)) == [
        ("FP-2025-06-CON1_A-01", "invoice", ""),
        ("FP-2025-06-CON1_A-02", "cancellation", "FP-2025-06-CON1_A-01"),
        ("FP-2025-06-CON1_A-03", "invoice", "FP-2025-06-CON1_A-01"),
    ]
    cancel = register2.set_index("document_number").loc["FP-2025-06-CON1_A-02"]
    assert [int(cancel[c]) for c in ("net_cents", "vat_cents", "gross_cents")] == [
        -int(first["net_cents"]), -int(first["vat_cents"]), -int(first["gross_cents"])]

    # the sent document is untouched, both new documents are in the outbox
    now = files(tmp_path)
    assert all(now[p] == content for p, content in sent.items() if not p.endswith("operations.csv"))
    assert sorted(p.name for p in (tmp_path / "outbox/2025-06").glob("*.eml")) == [
        "FP-2025-06-CON1_A-01.eml", "FP-2025-06-CON1_A-02.eml", "FP-2025-06-CON1_A-03.eml"]
    storno = message(tmp_path, "FP-2025-06-CON1_A-02")
    assert storno["Subject"] == "Cancellation FP-2025-06-CON1_A-02" and storno["To"] == "maria@example.de"
    body = storno.get_body(preferencelist=("plain",)).get_content()
    assert f"Total net -{int(first['net_cents']) / 100:,.2f} EUR" in body and "FP-2025-06-CON1_A-01" in body
    new = message(tmp_path, "FP-2025-06-CON1_A-03")
    assert new["Subject"] == "Gutschrift FP-2025-06-CON1_A-03"
    assert f"Total net {int(inv['net_cents']) / 100:,.2f} EUR" in new.get_body(preferencelist=("plain",)).get_content()
    html = (tmp_path / "invoices/2025-06/FP-2025-06-CON1_A-03.html").read_text()
    assert "Replaces" in html and "FP-2025-06-CON1_A-01 (cancelled)" in html

    # unchanged inputs again: nothing new
    inv3, register3 = run(tmp_path, mw=1.5, register=register2)
    assert inv3.equals(inv)
    pd.testing.assert_frame_equal(register3, register2)
    assert files(tmp_path) == now


def test_sent_invoice_that_is_no_longer_final_is_held_and_nothing_is_sent(tmp_path):
    _first, register = run(tmp_path, mw=2.0)
    sent = files(tmp_path)
    inv, register2 = run(tmp_path, mw=2.0, register=register, days=DAYS[:20])  # 10 days lost: provisional now
    assert (inv["status"], inv["document_status"], inv["document_number"]) == ("provisional", "held", "FP-2025-06-CON1_A-01")
    pd.testing.assert_frame_equal(register2, register)
    now = files(tmp_path)
    assert {p: c for p, c in now.items() if p.endswith(".eml")} == {p: c for p, c in sent.items() if p.endswith(".eml")}
    assert not (tmp_path / "invoices/2025-06/2025-06-CON1_A.pdf").exists()  # no draft beside a sent document


def test_a_provisional_invoice_is_a_draft_never_in_the_outbox(tmp_path):
    inv, register = run(tmp_path, mw=2.0, days=DAYS[:5])
    assert (inv["status"], inv["document_status"]) == ("provisional", "draft")
    assert pd.isna(inv["document_number"]) and pd.isna(inv["eml_path"]) and len(register) == 0
    assert not list((tmp_path / "outbox").rglob("*.eml"))
    assert (tmp_path / inv["pdf_path"]).is_file() and inv["pdf_path"] == "invoices/2025-06/2025-06-CON1_A.pdf"
