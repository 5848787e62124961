"""Leak tests of the audience snapshots: built from the sample day and month, each internal audience's file holds
exactly its granted tables and columns with every row of the warehouse, nothing else; a customer's file holds only
the rows of its own contracts and assets (one customer with two contracts beside other customers on the sample, and a
hand-made warehouse with two customers and an asset that changes hands)."""

from __future__ import annotations

import os
import stat
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from permissions_support import MARIA, SECOND_CONTRACT, policy_data

from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED
from flexpower_dagster.defs.invoicing.tables import INVOICE_LINES, INVOICES
from flexpower_dagster.defs.permissions.policy import parse_policy
from flexpower_dagster.defs.permissions.snapshot import (
    META_SCHEMA,
    snapshot_path,
    write_audience_snapshot,
    write_internal_snapshots,
)
from flexpower_dagster.lib.dbfile import STORAGE_VERSION, new_database_file, open_reader
from flexpower_dagster.lib.sql import sql_string
from flexpower_dagster.lib.warehouse import connect


def objects(path: Path) -> dict[str, list[str]]:
    """Qualified table/view -> its columns in order, outside the snapshot's own ``snapshot`` schema."""
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema <> ? ORDER BY table_schema, table_name, ordinal_position",
            [META_SCHEMA],
        ).fetchall()
    out: dict[str, list[str]] = {}
    for schema, table, column in rows:
        out.setdefault(f"{schema}.{table}", []).append(column)
    return out


