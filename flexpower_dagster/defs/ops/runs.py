"""Runs whose worker died (``kill -9``, an out-of-memory kill, a closed laptop) are failed, not left "started".

A run record says STARTED until its worker reports the end. A worker killed without warning never does:
the record stays STARTED forever and, with a run queue that admits one run at a time, blocks every later
run. Dagster's run monitoring detects dead workers only for launchers that can check them (Kubernetes, ...);
the default launcher and runs started from the CLI or ``make run`` have none. So :func:`reap_dead_runs`
looks at each in-progress run's worker process (its pid is in the run's start event) and fails the run when
that process is gone — with a message saying so. It runs at the start of ``make run`` and ``make dev`` and
every minute as the ``dead_run_sensor``. Assumption: runs execute on this machine (one host; a multi-host
deployment uses a launcher with worker health checks, docs/scaling.md).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster import DagsterEventType, DagsterRunStatus, RunsFilter

#: A run younger than this is left alone (its worker may be starting).
GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class DeadRun:
    run_id: str
    job_name: str
    pid: int
    reason: str


def process_alive(pid: int) -> bool:
    """The process exists and is a Python (a Dagster run worker), not another program that took its pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            return b"python" in cmdline.read_bytes() or b"dagster" in cmdline.read_bytes()
        except OSError:
            return True
    return True


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_START, limit=1).records
    event = records[0].event_log_entry.dagster_event if records else None
    return event.pid if event is not None else None


def dead_runs(instance: dg.DagsterInstance, grace_seconds: float = GRACE_SECONDS) -> list[DeadRun]:
    out = []
    now = time.time()
    for record in instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.STARTED])):
        if record.start_time is not None and now - record.start_time < grace_seconds:
            continue
        run = record.dagster_run
        pid = worker_pid(instance, run.run_id)
        if pid is None or process_alive(pid):
            continue
        out.append(DeadRun(run.run_id, run.job_name, pid, f"its worker process (pid {pid}) is gone: killed or crashed"))
    return out


def reap_dead_runs(instance: dg.DagsterInstance, grace_seconds: float = GRACE_SECONDS) -> list[DeadRun]:
    """Fail every started run whose worker process is gone; returns what was failed."""
    reaped = dead_runs(instance, grace_seconds)
    for dead in reaped:
        run = instance.get_run_by_id(dead.run_id)
        if run is not None and run.status == DagsterRunStatus.STARTED:
            instance.report_run_failed(run, f"Marked failed by the dead-run check: {dead.reason}. Re-execute it if needed.")
    return reaped


@dg.sensor(
    name="dead_run_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Fails runs whose worker process died without reporting (kill -9, out of memory), so a dead run never "
        "blocks the run queue (one run at a time). See flexpower_dagster/defs/ops/runs.py."
    ),
)
def dead_run_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    reaped = reap_dead_runs(context.instance)
    for dead in reaped:
        context.log.warning(f"run {dead.run_id} ({dead.job_name}) marked failed: {dead.reason}")
    return dg.SkipReason(f"{len(reaped)} dead run(s) failed" if reaped else "no dead runs")


def main() -> int:
    """``python -m flexpower_dagster.defs.ops.runs``: fail the dead runs of ``DAGSTER_HOME`` (make dev/run)."""
    with dg.DagsterInstance.get() as instance:
        for dead in reap_dead_runs(instance):
            print(f"run {dead.run_id} ({dead.job_name}) was still 'started' but {dead.reason}: marked failed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
