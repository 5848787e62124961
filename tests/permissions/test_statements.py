"""Customer statements (issue 25, step 3): the slug, the scoped rows (equal to the customer's snapshot), the leak test
over every statement file (HTML and PDF text) and over every outbox e-mail (to its own contract's address, only its
own attachments): two contracts of one customer, and two customers.

No `from __future__ import annotations` here: this module defines Dagster assets."""

import email
import email.policy
import io
import re
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from permissions_support import MARIA, SECOND_CONTRACT
from pypdf import PdfReader

from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.defs.dso.tables import DSO_REDISPATCH_COMPENSATION, DSO_REDISPATCH_FLAGS
from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST
from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED
from flexpower_dagster.defs.invoicing.assets import build_invoicing_assets
from flexpower_dagster.defs.invoicing.parties import DEMO_ISSUER
from flexpower_dagster.defs.permissions.snapshot import write_audience_snapshot
from flexpower_dagster.defs.statements.assets import customer_statements
from flexpower_dagster.defs.statements.data import read_customer_months
from flexpower_dagster.defs.statements.files import render_month, write_month
from flexpower_dagster.defs.trading.tables import TRADING_QH
from flexpower_dagster.lib.customers import SLUG, CustomerError, customer_slug, read_statement_pdf, statement_files
from flexpower_dagster.lib.dagster.metadata import table_metadata
from flexpower_dagster.lib.dagster.partitions import DAILY_TAGS, daily_partitions
from flexpower_dagster.lib.dbfile import open_reader
from flexpower_dagster.lib.tables import TableSpec

JUNE = date(2025, 6, 1)


# ------------------------------------------------------------------------------------------------------- the slug


def test_a_customer_slug_is_a_safe_unique_folder_name_of_the_customer():
    slug = customer_slug("Maria.Schmidt@EnergyPartners.DE ")
    assert slug == customer_slug(MARIA) and SLUG.fullmatch(slug) and slug.startswith("maria-schmidt-at-energypartners-de-")
    # punctuation folds to "-": the hash keeps customers apart whose readable part is the same
    assert customer_slug("a.b@x.de") != customer_slug("a-b@x.de")
    assert len(customer_slug(("x" * 64) + "@" + ("y" * 60) + ".example")) <= 64
    for hostile in ("../../etc/passwd", "a@b.de/../../x", "a@b.de\nBcc: c@d.de", "", "  ", "x", "a b@c.de",
                    '"a"@b.de', "a@b.de, c@d.de", "a@b"):
        with pytest.raises(CustomerError):
            customer_slug(hostile)
    assert statement_files(JUNE, MARIA) == {"html": f"statements/2025-06/{slug}/statement.html",
                                            "pdf": f"statements/2025-06/{slug}/statement.pdf"}


# ----------------------------------------------------------------------- the sample: two contracts of one customer


def text_of(path: Path) -> str:
    """Every character a person can read in a statement file (PDF: the extracted text of every page)."""
    if path.suffix == ".pdf":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)
    return path.read_text(encoding="utf-8")


def squeeze(text: str) -> str:
    """Without white space: an identifier a table cell wrapped over two lines is still found."""
    return re.sub(r"\s+", "", text).lower()


def identifiers(warehouse: Path) -> dict[str, set[str]]:
    """Customer key -> every identifier of that customer in the warehouse (contracts, assets, metering points,
    e-mails as written, invoice ids)."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(
            "SELECT DISTINCT lower(trim(c.email)), c.contract_id, c.asset_id, c.metering_point_id, c.email, i.invoice_id "
            "FROM marts.contracts_in_force c LEFT JOIN marts.invoices i USING (contract_id)").fetchall()
    out: dict[str, set[str]] = {}
    for key, *values in rows:
        out.setdefault(key, set()).update(str(v).strip() for v in values if v is not None)
    return out


def statements_of(warehouse: Path, policy, data_dir: Path):
    with open_reader(warehouse) as conn:
        customers = read_customer_months(conn, policy, JUNE)
    statements = render_month(customers, JUNE, DEMO_ISSUER, policy.sha256)
    write_month(data_dir, JUNE, statements)
    return customers, statements


def assert_no_leak(folder_texts: dict[str, str], ids: dict[str, set[str]], owner_of: dict[str, str]) -> None:
    """Every text names all of its owner's contracts and e-mails and nothing of any other customer."""
    for name, text in folder_texts.items():
        owner = owner_of[name]
        flat = squeeze(text)
        own = ids[owner]
        others = set().union(*(v for k, v in ids.items() if k != owner)) - own
        assert others, name
        leaked = sorted(i for i in others if squeeze(i) in flat)
        assert leaked == [], f"{name} names another customer's {leaked}"
        assert squeeze(owner) in flat, name


