"""The monthly Dagster assets over stub daily assets: time-window mapping, missing days, documents, idempotence.

No `from __future__ import annotations` here: this module defines Dagster assets."""

import email
import email.policy
from datetime import date

import dagster as dg
import duckdb
import pandas as pd

from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.defs.dso.tables import DSO_REDISPATCH_COMPENSATION, DSO_REDISPATCH_FLAGS
from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST
from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED
from flexpower_dagster.defs.invoicing.assets import build_invoicing_assets
from flexpower_dagster.defs.statements.assets import customer_statements
from flexpower_dagster.defs.trading.tables import TRADING_QH
from flexpower_dagster.lib.dagster.metadata import table_metadata
from flexpower_dagster.lib.dagster.partitions import DAILY_TAGS, daily_partitions
from flexpower_dagster.lib.tables import TableSpec

from invoicing_builders import CUSTOMER, compensation, contract, flags, forecast, infeed, month_days, trading
from support import resources_for


def _full(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for c in spec.column_names:
        if c not in frame.columns:
            frame[c] = None
    return spec.conform(frame[spec.column_names])


def _stub(key: list[str], spec: TableSpec, frame: pd.DataFrame) -> dg.AssetsDefinition:
    full = _full(spec, frame)

    @dg.asset(key=key, partitions_def=daily_partitions, tags=DAILY_TAGS, metadata=table_metadata(spec))
    def _a(context: dg.AssetExecutionContext) -> pd.DataFrame:
        day = pd.Timestamp(context.partition_key)
        return full[full["delivery_day"] == day].reset_index(drop=True)

    return _a


def test_monthly_assets_over_stub_days(tmp_path):
    present = [date(2025, 6, 8), date(2025, 6, 9)]
    days = month_days()
    stubs = [
        _stub(["marts", "contracts_in_force"], CONTRACTS_IN_FORCE, pd.concat([
            contract("CON1_A", "A", days=days, price=80.0, fee=2.5),
            contract("CON1_B", "B", days=days, price=None),
        ], ignore_index=True)),
        _stub(["marts", "best_of_infeed"], BEST_OF_INFEED, pd.concat([infeed("A", days=days), infeed("B", days=days)])),
        _stub(["marts", "asset_forecast"], ASSET_FORECAST, forecast("A", days=days)),
        _stub(["marts", "trading_qh"], TRADING_QH, trading(days=days)),
        _stub(["staging", "dso_redispatch_flags"], DSO_REDISPATCH_FLAGS, flags("A", qhs=[(date(2025, 6, 8), 50)])),
        _stub(["staging", "dso_redispatch_compensation"], DSO_REDISPATCH_COMPENSATION, compensation(days=days)),
    ]
    warehouse = tmp_path / "wh.duckdb"
    data_dir = tmp_path / "data"
    for d in present:
        res = dg.materialize([*stubs], partition_key=d.isoformat(), resources=resources_for(tmp_path, warehouse, data_dir))
        assert res.success

    def run_month():
        result = dg.materialize(
            [*stubs, *build_invoicing_assets()],
            selection=dg.AssetSelection.tag("cadence", "monthly"),
            partition_key="2025-06-01",
            resources=resources_for(tmp_path, warehouse, data_dir),
        )
        assert result.success
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            inv = conn.execute("SELECT * FROM marts.invoices ORDER BY invoice_id").fetchdf()
            lines = conn.execute("SELECT * FROM marts.invoice_lines ORDER BY invoice_id, line_no").fetchdf()
            docs = conn.execute("SELECT * FROM marts.invoice_documents ORDER BY path").fetchdf()
        return inv, lines, docs

    inv, lines, docs = run_month()
    assert list(inv["invoice_id"]) == ["2025-06-CON1_A", "2025-06-CON1_B"]
    a, b = inv.iloc[0], inv.iloc[1]
    assert a["status"] == "provisional" and a["n_missing_days"] == 28
    assert a["missing_days"] == "2025-06-01..2025-06-07, 2025-06-10..2025-06-30"
    assert b["status"] == "blocked" and "price_model=fixed without price" in b["problems"]
    # A: 2 days x 96 QH x 1 MWh = 192 MWh; payout 192 * 80 = 15360.00, fee 192 * 2.5 = 480.00,
    # redispatch 1 QH x 5 MW x 0.25 h x 60 EUR/MWh = 75.00
    assert list(lines["net_cents"]) == [1536000, 48000, 7500]
    assert a["net_cents"] == 1536000 - 48000 + 7500
    # provisional: an internal draft (HTML + PDF), never e-mailed
    assert set(docs["kind"]) == {"html", "pdf", "operations"} and a["document_status"] == "draft"
    assert (data_dir / "invoices/2025-06/2025-06-CON1_A.pdf").is_file()
    assert not list((data_dir / "outbox").rglob("*.eml"))
    assert "2025-06-CON1_B" in (data_dir / "outbox/2025-06/operations.csv").read_text()

    before = {p: (data_dir / p).read_bytes() for p in docs["path"]}
    inv2, lines2, docs2 = run_month()
    pd.testing.assert_frame_equal(inv, inv2)
    pd.testing.assert_frame_equal(lines, lines2)
    assert list(docs2["sha256"]) == list(docs["sha256"])
    assert {p: (data_dir / p).read_bytes() for p in docs2["path"]} == before


def test_running_month_with_future_days_does_not_crash(tmp_path):
    """The current month's later days are not daily partitions yet: the monthly run still works."""
    this_month = pd.Timestamp.now(tz="UTC").date().replace(day=1)
    days = month_days(this_month)
    stubs = [
        _stub(["marts", "contracts_in_force"], CONTRACTS_IN_FORCE, contract("CON1_A", "A", days=days)),
        _stub(["marts", "best_of_infeed"], BEST_OF_INFEED, infeed("A", days=days)),
        _stub(["marts", "asset_forecast"], ASSET_FORECAST, forecast("A", days=days)),
        _stub(["marts", "trading_qh"], TRADING_QH, trading(days=days)),
        _stub(["staging", "dso_redispatch_flags"], DSO_REDISPATCH_FLAGS, flags("A", qhs=[])),
        _stub(["staging", "dso_redispatch_compensation"], DSO_REDISPATCH_COMPENSATION, compensation(days=days)),
    ]
    resources = resources_for(tmp_path, tmp_path / "wh.duckdb", tmp_path / "data")
    assert dg.materialize(stubs, partition_key=this_month.isoformat(), resources=resources).success
    result = dg.materialize([*stubs, *build_invoicing_assets()], selection=dg.AssetSelection.tag("cadence", "monthly"),
                            partition_key=this_month.isoformat(), resources=resources)
    assert result.success
    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as conn:
        status, missing = conn.execute("SELECT status, n_missing_days FROM marts.invoices").fetchone()
    assert status == "provisional" and missing == len(days) - 1


def test_final_month_is_sent_once_and_a_corrected_day_issues_a_cancellation_and_a_new_document(tmp_path):
    """Through Dagster and the warehouse: a contract in force on 3 days, all final -> FP-...-01 sent; a re-run
    sends nothing; a corrected day (new best-of-infeed) -> cancellation -02 and new invoice -03, register kept."""
    days = [date(2025, 6, 28), date(2025, 6, 29), date(2025, 6, 30)]
    warehouse, data_dir = tmp_path / "wh.duckdb", tmp_path / "data"
    resources = resources_for(tmp_path, warehouse, data_dir)

    def stubs(mw):
        return [
            _stub(["marts", "contracts_in_force"], CONTRACTS_IN_FORCE,
                  contract("CON1_A", "A", days=days, begin=date(2025, 6, 28), price=80.0, fee=2.5)),
            _stub(["marts", "best_of_infeed"], BEST_OF_INFEED, infeed("A", days=days, mw=mw)),
            _stub(["marts", "asset_forecast"], ASSET_FORECAST, forecast("A", days=days)),
            _stub(["marts", "trading_qh"], TRADING_QH, trading(days=days)),
            _stub(["staging", "dso_redispatch_flags"], DSO_REDISPATCH_FLAGS, flags("A", qhs=[])),
            _stub(["staging", "dso_redispatch_compensation"], DSO_REDISPATCH_COMPENSATION, compensation(days=days)),
        ]

    def run_month(mw, check_register=True):
        result = dg.materialize([*stubs(mw), *build_invoicing_assets(), customer_statements],
                                selection=dg.AssetSelection.tag("cadence", "monthly"),
                                partition_key="2025-06-01", resources=resources)
        assert result.success
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            inv = conn.execute("SELECT * FROM marts.invoices").fetchdf().iloc[0]
            register = conn.execute("SELECT * FROM marts.invoice_register ORDER BY seq").fetchdf() if check_register else None
        files = {p.relative_to(data_dir).as_posix(): p.read_bytes() for p in sorted(data_dir.rglob("*"))
                 if p.is_file() and p.parts[len(data_dir.parts)] in ("invoices", "outbox")}
        return inv, register, files

    for d in days:
        assert dg.materialize(stubs(2.0), partition_key=d.isoformat(), resources=resources).success
    # The customer master data a sent document needs (name, address, tax ids) is not in the CRM export yet: here the
    # contract table carries it, as it will once the export does (docs/invoicing.md); without it the month is held.
    inv, _register, _files = run_month(2.0, check_register=False)
    assert (inv["status"], inv["document_status"]) == ("final", "held") and pd.isna(inv["document_number"])
    assert "customer name, customer postal address, customer tax number or VAT ID missing" in inv["hold_reason"]
    with duckdb.connect(str(warehouse)) as conn:
        for column, value in CUSTOMER.items():
            conn.execute(f"ALTER TABLE marts.contracts_in_force ADD COLUMN {column} VARCHAR DEFAULT '{value}'")
    inv, register, files = run_month(2.0)
    assert (inv["status"], inv["document_status"], inv["document_number"]) == ("final", "sent", "FP-2025-06-CON1_A-01")
    assert sorted(p for p in files if p.endswith(".eml")) == ["outbox/2025-06/FP-2025-06-CON1_A-01.eml"]

    inv2, register2, files2 = run_month(2.0)  # unchanged inputs: same rows, same bytes, nothing new
    assert inv2.equals(inv) and register2.equals(register) and files2 == files

    assert dg.materialize(stubs(1.0), partition_key="2025-06-29", resources=resources).success  # corrected day
    inv3, register3, files3 = run_month(1.0)
    assert (inv3["invoice_id"], inv3["document_number"], inv3["replaces_document_number"]) == (
        "2025-06-CON1_A", "FP-2025-06-CON1_A-03", "FP-2025-06-CON1_A-01")
    assert list(register3["document_number"]) == ["FP-2025-06-CON1_A-01", "FP-2025-06-CON1_A-02", "FP-2025-06-CON1_A-03"]
    assert list(register3["kind"]) == ["invoice", "cancellation", "invoice"]
    assert register3.iloc[1]["net_cents"] == -register3.iloc[0]["net_cents"]
    assert sorted(p for p in files3 if p.endswith(".eml")) == [
        f"outbox/2025-06/FP-2025-06-CON1_A-0{i}.eml" for i in (1, 2, 3)]
    assert all(files3[p] == c for p, c in files.items() if "FP-" in p)  # what was sent is untouched
    # an invoice e-mail attaches the customer's statement of the month, a cancellation only itself
    attached = {p: [part.get_filename() for part in email.message_from_bytes(files3[p], policy=email.policy.SMTP).iter_attachments()]
                for p in files3 if p.endswith(".eml")}
    assert attached == {"outbox/2025-06/FP-2025-06-CON1_A-01.eml": ["FP-2025-06-CON1_A-01.pdf", "statement-2025-06.pdf"],
                        "outbox/2025-06/FP-2025-06-CON1_A-02.eml": ["FP-2025-06-CON1_A-02.pdf"],
                        "outbox/2025-06/FP-2025-06-CON1_A-03.eml": ["FP-2025-06-CON1_A-03.pdf", "statement-2025-06.pdf"]}
