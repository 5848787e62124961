"""The two lanes of the run queue (docs/automation.md, "Concurrency"; lib/dagster/lanes.py): one warehouse writer at a
time, and beside it one site build that never opens the warehouse.

* every step of the definitions (assets and checks) is in a pool; every step that can open the live warehouse (the
  warehouse resource, the warehouse IO manager through an input) is in the ``warehouse`` pool; the ``site`` steps get
  no warehouse resource and load no input, and the automation never puts a snapshot step and a site build in one run;
* the instance of ``dagster.yaml`` admits, through Dagster's own queue logic (the ``QueuedRunCoordinator`` daemon's
  dequeue pass), at most one run holding the ``warehouse`` pool, a site build beside it, and never a snapshot run
  while a site is built from the snapshots; ``dagster.cluster.yaml`` keeps the same pools without a limit;
* the report site builds while another process holds the live warehouse (a writer's lock), and keeps a desk data file
  the position step wrote into the published site during the build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

from flexpower_dagster.definitions import defs
from flexpower_dagster.defs.position.desk import DESK_FILE
from flexpower_dagster.defs.reporting import assets as report_assets
from flexpower_dagster.defs.reporting.site import BuildResult
from flexpower_dagster.defs.warehouse.snapshot import snapshot_path, write_snapshot
from flexpower_dagster.lib.dagster.automation import REBUILD_SENSOR_NAME, REPORT_WRITES, SITE_SENSOR_NAME
from flexpower_dagster.lib.dagster.jobs import REPORT_JOB, WRITES_TAG
from flexpower_dagster.lib.dagster.lanes import POOLS, SITE_POOL, WAREHOUSE_POOL, ensure_pool_limits
from flexpower_dagster.lib.dagster.resources import build_resources
from flexpower_dagster.lib.dagster.sensors import PRIORITY_TAG
from flexpower_dagster.lib.paths import site_lock
from flexpower_dagster.settings import PROJECT_ROOT, Settings

#: Resource keys whose use opens the live warehouse.
WAREHOUSE_RESOURCES = {"warehouse"}
SITE_ASSETS = {dg.AssetKey("report_site"), dg.AssetKey("audience_sites")}


def _nodes():
    """Every executable node of the definitions: (name, pool, required resources, loads an input, keys)."""
    for node in [*(defs.assets or ()), *(defs.asset_checks or ())]:
        op = node.node_def
        keys = set(getattr(node, "keys", ())) | {k.asset_key for k in getattr(node, "check_keys", ())}
        loads = any(not i.dagster_type.is_nothing for i in op.input_defs)  # a deps-only input loads nothing
        yield op.name, op.pool, set(node.required_resource_keys), loads, keys


def test_every_step_is_in_a_pool_and_every_step_that_opens_the_warehouse_is_in_the_writer_pool():
    nodes = list(_nodes())
    assert len(nodes) > 40
    pools = {name: pool for name, pool, *_ in nodes}
    assert {n for n, p in pools.items() if p not in POOLS} == set(), "a step outside the two lanes"
    for name, pool, resources, loads_input, _keys in nodes:
        if resources & WAREHOUSE_RESOURCES or loads_input:  # an input is loaded by the warehouse IO manager
            assert pool == WAREHOUSE_POOL, f"{name} opens the warehouse but is in pool {pool}"
    site = {name: (resources, loads_input, keys) for name, pool, resources, loads_input, keys in nodes if pool == SITE_POOL}
    assert {k for *_, keys in site.values() for k in keys} == SITE_ASSETS
    for name, (resources, loads_input, _keys) in site.items():
        assert not resources & WAREHOUSE_RESOURCES and not loads_input, name
        assert "snapshot" in resources, name  # the read-only copy instead


def test_the_site_builds_read_the_snapshot_the_writer_lane_writes():
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("report_site")).parent_keys == {dg.AssetKey("warehouse_snapshot")}
    assert dg.AssetKey("warehouse_snapshot") in graph.get(dg.AssetKey("audience_sites")).parent_keys
    resources = build_resources(Settings(landing_dir=Path("/l"), warehouse=Path("/w/flexpower.duckdb"), data_dir=Path("/d")))
    assert Path(resources["snapshot"].path) == snapshot_path("/w/flexpower.duckdb")


def test_no_automation_run_mixes_a_snapshot_step_and_a_site_build():
    """A run is admitted by the pools of all its steps: the rebuild sensor requests only writer-lane assets, the site
    sensor only the site builds; both carry the report writes tag (one of them at a time)."""
    graph = defs.resolve_asset_graph()
    sensors = {s.name: s for s in defs.sensors}
    pool_of = {k: pool for _n, pool, _r, _i, keys in _nodes() for k in keys}
    rebuild = sensors[REBUILD_SENSOR_NAME].asset_selection.resolve(graph)
    site = sensors[SITE_SENSOR_NAME].asset_selection.resolve(graph)
    assert {dg.AssetKey("warehouse_snapshot"), dg.AssetKey("audience_snapshots")} <= rebuild
    assert site == SITE_ASSETS
    assert {pool_of[k] for k in rebuild} == {WAREHOUSE_POOL}
    for name in (REBUILD_SENSOR_NAME, SITE_SENSOR_NAME):
        assert sensors[name].run_tags[WRITES_TAG] == REPORT_WRITES
    others = [s for s in defs.sensors if s.name not in (REBUILD_SENSOR_NAME, SITE_SENSOR_NAME)]
    for sensor in others:
        selection = getattr(sensor, "asset_selection", None)
        if selection is not None:
            assert not selection.resolve(graph) & (site | rebuild), sensor.name


# ------------------------------------------------------------------------------------------------------------------
# the instance: Dagster's own dequeue pass over runs of the definitions' asset job

ORIGIN = RemoteJobOrigin(RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("flexpower_dagster"), "__repository__"),
                         "__ASSET_JOB")


def _config(name: str) -> dict:
    return yaml.safe_load((PROJECT_ROOT / name).read_text())


@pytest.fixture
def instance(tmp_path):
    overrides = {"concurrency": _config("dagster.yaml")["concurrency"],
                 "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"}}
    with dg.instance_for_test(overrides=overrides, temp_dir=str(tmp_path)) as inst:
        assert ensure_pool_limits(inst) == {WAREHOUSE_POOL: 1, SITE_POOL: 1}
        yield inst


JOB = None


def _run(instance, keys, status, priority=0, **tags):
    global JOB
    JOB = JOB or defs.resolve_implicit_global_asset_job_def()
    selection = frozenset(dg.AssetKey.from_user_string(k) for k in keys)
    return instance.create_run_for_job(JOB.get_subset(asset_selection=selection), status=status,
                                       tags={PRIORITY_TAG: str(priority), **tags}, asset_selection=selection,
                                       remote_job_origin=ORIGIN)


def _admitted(instance) -> list[str]:
    daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
    return [r.run_id for r in daemon._get_runs_to_dequeue(instance, instance.get_concurrency_config(), None)]


QUEUED, STARTED = DagsterRunStatus.QUEUED, DagsterRunStatus.STARTED
LANDING = ["staging/vpp_forecasts", "marts/asset_forecast", "marts/portfolio_forecast", "marts/position_qh"]
SITE = ["report_site", "audience_sites"]
SNAPSHOTS = ["warehouse_snapshot", "audience_snapshots"]
REPORT = {WRITES_TAG: REPORT_WRITES}


def test_the_instance_applies_the_pools_per_run_two_runs_in_all(instance):
    config = instance.get_concurrency_config()
    assert config.pool_config.pool_granularity.value == "run" and config.pool_config.default_pool_limit == 1
    assert config.run_queue_config.max_concurrent_runs == 2
    assert {limit["key"] for limit in config.run_queue_config.tag_concurrency_limits} == {WRITES_TAG}
    assert _config("dagster.yaml")["run_queue"] == {"dequeue_interval_seconds": 1}  # the desk: a pass every second


def test_a_landing_run_goes_beside_a_site_build_in_progress_but_one_writer_at_a_time(instance):
    _run(instance, SITE, STARTED, -3, **REPORT)
    landing = _run(instance, LANDING, QUEUED, -1)
    _run(instance, ["marts/imbalance"], QUEUED, -2)  # a follow-up writer: waits for the landing run
    _run(instance, SNAPSHOTS, QUEUED, -3, **REPORT)  # waits: the snapshots never change under a site build
    assert _admitted(instance) == [landing.run_id]


def test_a_writer_in_progress_holds_back_every_writer_but_not_a_site_build(instance):
    _run(instance, ["marts/imbalance"], STARTED, -2)
    _run(instance, LANDING, QUEUED, -1)
    site = _run(instance, SITE, QUEUED, -3, **REPORT)
    _run(instance, SNAPSHOTS, QUEUED, -3, **REPORT)
    assert _admitted(instance) == [site.run_id]


def test_two_writers_queued_together_one_is_admitted(instance):
    first = _run(instance, LANDING, QUEUED, -1)
    _run(instance, ["staging/exchange_private_trades"], QUEUED, -1)
    _run(instance, SNAPSHOTS, QUEUED, -3, **REPORT)
    assert _admitted(instance) == [first.run_id]


def test_a_report_job_run_holds_both_lanes(instance):
    job = next(j for j in defs.jobs if j.name == REPORT_JOB)
    run = instance.create_run_for_job(defs.resolve_job_def(job.name), status=STARTED, tags=dict(job.run_tags),
                                      remote_job_origin=ORIGIN)
    assert run.run_op_concurrency.all_pools == {WAREHOUSE_POOL, SITE_POOL}
    _run(instance, LANDING, QUEUED, -1)
    _run(instance, SITE, QUEUED, -3, **REPORT)
    assert _admitted(instance) == []


def test_the_cluster_profile_has_the_pools_without_a_limit(tmp_path):
    overrides = {"concurrency": _config("dagster.cluster.yaml")["concurrency"],
                 "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"}}
    with dg.instance_for_test(overrides=overrides, temp_dir=str(tmp_path)) as inst:
        config = inst.get_concurrency_config()
        assert config.pool_config.pool_granularity.value == "run" and config.pool_config.default_pool_limit is None
        assert ensure_pool_limits(inst) == {}  # DuckLake: several writers
        _run(inst, LANDING, STARTED, -1, **{"dagster/partition": "2025-06-03"})
        other_day = _run(inst, ["staging/vpp_forecasts"], QUEUED, -1, **{"dagster/partition": "2025-06-04"})
        assert _admitted(inst) == [other_day.run_id]


# ------------------------------------------------------------------------------------------------------------------
# the site build beside a writer


HOLD = """
import duckdb, sys, time
conn = duckdb.connect(sys.argv[1])
conn.execute("CREATE TABLE IF NOT EXISTS marts.held AS SELECT 1 AS x")
print("holding", flush=True)
time.sleep(120)
"""


def test_the_report_site_builds_while_a_writer_holds_the_live_warehouse(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse" / "flexpower.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("CREATE SCHEMA marts")
        conn.execute("CREATE TABLE marts.trading_daily AS SELECT DATE '2025-06-03' AS delivery_day, 1.0 AS net")
        write_snapshot(conn, snapshot_path(warehouse))
    snapshot_taken = snapshot_path(warehouse).stat().st_mtime
    project = tmp_path / "reports"
    (project / "node_modules" / ".bin").mkdir(parents=True)
    (project / "node_modules" / ".bin" / "evidence").write_text("")
    (project / "pages").mkdir()
    published = project / "build"
    (published / "live").mkdir(parents=True)

    def fake_evidence(work, *args, **kwargs):
        # while "Evidence" builds, the position step of the writer lane rewrites the published desk file
        with site_lock(published):
            (published / DESK_FILE).write_text(json.dumps({"written_by": "position step"}))
        os.utime(published / DESK_FILE, (snapshot_taken + 5, snapshot_taken + 5))
        (Path(work) / "build").mkdir(parents=True, exist_ok=True)
        (Path(work) / "build" / "index.html").write_text("<html>overview</html>")
        return BuildResult(returncode=0, seconds=0.1, log="ok", max_rss_mb=1.0, steps={})

    monkeypatch.setattr(report_assets, "run_evidence", fake_evidence)
    monkeypatch.setattr(report_assets, "check_build", lambda result, build: [])
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(duckdb.IOException):  # the live file is locked by the writer: readers fail
            duckdb.connect(str(warehouse), read_only=True)
        resources = build_resources(Settings(landing_dir=tmp_path / "landing", warehouse=warehouse,
                                             data_dir=tmp_path / "data", lock_wait_seconds=0.0))
        started = time.monotonic()
        result = dg.materialize([report_assets.report_site], resources=resources,
                                run_config={"ops": {"report_site": {"config": {"reports_dir": str(project)}}}})
        assert result.success and time.monotonic() - started < 60
    finally:
        holder.kill()
        holder.wait()
    assert (published / "index.html").read_text() == "<html>overview</html>"
    # the desk file the position step wrote during the build is newer than the snapshot's: kept
    assert json.loads((published / DESK_FILE).read_text()) == {"written_by": "position step"}