def test_statements_hold_exactly_the_customers_snapshot_rows(policy, shared_customer_warehouse, tmp_path):
    """The statements read through the policy's row filters: each customer's rows are its snapshot's rows."""
    keys = sorted(identifiers(shared_customer_warehouse))
    with open_reader(shared_customer_warehouse) as conn:
        customers = read_customer_months(conn, policy, JUNE)
        assert [c.customer for c in customers] == keys
        for cm in customers:
            snap = write_audience_snapshot(conn, policy, f"customer:{cm.customer}", tmp_path / f"{cm.contracts.iloc[0]['contract_id']}.duckdb").path
            with duckdb.connect(str(snap), read_only=True) as s:
                bof = s.execute("SELECT asset_id, delivery_day, count(*), sum(mwh) FROM marts.best_of_infeed "
                                "GROUP BY ALL ORDER BY ALL").fetchall()
                contracts = [r[0] for r in s.execute("SELECT DISTINCT contract_id FROM marts.contracts_in_force ORDER BY 1").fetchall()]
                invoices = s.execute("SELECT invoice_id, status FROM marts.invoices ORDER BY 1").fetchall()
                lines = s.execute("SELECT invoice_id, line_no, net_cents FROM marts.invoice_lines ORDER BY ALL").fetchall()
            daily = cm.daily.sort_values(["asset_id", "delivery_day"])
            assert [(r["asset_id"], r["delivery_day"].date(), r["n_qh"], pytest.approx(r["infeed_mwh"]))
                    for r in daily.to_dict("records")] == bof
            assert list(cm.contracts["contract_id"]) == contracts
            assert list(cm.invoices[["invoice_id", "status"]].itertuples(index=False, name=None)) == invoices
            assert sorted(cm.lines[["invoice_id", "line_no", "net_cents"]].itertuples(index=False, name=None)) == lines
    maria = next(c for c in customers if c.customer == MARIA)
    assert list(maria.contracts["contract_id"]) == ["CON1_SOL-DE-001", SECOND_CONTRACT]
    assert set(maria.daily["asset_id"]) == {"SOL-DE-001", "SOL-DE-002"}
    assert maria.emails == sorted({MARIA, MARIA.upper()})  # both contracts' addresses as written


def test_every_statement_file_names_only_its_customer(policy, shared_customer_warehouse, tmp_path):
    data_dir = tmp_path / "data"
    customers, statements = statements_of(shared_customer_warehouse, policy, data_dir)
    assert statements.customers == 4 and statements.skipped == []
    ids = identifiers(shared_customer_warehouse)
    files = sorted(p for p in (data_dir / "statements").rglob("*") if p.is_file())
    slug_owner = {customer_slug(c.customer): c.customer for c in customers}
    assert {p.parent.name for p in files} == set(slug_owner)
    assert {p.name for p in files} == {"statement.html", "statement.pdf"} and len(files) == 8
    texts = {str(p.relative_to(data_dir)): text_of(p) for p in files}
    assert_no_leak(texts, ids, {name: slug_owner[Path(name).parent.name] for name in texts})
    # the customer with two contracts: both contracts, both assets, both invoices in the HTML and in the PDF
    maria = customer_slug(MARIA)
    for kind in ("html", "pdf"):
        flat = squeeze(texts[f"statements/2025-06/{maria}/statement.{kind}"])
        for needle in ("CON1_SOL-DE-001", SECOND_CONTRACT, "SOL-DE-001", "SOL-DE-002", "2025-06-CON1_SOL-DE-001",
                       f"2025-06-{SECOND_CONTRACT}", "2025-06-08", "Infeedvsforecast".lower(), "redispatch"):
            assert squeeze(needle) in flat, (kind, needle)
    # the statements show no portfolio totals, trades, positions or imbalance (the invoice lines name the VWAP or market value they apply)
    for text in texts.values():
        assert not re.search(r"portfolio|imbalance|trade id|capture rate|open position", text, re.IGNORECASE)
    # a blocked invoice shows its status, not the internal reasons
    blocked = customer_slug("alexander.hoffmann@renewables-corp.com")
    html = texts[f"statements/2025-06/{blocked}/statement.html"]
    assert "not issued yet" in html and "price_model" not in html


