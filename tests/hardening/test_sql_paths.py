"""Hardening issue 22, item 3: no path or value is ever spliced into SQL. Every configured path (landing zone,
warehouse, data dir) holds an apostrophe, a semicolon, a double quote and non-ASCII letters; the imbalance-price
staging (whose parsed frames are cached as Parquet in the data dir: ``COPY ... TO ?``) and the warehouse
snapshot (``ATTACH`` through ``lib/sql.sql_string``, the database name through ``lib/sql.quote``) still work."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import pytest

from flexpower_dagster.defs.warehouse.assets import warehouse_snapshot
from flexpower_dagster.defs.warehouse.snapshot import snapshot_path
from flexpower_dagster.lib.dagster.resources import build_resources
from flexpower_dagster.lib.landing import facts as facts_module
from flexpower_dagster.lib.sql import sql_string
from flexpower_dagster.settings import Settings

from support import SAMPLE_DAY, staging_asset

HOSTILE = "it's; DROP TABLE x; --\"ä€"


def test_sql_string_doubles_quotes_and_refuses_nul():
    assert sql_string("/a/it's") == "'/a/it''s'"
    with duckdb.connect() as conn:
        assert conn.execute(f"SELECT {sql_string(HOSTILE)}").fetchone()[0] == HOSTILE
    with pytest.raises(ValueError):
        sql_string("a\x00b")


def test_quotes_semicolons_and_non_ascii_in_every_configured_path(tmp_path, sample_dir, monkeypatch):
    # keep every parsed frame (normally only parses dearer than writing them), so the store's path is exercised
    monkeypatch.setattr(facts_module, "KEEP_PARSED_FROM_SECONDS", 0.0)
    base = tmp_path / HOSTILE
    landing = base / f"landing {HOSTILE}"
    shutil.copytree(sample_dir, landing)
    settings = Settings(landing_dir=landing, warehouse=base / "ware'house;ö" / "flex'power;\"ü.duckdb",
                        data_dir=base / f"da'ta;ß {HOSTILE}")
    settings.warehouse.parent.mkdir(parents=True)
    assets = [staging_asset(n) for n in ("crm_contracts", "imbalance_price_final", "imbalance_price_estimates")]
    result = dg.materialize([*assets, warehouse_snapshot], partition_key=SAMPLE_DAY, resources=build_resources(settings),
                            selection=[a.key for a in assets])
    assert result.success
    assert list(settings.data_dir.rglob("*.parquet")), "the parsed frames are cached in the data dir"
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        final = conn.execute("SELECT count(*) FROM staging.imbalance_price_final").fetchone()[0]
        assert final == 86  # the sample's final reBAP has gaps
        assert conn.execute("SELECT count(*) FROM staging.rejected_files").fetchone()[0] == 0
    assert dg.materialize([warehouse_snapshot], resources=build_resources(settings)).success
    with duckdb.connect(str(snapshot_path(settings.warehouse)), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM staging.imbalance_price_final").fetchone()[0] == final
    # a second run reads the cached frames back from the data dir
    assert dg.materialize(assets, partition_key=SAMPLE_DAY, resources=build_resources(settings)).success


def test_the_report_row_group_rewrite_binds_its_paths(tmp_path):
    from flexpower_dagster.defs.reporting.site import SOURCE_NAME, rewrite_row_groups

    reports = tmp_path / f"reports {HOSTILE}"
    folder = reports / ".evidence" / "template" / "static" / "data" / SOURCE_NAME / "t"
    folder.mkdir(parents=True)
    with duckdb.connect() as conn:
        conn.execute("COPY (SELECT range AS i FROM range(100)) TO ? (FORMAT parquet)", [str(folder / "t.parquet")])
    (note,) = rewrite_row_groups(reports, {"t": 10})
    assert "t.parquet rewritten" in note
