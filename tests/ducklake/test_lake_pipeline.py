"""The whole pipeline on the DuckLake backend: the same figures as on the DuckDB file, and two runs writing at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flexpower_dagster.cluster import create_declared_tables, declared_tables
from flexpower_dagster.lib import warehouse
from flexpower_dagster.lib.checksums import compare, schema_checksums
from flexpower_dagster.settings import Settings

from support import (
    CHECKSUM_EXCLUDED_TABLES,
    GOLDEN_DIR,
    SAMPLE_DAY,
    SAMPLE_MONTH,
    contracts_dependant_probe,
    demo_landing,
    materialize_day,
    materialize_month,
)

RUN_SCRIPT = Path(__file__).with_name("lake_run.py")
RUN_TIMEOUT_SECONDS = 1200


@pytest.mark.slow  # a whole day and month beyond the session's shared datasets
def test_the_sample_day_and_month_on_ducklake_give_the_golden_figures(lake_descriptor, sample_dir, tmp_path):
    """The same checksums as the DuckDB file (tests/golden/sample_day_marts.json, test_marts_checksums.py): the staging
    and marts SQL runs unchanged on the lake; the tables are created by the runs themselves (one writer)."""
    settings = Settings(landing_dir=sample_dir, warehouse=lake_descriptor, data_dir=tmp_path / "data")
    materialize_day(settings, SAMPLE_DAY, raise_on_error=False, extra_assets=[contracts_dependant_probe()])
    month = materialize_month(settings, SAMPLE_MONTH, raise_on_error=False)
    assert month.success
    reference = json.loads((GOLDEN_DIR / "sample_day_marts.json").read_text())
    with warehouse.connect(lake_descriptor, read_only=True) as conn:
        current = schema_checksums(conn, "marts", reference=reference, exclude_tables=CHECKSUM_EXCLUDED_TABLES)
    result = compare(reference, current)
    assert result.identical, f"marts on DuckLake differ from sample_day_marts.json:\n{result.report()}"


@pytest.mark.slow
@pytest.mark.e2e  # two run processes
def test_two_runs_writing_different_days_at_once_both_succeed_and_lose_no_rows(lake_descriptor, tmp_path):
    """Two processes each materialise every daily asset of one day of the small demo case on one lake, started
    together (as the cluster's run queue admits them); both succeed, their runs overlap in time, and every
    partition holds exactly the rows its run reported writing."""
    landing = demo_landing(tmp_path / "landing")
    create_declared_tables(lake_descriptor)  # as `make cluster` does before admitting parallel runs
    start = tmp_path / "start"
    procs = {
        day: subprocess.Popen(
            [sys.executable, str(RUN_SCRIPT), str(lake_descriptor), str(landing), str(tmp_path / "data"), day, str(start)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for day in ("2025-06-07", "2025-06-08")
    }
    start.touch()
    runs = {}
    for day, proc in procs.items():
        out, err = proc.communicate(timeout=RUN_TIMEOUT_SECONDS)
        assert proc.returncode == 0, f"run of {day} crashed:\n{err[-3000:]}"
        runs[day] = json.loads(out.strip().splitlines()[-1])
    for day, run in runs.items():
        assert run["success"], f"run of {day} failed: {run['failures']}"
    assert max(r["started"] for r in runs.values()) < min(r["ended"] for r in runs.values()), "the runs did not overlap"

    partition_column = {s.qualified_name: s.partition_column for s in declared_tables()}
    with warehouse.connect(lake_descriptor, read_only=True) as conn:
        for day, run in runs.items():
            assert len(run["rows"]) >= 20, run["rows"]  # every staging source and mart reported its rows
            for asset, reported in run["rows"].items():
                table = asset.replace("/", ".")
                stored = conn.execute(
                    f'SELECT count(*) FROM {table} WHERE "{partition_column[table]}" = ?', [day]
                ).fetchone()[0]
                assert stored == reported, f"{table} {day}: {stored} rows stored, the run wrote {reported}"