def hits(path: Path, needles: set[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every text cell of the snapshot (its meta tables included) containing a needle."""
    found = []
    with duckdb.connect(str(path), read_only=True) as conn:
        cols = conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND data_type = 'VARCHAR'").fetchall()
        for schema, table, column in cols:
            for needle in needles:
                n = conn.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" WHERE contains(lower("{column}"), lower(?))', [needle]
                ).fetchone()[0]
                if n:
                    found.append((f"{schema}.{table}", column, needle))
    return found


def differing_rows(warehouse: Path, snapshot: Path, table: str, columns: list[str]) -> tuple[int, int]:
    """Rows of the warehouse table (those columns) missing from the snapshot, and rows of the snapshot not in it."""
    cols = ", ".join(f'"{c}"' for c in columns)
    with duckdb.connect() as conn:
        conn.execute(f"ATTACH {sql_string(warehouse)} AS w (READ_ONLY)")
        conn.execute(f"ATTACH {sql_string(snapshot)} AS s (READ_ONLY)")
        lost = conn.execute(f"SELECT count(*) FROM (SELECT {cols} FROM w.{table} EXCEPT ALL SELECT {cols} FROM s.{table})").fetchone()[0]
        added = conn.execute(f"SELECT count(*) FROM (SELECT {cols} FROM s.{table} EXCEPT ALL SELECT {cols} FROM w.{table})").fetchone()[0]
    return lost, added


def warehouse_values(warehouse: Path, sql: str, params: list | None = None) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {r[0] for r in conn.execute(sql, params).fetchall() if r[0]}


# ------------------------------------------------------------------------------------------ internal audiences


@pytest.mark.parametrize("audience", ["trading", "finance", "management"])
def test_an_internal_snapshot_holds_exactly_its_grants_with_every_row(policy, permissions_warehouse, internal_snapshots, audience):
    path = internal_snapshots[audience]
    grants = policy.audiences[audience].grants
    have = objects(path)
    # every table and column outside the policy is absent, every granted one present in the declared order
    assert have == {t: list(g.columns) for t, g in grants.items()}
    # internal audiences see every row of what they are granted, unchanged
    for table, grant in grants.items():
        if table == "marts.invoice_register":  # written once a final invoice is sent: the sample's are drafts
            continue
        assert differing_rows(permissions_warehouse.warehouse, path, table, list(grant.columns)) == (0, 0), table


def test_the_data_engineering_snapshot_is_the_whole_warehouse(permissions_warehouse, internal_snapshots):
    path = internal_snapshots["data-engineering"]
    with duckdb.connect(str(permissions_warehouse.warehouse), read_only=True) as conn:
        expected = {
            f"{s}.{t}": c for s, t, c in conn.execute(
                "SELECT table_schema, table_name, list(column_name ORDER BY ordinal_position) FROM information_schema.columns "
                "WHERE table_catalog = current_database() GROUP BY ALL").fetchall()
        }
    assert objects(path) == expected
    for table, columns in expected.items():
        assert differing_rows(permissions_warehouse.warehouse, path, table, columns) == (0, 0), table


def test_no_customer_contact_data_reaches_trading_or_management(permissions_warehouse, internal_snapshots):
    emails = warehouse_values(permissions_warehouse.warehouse, "SELECT DISTINCT email FROM staging.crm_contracts")
    assert len(emails) == 5
    for audience in ("trading", "management"):
        assert hits(internal_snapshots[audience], emails) == [], audience
    assert hits(internal_snapshots["finance"], emails), "finance sends the invoices: it has the addresses"


def test_no_trade_reaches_finance_or_management(permissions_warehouse, internal_snapshots):
    trades = warehouse_values(permissions_warehouse.warehouse,
                              "SELECT DISTINCT trade_id FROM staging.exchange_private_trades ORDER BY 1 LIMIT 40")
    assert len(trades) == 40
    for audience in ("finance", "management"):
        assert hits(internal_snapshots[audience], trades) == [], audience
    assert hits(internal_snapshots["trading"], set(sorted(trades)[:2]))


def test_snapshot_files_are_read_only_complete_and_say_what_they_are(policy, permissions_warehouse, internal_snapshots):
    directory = next(iter(internal_snapshots.values())).parent
    assert sorted(p.name for p in directory.iterdir()) == sorted(f"{a}.duckdb" for a in internal_snapshots)
    for audience, path in internal_snapshots.items():
        assert path == snapshot_path(directory.parent, audience)
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
        with duckdb.connect(str(path), read_only=True) as conn:
            about = conn.execute("SELECT audience, scope, scope_value, policy_sha256 FROM snapshot.about").fetchall()
            listed = dict(conn.execute("SELECT table_name, n_rows FROM snapshot.tables").fetchall())
        assert about == [(audience, None, None, policy.sha256)]
        assert set(listed) == set(objects(path))


# ----------------------------------------------------------------------------------------------- customer scope


def customer_snapshot(warehouse: Path, policy, customer: str, out: Path) -> Path:
    with open_reader(warehouse) as conn:
        return write_audience_snapshot(conn, policy, f"customer:{customer}", out / "customer.duckdb").path


def expected_rows(warehouse: Path, customer: str) -> dict[str, pd.DataFrame]:
    """The customer's rows computed here with pandas, independently of the snapshot's SQL."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        frames = {t: conn.execute(f"SELECT * FROM {t}").fetchdf() for t in (
            "marts.contracts_in_force", "marts.best_of_infeed", "marts.live_infeed", "marts.asset_forecast",
            "marts.asset_performance", "marts.invoices", "marts.invoice_lines")}
    cif = frames["marts.contracts_in_force"]
    own = cif[cif["email"].str.strip().str.lower() == customer.lower()]
    asset_days = set(zip(own["delivery_day"], own["asset_id"], strict=True))
    contracts = set(own["contract_id"])
    out = {"marts.contracts_in_force": own}
    for t in ("marts.best_of_infeed", "marts.live_infeed", "marts.asset_forecast", "marts.asset_performance"):
        f = frames[t]
        out[t] = f[[(d, a) in asset_days for d, a in zip(f["delivery_day"], f["asset_id"], strict=True)]]
    for t in ("marts.invoices", "marts.invoice_lines"):
        out[t] = frames[t][frames[t]["contract_id"].isin(contracts)]
    return out


def keys_of(frame: pd.DataFrame, columns: list[str]) -> set[tuple]:
    return {tuple(str(v) for v in row) for row in frame[columns].itertuples(index=False)}


KEYS = {
    "marts.contracts_in_force": ["delivery_day", "contract_id"],
    "marts.best_of_infeed": ["delivery_day", "asset_id", "delivery_start"],
    "marts.live_infeed": ["delivery_day", "asset_id", "delivery_start"],
    "marts.asset_forecast": ["delivery_day", "asset_id", "delivery_start"],
    "marts.asset_performance": ["delivery_day", "asset_id"],
    "marts.invoices": ["invoice_month", "invoice_id"],
    "marts.invoice_lines": ["invoice_month", "invoice_id", "line_type"],
}


