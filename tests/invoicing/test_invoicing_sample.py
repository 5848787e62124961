"""The sample day 2025-06-08 end to end: daily assets, then the monthly invoicing assets for 2025-06-01."""

import shutil

import dagster as dg
import duckdb
import pypdf

from flexpower_dagster.definitions import build_definitions
from flexpower_dagster.settings import Settings

CONTRACTS = ["CON1_SOL-DE-001", "CON1_SOL-DE-002", "CON1_WND-DE-001", "CON1_WND-DE-002", "CON1_WND-DE-003"]


def materialize_month(settings: Settings, month: str = "2025-06-01"):
    defs = build_definitions(settings)
    keys = dg.AssetSelection.tag("cadence", "monthly").resolve(defs.resolve_asset_graph())
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        return job.execute_in_process(partition_key=month, asset_selection=sorted(keys), instance=instance)


def test_sample_june_invoices(sample_warehouse, tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse.warehouse, wh)
    settings = Settings(landing_dir=sample_warehouse.landing_dir, warehouse=wh, data_dir=tmp_path / "data")
    assert materialize_month(settings).success

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

    data = settings.data_dir
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
        return {p: p.read_bytes() for d in ("invoices", "outbox") for p in sorted((data / d).rglob("*")) if p.is_file()}

    before = files()
    assert len(before) == 4 * 2 + 1
    assert materialize_month(settings).success
    assert files() == before
    with duckdb.connect(str(wh), read_only=True) as conn:
        again = conn.execute("SELECT * FROM marts.invoices ORDER BY invoice_id").fetchdf().set_index("contract_id")
    assert again.equals(inv)
