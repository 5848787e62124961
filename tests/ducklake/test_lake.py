"""The DuckLake backend (flexpower_dagster/lib/lake.py): the descriptor, extensions from the pip packages only,
``lib.warehouse`` on a lake (the one table writer, a DuckLake transaction), readers on a consistent snapshot."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from flexpower_dagster.defs.warehouse.snapshot import snapshot_path, write_snapshot
from flexpower_dagster.lib import lake, warehouse
from flexpower_dagster.lib.tables import Column, TableSpec

SPEC = TableSpec(
    schema="staging", name="lake_probe", key=(), partition_column="delivery_day",
    columns=(Column("delivery_day", "DATE", ""), Column("qh", "INTEGER", ""), Column("version", "BIGINT", "")),
)
TWIN = TableSpec(schema="marts", name="lake_twin", key=(), partition_column="delivery_day", columns=SPEC.columns)


def _rows(day: date, version: int, n: int = 96) -> pd.DataFrame:
    return pd.DataFrame({"delivery_day": [day] * n, "qh": range(n), "version": [version] * n})


# --- the descriptor (pure) -----------------------------------------------------------------------------------------

def test_descriptor_round_trip_and_errors_name_file_and_key(tmp_path):
    d = lake.write_descriptor(tmp_path / "w.ducklake.toml", 'postgres:dbname=x host=/a"b', "lake", metadata_schema="s1")
    config = lake.read_descriptor(d)
    assert config.catalog == 'postgres:dbname=x host=/a"b'
    assert config.data_path == (tmp_path / "lake").resolve()  # relative to the descriptor
    assert config.metadata_schema == "s1"
    assert lake.is_lake(d) and not lake.is_lake(tmp_path / "w.duckdb")
    bad = {
        'catalog = ""\ndata_path = "x"\n': "key 'catalog'",
        'catalog = "postgres:dbname=x"\n': "key 'data_path'",
        'catalog = "postgres:dbname=x password=secret"\ndata_path = "x"\n': "holds a password",
        'catalog = "x"\ndata_path = "x"\nmetadata_schema = "a;b"\n': "key 'metadata_schema'",
        'catalog = "x"\ndata_path = "x"\nurl = "y"\n': "unknown key",
        "catalog = \n": "not valid TOML",
    }
    for text, message in bad.items():
        with pytest.raises(lake.LakeConfigError, match=message) as err:
            lake.parse_descriptor(text, Path("/etc/w.ducklake.toml"))
        assert "/etc/w.ducklake.toml" in str(err.value)
    with pytest.raises(lake.LakeConfigError, match="not found"):
        lake.read_descriptor(tmp_path / "missing.ducklake.toml")


def test_a_missing_extension_package_is_an_error_naming_it():
    with pytest.raises(RuntimeError, match=r"duckdb-ext-postgres .* never downloaded"):
        lake.extension_file("postgres_scanner", "0.0.0", "linux_amd64")


# --- on a lake in Postgres ---------------------------------------------------------------------------------------

def test_extensions_come_from_the_pip_packages_and_nothing_is_fetched(lake_descriptor):
    with warehouse.connect(lake_descriptor) as conn:
        settings = dict(conn.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('autoinstall_known_extensions', 'autoload_known_extensions')"
        ).fetchall())
        assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
        loaded = dict(conn.execute("SELECT extension_name, install_mode FROM duckdb_extensions() WHERE loaded").fetchall())
        assert loaded["ducklake"] == loaded["postgres_scanner"] == "NOT_INSTALLED"  # loaded from a file, never installed
        assert conn.execute("SELECT current_database()").fetchone()[0] == lake.ALIAS


def test_replace_partitions_on_a_lake_is_one_transaction(lake_descriptor):
    days = [date(2025, 6, 7), date(2025, 6, 8)]
    with warehouse.connect(lake_descriptor) as conn:
        for d in days:
            assert warehouse.replace_partitions(conn, SPEC, [d], _rows(d, 1)) == 96
        assert warehouse.replace_partitions(conn, SPEC, [days[1]], _rows(days[1], 2)) == 96
        broken = _rows(days[1], 3).assign(qh="not a number")  # the cast fails inside the transaction
        with pytest.raises(duckdb.ConversionException):
            warehouse.replace_partitions(conn, SPEC, [days[1]], broken)
        got = conn.execute("SELECT delivery_day, count(*), min(version), max(version) FROM staging.lake_probe GROUP BY 1 ORDER BY 1").fetchall()
    assert got == [(days[0], 96, 1, 1), (days[1], 96, 2, 2)]  # the failed write lost nothing


def test_a_reader_keeps_its_snapshot_while_a_writer_commits(lake_descriptor):
    day = date(2025, 6, 8)
    with warehouse.connect(lake_descriptor) as writer, warehouse.connect(lake_descriptor) as reader:
        warehouse.replace_partitions(writer, SPEC, [day], _rows(day, 1))
        reader.execute("BEGIN TRANSACTION")
        assert reader.execute("SELECT max(version), count(*) FROM staging.lake_probe").fetchone() == (1, 96)
        warehouse.replace_partitions(writer, SPEC, [day], _rows(day, 2, n=10))  # committed meanwhile
        assert reader.execute("SELECT max(version), count(*) FROM staging.lake_probe").fetchone() == (1, 96)
        reader.execute("COMMIT")
        assert reader.execute("SELECT max(version), count(*) FROM staging.lake_probe").fetchone() == (2, 10)


def test_an_exported_snapshot_taken_during_writes_is_consistent(lake_descriptor):
    """A writer replaces each day in two tables in one transaction, version after version; warehouse snapshots (the
    DuckDB file people and BI tools read) taken meanwhile always hold whole days and the same version in both."""
    days = [date(2025, 6, d) for d in (6, 7, 8)]
    with warehouse.connect(lake_descriptor) as conn:
        for spec in (SPEC, TWIN):
            warehouse.replace_partitions(conn, spec, days, pd.concat([_rows(d, 0) for d in days]))
    stop, errors = threading.Event(), []

    def write() -> None:
        try:
            with warehouse.connect(lake_descriptor) as conn:
                version = 0
                while not stop.is_set():
                    version += 1
                    for d in days:
                        with warehouse.transaction(conn):
                            for spec in (SPEC, TWIN):
                                warehouse.replace_partitions(conn, spec, [d], _rows(d, version), in_transaction=True)
        except Exception as exc:  # reported below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    seen = []
    try:
        for _ in range(4):
            with warehouse.connect(lake_descriptor, read_only=True) as conn:
                snap = write_snapshot(conn, snapshot_path(lake_descriptor))
            with duckdb.connect(str(snap.path), read_only=True) as s:
                per_day = s.execute(
                    "SELECT a.delivery_day, a.n, a.v, b.n, b.v FROM "
                    "(SELECT delivery_day, count(*) n, min(version) v, max(version) hi FROM staging.lake_probe GROUP BY 1) a "
                    "JOIN (SELECT delivery_day, count(*) n, min(version) v FROM marts.lake_twin GROUP BY 1) b USING (delivery_day) "
                    "WHERE a.v = a.hi ORDER BY 1"
                ).fetchall()
            assert [r[0] for r in per_day] == days  # every day, each of one version only
            for day, n_a, v_a, n_b, v_b in per_day:
                assert (n_a, n_b) == (96, 96), day
                assert v_a == v_b, f"{day}: the two tables of one transaction show versions {v_a} and {v_b}"
            seen.append(max(r[2] for r in per_day))
    finally:
        stop.set()
        writer.join()
    assert not errors, errors
    assert seen[-1] > 0  # the writer did commit while the snapshots were taken
    assert snap.path.name == "snapshot.duckdb" and snap.path.parent == lake_descriptor.parent


def test_every_declared_table_is_created_up_front_once(lake_descriptor):
    """`make cluster` creates every table before parallel runs (DuckLake 1.4.4 cannot check a commit against another
    transaction's new catalog entry); doing it again changes nothing in the catalog."""
    from flexpower_dagster.cluster import create_declared_tables

    names = create_declared_tables(lake_descriptor)
    assert {"staging.vpp_forecasts", "staging.loaded_files", "staging.rejected_files", "marts.data_quality_results",
            "marts.invoices", "marts.alerts"} <= set(names)
    with warehouse.connect(lake_descriptor) as conn:
        tables = {f"{s}.{t}" for s, t in conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_type = 'BASE TABLE'").fetchall()}
        assert tables == set(names)
        before = conn.execute("SELECT max(snapshot_id) FROM lake.snapshots()").fetchone()[0]
    create_declared_tables(lake_descriptor)
    with warehouse.connect(lake_descriptor) as conn:
        assert conn.execute("SELECT max(snapshot_id) FROM lake.snapshots()").fetchone()[0] == before