def check_customer(policy, warehouse: Path, snapshot: Path, customer: str, own_assets: set[str]) -> None:
    grants = policy.audiences["customer"].grants
    assert objects(snapshot) == {t: list(g.columns) for t, g in grants.items()}
    expected = expected_rows(warehouse, customer)
    with duckdb.connect(str(snapshot), read_only=True) as conn:
        got = {t: conn.execute(f"SELECT * FROM {t}").fetchdf() for t in grants}
    for table, key in KEYS.items():
        assert keys_of(got[table], key) == keys_of(expected[table], key), table
        if "asset_id" in got[table]:
            assert set(got[table]["asset_id"]) <= own_assets, table
    # no identifier of another customer anywhere in the file
    others = warehouse_values(warehouse, "SELECT DISTINCT asset_id FROM marts.contracts_in_force") - own_assets
    other_mails = warehouse_values(warehouse, "SELECT DISTINCT lower(trim(email)) FROM marts.contracts_in_force") - {customer.lower()}
    other_contracts = warehouse_values(
        warehouse, "SELECT DISTINCT contract_id FROM marts.contracts_in_force WHERE lower(trim(email)) <> lower(?)", [customer])
    assert others and other_mails and other_contracts
    assert hits(snapshot, others | other_mails | other_contracts) == []


def test_one_customer_with_two_contracts_sees_both_and_nothing_else(policy, shared_customer_warehouse, tmp_path):
    snapshot = customer_snapshot(shared_customer_warehouse, policy, "Maria.Schmidt@EnergyPartners.DE", tmp_path)
    check_customer(policy, shared_customer_warehouse, snapshot, MARIA, {"SOL-DE-001", "SOL-DE-002"})
    with duckdb.connect(str(snapshot), read_only=True) as conn:
        assert conn.execute("SELECT asset_id, count(*) FROM marts.best_of_infeed GROUP BY 1 ORDER BY 1").fetchall() == [
            ("SOL-DE-001", 96), ("SOL-DE-002", 96)]
        assert [r[0] for r in conn.execute("SELECT contract_id FROM marts.invoices ORDER BY 1").fetchall()] == [
            "CON1_SOL-DE-001", SECOND_CONTRACT]
        assert conn.execute("SELECT count(*) FROM marts.invoice_lines").fetchone()[0] > 2
        assert conn.execute("SELECT scope, scope_value FROM snapshot.about").fetchall() == [("customer", MARIA)]


