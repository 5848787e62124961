"""`make cluster`'s Dagster instance (dagster.cluster.yaml) on the local Postgres, and the run tags its queue limits."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from flexpower_dagster import cluster
from flexpower_dagster.lib.dagster.jobs import ALERTS_JOB, REPORT_JOB, WRITES_TAG, alerts_job, platform_jobs


def test_the_cluster_instance_stores_runs_in_postgres_and_admits_runs_in_parallel(postgres, tmp_path, monkeypatch):
    url = cluster.dagster_postgres_url(postgres)
    assert "@/" in url and f"host={postgres.socket_dir}" in url  # the Unix socket, no TCP host
    monkeypatch.setenv("FLEXPOWER_DAGSTER_PG_URL", url)
    home = tmp_path / "dagster_cluster"
    home.mkdir()
    shutil.copyfile(cluster.INSTANCE_TEMPLATE, home / "dagster.yaml")
    assert postgres.password() not in (home / "dagster.yaml").read_text()  # the password comes from the environment
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs > 1
        limits = {limit["key"]: limit for limit in queue.tag_concurrency_limits}
        for key in ("dagster/partition", WRITES_TAG):
            assert limits[key]["limit"] == 1 and limits[key]["value"] == {"applyLimitPerUniqueValue": True}
        run = instance.create_run_for_job(dg.GraphDefinition("probe").to_job(), tags={"dagster/partition": "2025-06-08"})
        assert instance.get_run_by_id(run.run_id).tags["dagster/partition"] == "2025-06-08"


@pytest.mark.parametrize("job_name, value", [(ALERTS_JOB, "alerts"), (REPORT_JOB, "report")])
def test_the_whole_table_jobs_carry_the_writes_tag(job_name, value):
    jobs = {j.name: j for j in [*platform_jobs(), alerts_job]}
    assert jobs[job_name].run_tags[WRITES_TAG] == value
