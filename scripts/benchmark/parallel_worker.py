"""One worker of the parallel backfill benchmark (``scripts/benchmark_parallel.py``): a process that takes delivery
days from a shared queue, one at a time, and runs ``delivery_day_job`` for each (every daily asset and check of the
day but the report site), as ``make run`` does: a run of the code location executed in this process
(:func:`flexpower_dagster.lib.dagster.launch.execute_job`), against ``DagsterInstance.get()``.

    python scripts/benchmark/parallel_worker.py <queue dir> <worker name>

The warehouse, landing zone, data folder and Dagster home come from the environment (``FLEXPOWER_WAREHOUSE`` names a
DuckDB file or a DuckLake descriptor, ``DAGSTER_HOME``). The queue is a folder: ``days`` lists the days in order and a
worker claims a day by creating ``claimed/<day>`` exclusively (``O_CREAT | O_EXCL``: exactly one worker wins it), so
P workers drain one queue without a coordinator. One JSON line per day on stdout: day, worker, success, start and end
(epoch seconds), the failed steps (a step failing only because a blocking data-quality check failed is a finding, not
a failure, as in ``make run``), the failed checks and the seconds of each step.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def claim(queue: Path) -> str | None:
    """The next unclaimed day of ``queue`` (in the order of ``days``), claimed for this process; None when drained."""
    claimed = queue / "claimed"
    for day in (queue / "days").read_text().split():
        try:
            fd = os.open(claimed / day, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        return day
    return None


def run_day(instance, day: str) -> dict:
    from flexpower_dagster.lib.dagster.jobs import DELIVERY_DAY_JOB, ORIGIN_TAG
    from flexpower_dagster.lib.dagster.launch import execute_job
    from flexpower_dagster.run_all import QUIET_RUN_CONFIG, _failure_text, _is_blocking_check_failure

    started = time.time()
    record = execute_job(instance, DELIVERY_DAY_JOB, partition_key=day, tags={ORIGIN_TAG: "benchmark_parallel"},
                         run_config=QUIET_RUN_CONFIG)
    failed_steps = [_failure_text(e) for e in record.step_failures if not _is_blocking_check_failure(e)]
    failed_checks = sorted(f"{'/'.join(ev.asset_key.path)}:{ev.check_name}" for ev in record.check_evaluations
                           if not ev.passed and ev.severity.value == "ERROR")
    ok = not failed_steps and (record.success or bool(failed_checks))
    if not ok and not failed_steps:
        failed_steps = [f"run {record.run.run_id} ended {record.run.status.value}"]
    return {"day": day, "success": ok, "started": started, "ended": time.time(), "run_id": record.run.run_id,
            "failed_steps": failed_steps, "failed_checks": failed_checks, "steps": step_seconds(instance, record.run.run_id)}


def step_seconds(instance, run_id: str) -> dict[str, float]:
    """Seconds from each step's start to its success or failure, from the run's event log."""
    from dagster import DagsterEventType

    kinds = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}
    start, out = {}, {}
    for e in instance.all_logs(run_id, of_type=kinds):
        if e.dagster_event.event_type == DagsterEventType.STEP_START:
            start[e.step_key] = e.timestamp
        elif e.step_key in start:
            out[e.step_key] = round(e.timestamp - start[e.step_key], 2)
    return out


def main(queue_dir: str, worker: str) -> int:
    import dagster as dg

    queue = Path(queue_dir)
    failures = 0
    with dg.DagsterInstance.get() as instance:
        while (day := claim(queue)) is not None:
            try:
                out = run_day(instance, day)
            except Exception as exc:  # one broken day must not hide the others
                out = {"day": day, "success": False, "started": None, "ended": time.time(),
                       "failed_steps": [f"{type(exc).__name__}: {str(exc)[:500]}"], "failed_checks": []}
            out["worker"] = worker
            failures += not out["success"]
            print(json.dumps(out), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