def test_statement_figures_are_the_scoped_rows_and_the_files_are_stable(policy, shared_customer_warehouse, tmp_path):
    data_dir = tmp_path / "data"
    customers, _ = statements_of(shared_customer_warehouse, policy, data_dir)
    thomas = next(c for c in customers if c.customer == "thomas.mueller@windkraft-gmbh.com")
    html = (data_dir / statement_files(JUNE, thomas.customer)["html"]).read_text()
    with duckdb.connect(str(shared_customer_warehouse), read_only=True) as conn:
        infeed = conn.execute("SELECT sum(mwh) FROM marts.best_of_infeed WHERE asset_id = 'WND-DE-001'").fetchone()[0]
        lines = conn.execute("SELECT net_cents FROM marts.invoice_lines WHERE contract_id = 'CON1_WND-DE-001' ORDER BY line_no").fetchall()
    assert f"{infeed:,.3f}" in html  # the day's (and month's) infeed as best-of-infeed sums it
    for (net,) in lines:
        assert f"{abs(net) // 100:,}.{abs(net) % 100:02d}" in html
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (data_dir / "statements").rglob("*") if p.is_file()}
    statements_of(shared_customer_warehouse, policy, data_dir)  # same rows: same bytes, files not rewritten
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (data_dir / "statements").rglob("*") if p.is_file()} == before
    # a customer folder without a customer any more is removed
    stale = data_dir / "statements/2025-06/gone-at-example-com-0000000000"
    stale.mkdir()
    (stale / "statement.pdf").write_bytes(b"%PDF")
    statements_of(shared_customer_warehouse, policy, data_dir)
    assert not stale.exists()


# --------------------------------------------------------------- the outbox: final invoices of two customers, by Dagster