@pytest.mark.parametrize(("customer", "assets"), [
    ("thomas.mueller@windkraft-gmbh.com", {"WND-DE-001"}),
    ("alexander.hoffmann@renewables-corp.com", {"WND-DE-003"}),  # the blocked invoice is the customer's own
])
def test_a_second_customer_sees_only_its_own(policy, shared_customer_warehouse, tmp_path, customer, assets):
    snapshot = customer_snapshot(shared_customer_warehouse, policy, customer, tmp_path)
    check_customer(policy, shared_customer_warehouse, snapshot, customer, assets)
    with duckdb.connect(str(snapshot), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM marts.best_of_infeed").fetchone()[0] == 96
        assert conn.execute("SELECT count(*) FROM marts.invoices").fetchone()[0] == 1


@pytest.mark.parametrize("customer", ["nobody@example.com", "maria.schmidt@energypartners.de' OR '1'='1",
                                      "%", "x@y'); DROP TABLE marts.invoices; --"])
def test_an_unknown_or_hostile_customer_gets_empty_tables(policy, shared_customer_warehouse, tmp_path, customer):
    snapshot = customer_snapshot(shared_customer_warehouse, policy, customer, tmp_path)
    with duckdb.connect(str(snapshot), read_only=True) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in objects(snapshot)}
    assert counts == dict.fromkeys(policy.audiences["customer"].grants, 0)
    with duckdb.connect(str(shared_customer_warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM marts.invoices").fetchone()[0] == 5


# ------------------------------------------------------------------------------------- hand-made: two customers

D1, D2 = date(2025, 6, 1), date(2025, 6, 2)
A, B = "a@x.example", "b@y.example"
#: (day, contract, asset, e-mail): A holds A1 and A2 (one contract's address in other case and padded), B holds B1;
#: asset H belongs to B's contract C-BH on day 1 and to A's contract C-AH on day 2.
CONTRACTS = [
    (D1, "C-A1", "A1", A), (D2, "C-A1", "A1", A),
    (D1, "C-A2", "A2", " A@X.Example"), (D2, "C-A2", "A2", " A@X.Example"),
    (D1, "C-B1", "B1", B), (D2, "C-B1", "B1", B),
    (D1, "C-BH", "H", B), (D2, "C-AH", "H", A),
]


def hand_made_warehouse(path: Path) -> Path:
    """contracts_in_force, best_of_infeed (without its live_mw column: an older warehouse), invoices and lines;
    the other tables a customer is granted do not exist yet."""
    c = pd.DataFrame(CONTRACTS, columns=["delivery_day", "contract_id", "asset_id", "email"])
    bof = c.assign(delivery_start=pd.to_datetime(c["delivery_day"]), mwh=1.0, source="final")
    inv = c.drop_duplicates("contract_id").assign(
        invoice_month=D1, invoice_id=lambda f: "2025-06-" + f["contract_id"], status="provisional", net_eur=10.0)
    lines = inv.assign(line_type="infeed_payout", description=lambda f: "payout " + f["asset_id"])
    with duckdb.connect(str(path)) as conn:
        for spec, frame in ((CONTRACTS_IN_FORCE, c), (BEST_OF_INFEED, bof), (INVOICES, inv), (INVOICE_LINES, lines)):
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema}")
            conn.execute(spec.ddl())
            conn.register("f", frame[[col for col in frame.columns if col in spec.column_names]])
            conn.execute(f"INSERT INTO {spec.qualified_name} BY NAME SELECT * FROM f")
            conn.unregister("f")
        conn.execute("ALTER TABLE marts.best_of_infeed DROP COLUMN live_mw")
    return path


def rows(snapshot: Path, sql: str) -> set[tuple]:
    with duckdb.connect(str(snapshot), read_only=True) as conn:
        return {tuple(str(v) for v in r) for r in conn.execute(sql).fetchall()}


@pytest.fixture
def hand_made(tmp_path) -> Path:
    return hand_made_warehouse(tmp_path / "hand.duckdb")


def test_two_customers_and_an_asset_that_changes_hands(policy, hand_made, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = customer_snapshot(hand_made, policy, A, tmp_path / "a")
    b = customer_snapshot(hand_made, policy, "B@Y.example", tmp_path / "b")
    bof = "SELECT delivery_day, asset_id FROM marts.best_of_infeed"
    assert rows(a, bof) == {("2025-06-01", "A1"), ("2025-06-02", "A1"), ("2025-06-01", "A2"), ("2025-06-02", "A2"),
                            ("2025-06-02", "H")}
    assert rows(b, bof) == {("2025-06-01", "B1"), ("2025-06-02", "B1"), ("2025-06-01", "H")}
    inv = "SELECT contract_id FROM marts.invoices"
    assert rows(a, inv) == {("C-A1",), ("C-A2",), ("C-AH",)}
    assert rows(b, inv) == {("C-B1",), ("C-BH",)}
    assert rows(a, "SELECT contract_id FROM marts.invoice_lines") == rows(a, inv)
    assert rows(b, "SELECT DISTINCT contract_id FROM marts.contracts_in_force") == {("C-B1",), ("C-BH",)}
    assert hits(a, {B, "C-B1", "C-BH", "B1"}) == [] and hits(b, {A, "C-A1", "C-A2", "C-AH", "A1", "A2"}) == []
    # a granted column the warehouse lacks is a typed NULL column; a granted table it lacks is empty
    with duckdb.connect(str(a), read_only=True) as conn:
        assert conn.execute("SELECT count(*), count(live_mw), any_value(typeof(live_mw)) FROM marts.best_of_infeed").fetchone() == (5, 0, "DOUBLE")
        assert conn.execute("SELECT count(*) FROM marts.asset_performance").fetchone()[0] == 0
        absent = {r[0] for r in conn.execute("SELECT table_name FROM snapshot.tables WHERE NOT in_warehouse").fetchall()}
    assert absent == {"marts.live_infeed", "marts.asset_forecast", "marts.asset_performance"}


def scoped_policy(policy, scope: str):
    """The shipped policy plus a template audience scoped by contract or asset: three lines of data."""
    data = policy_data()
    data["audiences"][f"by-{scope}"] = {"scope": scope, "tables": {
        "marts.best_of_infeed": {"rows": "asset", "columns": "*"}, "marts.invoices": {"rows": "contract", "columns": "*"}}}
    return parse_policy(data, policy.tables)


def test_contract_and_asset_scopes(policy, hand_made, tmp_path):
    by_contract = scoped_policy(policy, "contract")
    by_asset = scoped_policy(policy, "asset")
    with open_reader(hand_made) as conn:
        c = write_audience_snapshot(conn, by_contract, "by-contract:C-BH", tmp_path / "c.duckdb").path
        h = write_audience_snapshot(conn, by_asset, "by-asset:H", tmp_path / "h.duckdb").path
    assert rows(c, "SELECT delivery_day, asset_id FROM marts.best_of_infeed") == {("2025-06-01", "H")}
    assert rows(c, "SELECT contract_id FROM marts.invoices") == {("C-BH",)}
    assert rows(h, "SELECT delivery_day, contract_id FROM marts.best_of_infeed") == {("2025-06-01", "C-BH"), ("2025-06-02", "C-AH")}
    assert rows(h, "SELECT contract_id FROM marts.invoices") == {("C-BH",), ("C-AH",)}


# --------------------------------------------------------------------------------------- adding an audience, files


def test_adding_an_audience_is_a_few_lines_of_data(policy, hand_made, tmp_path):
    data = policy_data()
    data["audiences"]["asset-management"] = {"description": "Asset managers", "tables": {"marts.best_of_infeed": ["delivery_day", "asset_id", "mwh"]}}
    grown = parse_policy(data, policy.tables)
    with open_reader(hand_made) as conn:
        snaps = write_internal_snapshots(conn, grown, tmp_path)
    assert [s.audience for s in snaps] == ["data-engineering", "trading", "finance", "management", "asset-management"]
    path = snapshot_path(tmp_path, "asset-management")
    assert objects(path) == {"marts.best_of_infeed": ["delivery_day", "asset_id", "mwh"]}
    assert rows(path, "SELECT count(*) FROM marts.best_of_infeed") == {("8",)}


def test_stale_audience_files_and_a_dead_writers_temporary_files_are_removed(policy, hand_made, tmp_path):
    stale = snapshot_path(tmp_path, "sales")
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process id that no longer runs
    abandoned = stale.parent / f".data-engineering.duckdb.{dead.pid}.tmp"
    abandoned.write_bytes(b"half a warehouse")
    live = stale.parent / f".trading.duckdb.{os.getppid()}.tmp"  # a running writer's (the parent process runs)
    live.write_bytes(b"being written")
    with open_reader(hand_made) as conn:
        write_internal_snapshots(conn, policy, tmp_path)
    assert not stale.exists() and not abandoned.exists()
    assert live.exists()
    live.unlink()
    assert sorted(p.name for p in stale.parent.iterdir()) == [
        "data-engineering.duckdb", "finance.duckdb", "management.duckdb", "trading.duckdb"]


def test_a_failed_write_leaves_the_previous_file_and_no_temporary_one(tmp_path):
    target = tmp_path / "out" / "trading.duckdb"
    with duckdb.connect() as conn:
        with new_database_file(conn, target, "snap") as alias:
            conn.execute(f"CREATE TABLE {alias}.main.t AS SELECT 1 AS v")
        before = target.read_bytes()
        with pytest.raises(RuntimeError, match="stop"), new_database_file(conn, target, "snap") as alias:
            conn.execute(f"CREATE TABLE {alias}.main.t AS SELECT 2 AS v")
            raise RuntimeError("stop")
        assert conn.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'snap'").fetchone()[0] == 0
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["trading.duckdb"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    with duckdb.connect(str(target), read_only=True) as conn:
        assert conn.execute("SELECT v FROM t").fetchall() == [(1,)]
        # readable by the DuckDB of the report site: the pinned storage format, not the library's default
        assert conn.execute("SELECT tags['storage_version'] FROM duckdb_databases() "
                            "WHERE database_name = current_database()").fetchone()[0] == f"{STORAGE_VERSION}+"


def test_a_reader_shares_this_process_read_write_instance(tmp_path):
    path = tmp_path / "w.duckdb"
    with connect(path) as writer:  # the pipeline's connection (lib.warehouse): one configuration per process
        writer.execute("CREATE TABLE t AS SELECT 7 AS v")
        with pytest.raises(duckdb.ConnectionException):  # what open_reader works around
            duckdb.connect(str(path), read_only=True)
        with open_reader(path) as reader:
            assert reader.execute("SELECT v FROM t").fetchall() == [(7,)]
    with open_reader(path) as reader, pytest.raises(duckdb.InvalidInputException, match="read-only"):
        reader.execute("CREATE TABLE u (x INT)")  # alone: a read-only connection
