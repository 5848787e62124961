"""The sample day 2025-06-08 end to end: daily assets, then the monthly invoicing assets for 2025-06-01."""

import duckdb
import pypdf

from support import SAMPLE_MONTH, materialize_month

CONTRACTS = ["CON1_SOL-DE-001", "CON1_SOL-DE-002", "CON1_WND-DE-001", "CON1_WND-DE-002", "CON1_WND-DE-003"]


def test_sample_june_invoices(sample_month, tmp_path):
    assert sample_month.result.success  # the month's run over the session's sample day (tests/conftest.py)
    wh, data = sample_month.settings.warehouse, sample_month.settings.data_dir

    with duckdb.connect(str(wh), read_only=True) as conn:
        inv = conn.execute("SELECT * FROM marts.invoices ORDER BY invoice_id").fetchdf().set_index("contract_id")
        lines = conn.execute("SELECT * FROM marts.invoice_lines ORDER BY invoice_id, line_no").fetchdf()
    assert list(inv.index) == CONTRACTS
    assert list(inv["invoice_id"]) == [f"2025-06-{c}" for c in CONTRACTS]
    blocked = inv.loc["CON1_WND-DE-003"]
    assert blocked["status"] == "blocked"
    assert "without price" in blocked["problems"] and "without fee" in blocked["problems"]
    others = inv.drop(index="CON1_WND-DE-003")
    assert (others["status"] == "provisional").all()
    assert (others["n_missing_days"] == 29).all()
    assert (others["missing_days"] == "2025-06-01..2025-06-07, 2025-06-09..2025-06-30").all()
    assert (others["gross_cents"] == others["net_cents"] + others["vat_cents"]).all()
    assert set(lines["invoice_id"]) == set(others["invoice_id"])

    # Provisional invoices are internal drafts for finance: no customer e-mail, no document number.
    assert not list((data / "outbox").rglob("*.eml"))
    assert (others["document_status"] == "draft").all() and others["document_number"].isna().all()
    assert others["eml_path"].isna().all()
    assert "2025-06-CON1_WND-DE-003" in (data / "outbox/2025-06/operations.csv").read_text()
    for c, row in others.iterrows():
        assert row["pdf_path"] == f"invoices/2025-06/2025-06-{c}.pdf"
        text = "\n".join(p.extract_text() for p in pypdf.PdfReader(data / row["pdf_path"]).pages)
        assert f"Total gross {abs(row['gross_cents']) / 100:,.2f} EUR" in text and "DRAFT, NOT SENT" in text

    # Re-running the month rewrites the same rows and the same bytes.
    def files():  # only our folders: data/ also holds other assets' per-run output (e.g. gx/)
        return {p.relative_to(data): p.read_bytes() for d in ("invoices", "outbox") for p in sorted((data / d).rglob("*"))
                if p.is_file()}

    before = files()
    assert len(before) == 4 * 2 + 1
    settings = sample_month.copy(tmp_path, data=True)  # the re-run writes: on a copy of the warehouse and data dir
    wh, data = settings.warehouse, settings.data_dir
    assert files() == before
    assert materialize_month(settings, SAMPLE_MONTH).success
    assert files() == before
    with duckdb.connect(str(wh), read_only=True) as conn:
        again = conn.execute("SELECT * FROM marts.invoices ORDER BY invoice_id").fetchdf().set_index("contract_id")
    assert again.equals(inv)