def _stub(key: list[str], spec: TableSpec, frame: pd.DataFrame) -> dg.AssetsDefinition:
    full = frame.copy()
    for c in spec.column_names:
        if c not in full.columns:
            full[c] = None
    full = spec.conform(full[spec.column_names])

    @dg.asset(key=key, partitions_def=daily_partitions, tags=DAILY_TAGS, metadata=table_metadata(spec))
    def _a(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return full[full["delivery_day"] == pd.Timestamp(context.partition_key)].reset_index(drop=True)

    return _a


#: contract -> (asset, e-mail as the CRM writes it): customer A holds two contracts (one address in other case and
#: padded), customer B one.
OUTBOX_CONTRACTS = {"CON1_A1": ("A1", "anna@alpha.example"), "CON1_A2": ("A2", " Anna@Alpha.Example"),
                    "CON1_B1": ("B1", "bert@beta.example")}


def test_each_invoice_email_goes_to_its_contract_with_its_own_invoice_and_its_customers_statement(tmp_path):
    from invoicing.invoicing_builders import CUSTOMER, compensation, contract, flags, forecast, infeed, trading

    from support import resources_for

    days = [date(2025, 6, 28), date(2025, 6, 29), date(2025, 6, 30)]
    warehouse, data_dir = tmp_path / "wh.duckdb", tmp_path / "data"
    resources = resources_for(tmp_path, warehouse, data_dir)
    assets = [a for _, (a, _) in OUTBOX_CONTRACTS.items()]
    stubs = [
        _stub(["marts", "contracts_in_force"], CONTRACTS_IN_FORCE, pd.concat([
            contract(c, a, days=days, begin=date(2025, 6, 28), email=e) for c, (a, e) in OUTBOX_CONTRACTS.items()],
            ignore_index=True)),
        _stub(["marts", "best_of_infeed"], BEST_OF_INFEED, pd.concat([infeed(a, days=days, mw=2.0) for a in assets])),
        _stub(["marts", "asset_forecast"], ASSET_FORECAST, pd.concat([forecast(a, days=days) for a in assets])),
        _stub(["marts", "trading_qh"], TRADING_QH, trading(days=days)),
        _stub(["staging", "dso_redispatch_flags"], DSO_REDISPATCH_FLAGS, flags("A2", qhs=[(days[0], 40)])),
        _stub(["staging", "dso_redispatch_compensation"], DSO_REDISPATCH_COMPENSATION, compensation(days=days)),
    ]
    for d in days:
        assert dg.materialize(stubs, partition_key=d.isoformat(), resources=resources).success
    # the customer master data a sent document needs, as the CRM export will carry it (test_invoicing_wiring)
    with duckdb.connect(str(warehouse)) as conn:
        for column, value in CUSTOMER.items():
            conn.execute(f"ALTER TABLE marts.contracts_in_force ADD COLUMN {column} VARCHAR DEFAULT '{value}'")
    result = dg.materialize([*stubs, *build_invoicing_assets(), customer_statements],
                            selection=dg.AssetSelection.tag("cadence", "monthly"), partition_key="2025-06-01",
                            resources=resources)
    assert result.success
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        sent = dict(conn.execute("SELECT contract_id, document_number FROM marts.invoices WHERE document_status = 'sent'").fetchall())
    assert set(sent) == set(OUTBOX_CONTRACTS)

    anna, bert = "anna@alpha.example", "bert@beta.example"
    ids = {anna: {"CON1_A1", "CON1_A2", "A1", "A2", "MP-A1", "MP-A2", anna, sent["CON1_A1"], sent["CON1_A2"]},
           bert: {"CON1_B1", "B1", "MP-B1", bert, sent["CON1_B1"]}}
    emls = sorted((data_dir / "outbox").rglob("*.eml"))
    assert len(emls) == 3
    texts, owner_of = {}, {}
    for path in emls:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.SMTP)
        contract_id = msg["X-FlexPower-Invoice"].removeprefix("2025-06-")
        asset, address = OUTBOX_CONTRACTS[contract_id]
        assert msg["To"] == address.strip() or msg["To"] == address  # its own contract's address, as the CRM writes it
        assert len(msg.get_all("To")) == 1 and msg["Cc"] is None and msg["Bcc"] is None
        owner = address.strip().lower()
        attachments = {part.get_filename(): part.get_content() for part in msg.iter_attachments()}
        # only its own invoice and its customer's statement of the month, byte for byte the file on disk
        assert set(attachments) == {f"{sent[contract_id]}.pdf", "statement-2025-06.pdf"}
        assert attachments["statement-2025-06.pdf"] == read_statement_pdf(data_dir, JUNE, address)
        parts = [msg.get_body(preferencelist=("plain",)).get_content(), str(msg["Subject"])]
        parts += ["\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages) for content in attachments.values()]
        texts[path.name] = "\n".join(parts)
        owner_of[path.name] = owner
        assert squeeze(contract_id) in squeeze(texts[path.name]) and squeeze(asset) in squeeze(texts[path.name])
    assert_no_leak(texts, ids, owner_of)
    # the two contracts of one customer: one statement (both contracts), attached to both e-mails
    folders = sorted(p.name for p in (data_dir / "statements/2025-06").iterdir())
    assert folders == sorted([customer_slug(anna), customer_slug(bert)])
    statement_texts = {f"{f}/{p.name}": text_of(p) for f in folders for p in (data_dir / "statements/2025-06" / f).iterdir()}
    assert_no_leak(statement_texts, ids, {n: (anna if n.startswith(customer_slug(anna)) else bert) for n in statement_texts})
    anna_pdf = squeeze(statement_texts[f"{customer_slug(anna)}/statement.pdf"])
    assert all(squeeze(i) in anna_pdf for i in ("CON1_A1", "CON1_A2", sent["CON1_A1"], sent["CON1_A2"]))


# ----------------------------------------------------------------------------------------- hand-made edge cases


def test_an_asset_that_changes_hands_is_each_customers_on_its_own_days(policy, tmp_path):
    """The hand-made warehouse of the snapshot tests: asset H is B's on day 1 and A's on day 2; A's second contract is
    written in other case and padded. Each statement holds the rows of its customer's snapshot and no other."""
    from test_snapshots import A, B, hand_made_warehouse

    wh = hand_made_warehouse(tmp_path / "hand.duckdb")
    with open_reader(wh) as conn:
        by = {c.customer: c for c in read_customer_months(conn, policy, JUNE)}
    assert sorted(by) == [A, B]
    days = {k: {(r["asset_id"], r["delivery_day"].day) for r in c.daily.to_dict("records")} for k, c in by.items()}
    assert days == {A: {("A1", 1), ("A1", 2), ("A2", 1), ("A2", 2), ("H", 2)}, B: {("B1", 1), ("B1", 2), ("H", 1)}}
    assert list(by[A].contracts["contract_id"]) == ["C-A1", "C-A2", "C-AH"]
    assert set(by[A].invoices["contract_id"]) == {"C-A1", "C-A2", "C-AH"} == set(by[A].lines["contract_id"])
    assert set(by[B].invoices["contract_id"]) == {"C-B1", "C-BH"}
    assert by[A].emails == ["A@X.Example", A]  # as the CRM writes them (trimmed): both contracts' addresses
    # another month holds nobody
    with open_reader(wh) as conn:
        assert read_customer_months(conn, policy, date(2025, 7, 1)) == []


def test_a_customer_whose_email_names_no_folder_gets_no_statement_and_is_named(policy, tmp_path):
    from test_snapshots import hand_made_warehouse

    wh = hand_made_warehouse(tmp_path / "hand.duckdb")
    with duckdb.connect(str(wh)) as conn:
        conn.execute("UPDATE marts.contracts_in_force SET email = 'b@y.example/../../etc' WHERE contract_id = 'C-B1'")
        # the amounts a computed invoice always has (the hand-made rows carry none)
        conn.execute("UPDATE marts.invoices SET net_cents = 1000, vat_cents = 190, gross_cents = 1190")
        conn.execute("UPDATE marts.invoice_lines SET line_no = 1, direction = 'flexpower_pays_customer', quantity = 1, "
                     "quantity_unit = 'MWh', net_cents = 1000, vat_cents = 190, gross_cents = 1190")
    with open_reader(wh) as conn:
        customers = read_customer_months(conn, policy, JUNE)
    statements = render_month(customers, JUNE, DEMO_ISSUER, policy.sha256)
    assert statements.customers == 2 and len(statements.skipped) == 1
    assert "C-B1" in statements.skipped[0] and "not a plain address" in statements.skipped[0]
    written = write_month(tmp_path / "data", JUNE, statements)
    assert all(p.is_relative_to((tmp_path / "data" / "statements" / "2025-06").resolve()) for p in written)


def test_a_policy_that_does_not_grant_the_statements_tables_to_customers_is_refused(policy):
    from permissions_support import policy_data

    from flexpower_dagster.defs.permissions.policy import parse_policy

    data = policy_data()
    del data["audiences"]["customer"]["tables"]["marts.invoice_lines"]
    data["data_engineering_only"]["marts.invoice_lines"] = "test"
    del data["audiences"]["finance"]["tables"]["marts.invoice_lines"]
    narrowed = parse_policy(data, policy.tables)
    with pytest.raises(ValueError, match=r"not granted \['marts.invoice_lines'\] with a row filter"):
        read_customer_months(None, narrowed, JUNE)
