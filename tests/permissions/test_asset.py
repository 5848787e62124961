"""The ``audience_snapshots`` asset: built by make run's report job after the marts and invoices it copies, writing
every internal audience's file under the data directory."""

from __future__ import annotations

import shutil
import stat

import dagster as dg
import duckdb

from flexpower_dagster.definitions import build_definitions
from flexpower_dagster.defs.permissions.assets import audience_snapshots, upstream_keys
from flexpower_dagster.lib.dagster.jobs import REPORT_ASSETS, REPORT_JOB

from support import resources_for


def test_the_asset_writes_every_internal_snapshot(policy, permissions_warehouse, tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    shutil.copy(permissions_warehouse.warehouse, wh)
    data = tmp_path / "data"
    result = dg.materialize([audience_snapshots], resources=resources_for(permissions_warehouse.landing_dir, wh, data))
    assert result.success
    files = sorted((data / "snapshots").iterdir())
    assert [p.name for p in files] == ["data-engineering.duckdb", "finance.duckdb", "management.duckdb", "trading.duckdb"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o444 for p in files)
    md = result.asset_materializations_for_node("audience_snapshots")[0].metadata
    assert md["policy_sha256"].value == policy.sha256
    assert md["audiences (count)"].value == 4
    assert md["trading tables (count)"].value == len(policy.audiences["trading"].grants)
    with duckdb.connect(str(data / "snapshots" / "management.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM marts.invoices").fetchone()[0] == 5
    # again: the read-only files are replaced, not refused
    assert dg.materialize([audience_snapshots], resources=resources_for(permissions_warehouse.landing_dir, wh, data)).success
    assert sorted(p.name for p in (data / "snapshots").iterdir()) == [p.name for p in files]


def test_it_runs_after_every_mart_the_policy_copies_and_in_the_report_job(policy):
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("audience_snapshots"))
    deps = set(node.parent_keys)
    assert deps == set(upstream_keys(policy))
    # no dependency on an asset that does not exist (it would show as an external asset), and every mart is one:
    # data-engineering copies everything
    assert all(graph.has(k) and graph.get(k).is_materializable for k in deps)
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] == "marts" and graph.get(k).is_materializable}
    assert deps == marts
    assert {dg.AssetKey(["marts", "invoices"]), dg.AssetKey(["marts", "invoice_documents"])} <= deps
    assert node.group_name == "reporting"
    assert "audience_snapshots" in REPORT_ASSETS
    assert dg.AssetKey("audience_snapshots") in defs.resolve_job_def(REPORT_JOB).asset_layer.executable_asset_keys
