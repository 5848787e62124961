"""The warehouse snapshot the site is built from (pure helpers, no Evidence, no browser)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from flexpower_dagster.defs.imbalance.tables import IMBALANCE
from flexpower_dagster.defs.reporting.site import (
    OPTIONAL_TABLES,
    REPORT_TABLES,
    check_build,
    collect_invoice_docs,
    query_pages,
    snapshot_warehouse,
)
from flexpower_dagster.settings import PROJECT_ROOT

import fake_warehouse


@pytest.fixture
def fake(tmp_path) -> Path:
    return fake_warehouse.build(tmp_path / "fake.duckdb")


def test_missing_optional_tables_become_typed_placeholders(fake, tmp_path):
    snap = snapshot_warehouse(fake, tmp_path / "snap.duckdb")
    assert set(snap.missing) == set(OPTIONAL_TABLES)
    assert snap.days == ["2025-06-07", "2025-06-08", "2025-06-09"]
    with duckdb.connect(str(snap.path), read_only=True) as conn:
        # every table the pages read exists, with the contract's columns
        for qualified, columns in REPORT_TABLES.items():
            have = [r[0] for r in conn.execute(f"DESCRIBE {qualified}").fetchall()]
            assert set(columns) <= set(have), qualified
        # empty report tables hold one placeholder row with typed values (Evidence cannot write 0 rows)
        row = conn.execute("SELECT invoice_month, status, is_placeholder FROM report.invoices").fetchall()
        assert len(row) == 1 and row[0][2] is True and row[0][0] is not None
        present = dict(conn.execute("SELECT table_name, present FROM report.tables").fetchall())
        assert present["marts.invoices"] is False and present["marts.trading_daily"] is True
        # the margin is its parts
        bad = conn.execute(
            "SELECT count(*) FROM report.portfolio_day WHERE NOT is_placeholder AND abs(margin_eur - "
            "(revenue_eur - payout_eur_est + fee_eur_est - imbalance_cost_eur)) > 1e-6"
        ).fetchone()[0]
        assert bad == 0


def test_missing_column_is_null_and_reported(fake, tmp_path):
    # the fake warehouse holds the warehouse-contract columns only: the declared extras are reported too
    before = snapshot_warehouse(fake, tmp_path / "before.duckdb").missing_columns.get("marts.imbalance", [])
    assert "price_source" not in before
    with duckdb.connect(str(fake)) as conn:
        conn.execute("ALTER TABLE marts.imbalance DROP COLUMN price_source")
    snap = snapshot_warehouse(fake, tmp_path / "snap.duckdb")
    order = [c.name for c in IMBALANCE.columns]
    assert snap.missing_columns["marts.imbalance"] == sorted([*before, "price_source"], key=order.index)
    with duckdb.connect(str(snap.path), read_only=True) as conn:
        assert conn.execute("SELECT count(price_source) FROM marts.imbalance").fetchone()[0] == 0


def test_berlin_time_follows_daylight_saving(tmp_path):
    wh = tmp_path / "wh.duckdb"
    with duckdb.connect(str(wh)) as conn:
        conn.execute("CREATE SCHEMA marts")
        conn.execute(
            "CREATE TABLE marts.trading_daily AS SELECT * FROM (VALUES (DATE '2025-01-15'), (DATE '2025-07-15')) t(delivery_day)"
        )
    snap = snapshot_warehouse(wh, tmp_path / "snap.duckdb")
    with duckdb.connect(str(snap.path), read_only=True) as conn:
        rows = dict(conn.execute(
            "SELECT strftime(delivery_start, '%Y-%m-%d %H:%M'), strftime(delivery_start_local, '%Y-%m-%d %H:%M') "
            "FROM report.qh_time WHERE delivery_start IN ('2025-01-15 00:00', '2025-07-15 23:45')").fetchall())
    assert rows == {"2025-01-15 00:00": "2025-01-15 01:00", "2025-07-15 23:45": "2025-07-16 01:45"}


def test_snapshot_waits_while_another_process_writes(fake, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(fake)!r}); print('locked', flush=True); time.sleep(3); c.close()"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        snap = snapshot_warehouse(fake, tmp_path / "snap.duckdb")
        assert snap.rows["marts.trading_daily"] == 3
        assert time.monotonic() - started > 0.5  # it waited for the writer instead of failing
    finally:
        holder.wait(timeout=30)


def test_invoice_pdfs_are_linked_by_month_and_id(fake, tmp_path):
    with duckdb.connect(str(fake)) as conn:
        conn.execute(
            "CREATE TABLE marts.invoices AS SELECT DATE '2025-06-01' AS invoice_month, '2025-06_C-1' AS invoice_id, "
            "'C-1' AS contract_id, 'PV-DE-001' AS asset_id, 'a@x.de' AS email, 100.0 AS net_eur, 19.0 AS vat_eur, "
            "119.0 AS gross_eur, 'final' AS status, NULL AS problems"
        )
    docs_dir = tmp_path / "invoices" / "2025-06"
    docs_dir.mkdir(parents=True)
    (docs_dir / "invoice_2025-06_C-1.pdf").write_bytes(b"%PDF-1.4")
    docs = collect_invoice_docs(tmp_path / "invoices", tmp_path / "static" / "invoices")
    assert (tmp_path / "static" / "invoices" / "2025-06" / "invoice_2025-06_C-1.pdf").exists()
    snap = snapshot_warehouse(fake, tmp_path / "snap.duckdb", invoice_docs=docs)
    assert "marts.invoices" not in snap.missing
    with duckdb.connect(str(snap.path), read_only=True) as conn:
        assert conn.execute("SELECT pdf_url FROM report.invoices").fetchone()[0] == "/invoices/2025-06/invoice_2025-06_C-1.pdf"


def test_query_names_are_unique_across_pages():
    """The build check names the page of a failing query by its name: names must be unique."""
    shared = {q: pages for q, pages in query_pages(PROJECT_ROOT / "reports" / "pages").items() if len(pages) > 1}
    assert shared == {}


def test_check_build_needs_a_site(tmp_path):
    errors = check_build(None, tmp_path / "build")
    assert [e.page for e in errors] == ["(build)"]
