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
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster import DagsterEventType, DagsterRunStatus, RunsFilter

from flexpower_dagster.lib.failures import failure_line

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


# ---- run failures as alerts (defs/ops/alerts.py) ----------------------------------------------------------

#: Failed runs younger than this are looked at by the alert evaluation.
RUN_FAILURE_LOOKBACK_SECONDS = 7 * 24 * 3600.0


def _partition(run: dg.DagsterRun) -> str | None:
    tags = run.tags
    if tags.get("dagster/partition"):
        return tags["dagster/partition"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return f"{start}..{end}" if start and end else None


def _failed_steps(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    out = []
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records:
        event = record.event_log_entry.dagster_event
        data = event.step_failure_data if event is not None else None
        message = ""
        if data is not None and data.user_failure_data is not None and data.user_failure_data.description:
            message = data.user_failure_data.description
        elif data is not None and data.error is not None:
            # Dagster wraps the user's exception, and a failed ROLLBACK hides the failed write: name the
            # innermost cause, the OS error with its path where there is one
            message = failure_line(data.error)
        out.append((event.step_key if event is not None else "?", message[:2000]))
    return out


def _run_failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_FAILURE).records
    return (records[-1].event_log_entry.message or "the run failed")[:2000] if records else "the run failed"


def _materialized_after(instance: dg.DagsterInstance, step_key: str, partition: str | None, after: float) -> bool:
    """The step's asset was materialised (for the partition) after ``after``: a later run fixed it."""
    key = dg.AssetKey(step_key.split("__"))
    partitions = [partition] if partition and ".." not in partition else None
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=partitions, after_timestamp=after), limit=1
    ).records
    return bool(records)


def _succeeded_after(instance: dg.DagsterInstance, run: dg.DagsterRun, partition: str | None, after: float) -> bool:
    tags = {"dagster/partition": partition} if partition and ".." not in partition else {}
    later = instance.get_run_records(
        RunsFilter(job_name=run.job_name, statuses=[DagsterRunStatus.SUCCESS], tags=tags,
                   updated_after=datetime.fromtimestamp(after, UTC)), limit=1
    )
    return bool(later)


def run_failure_findings(instance: dg.DagsterInstance, now: float | None = None, ignore_jobs: tuple[str, ...] = ()) -> list:
    """One finding per failing step (or failed run without a failing step) of a job, listing the partitions
    it failed for, over failed runs of the last RUN_FAILURE_LOOKBACK_SECONDS that no later run has fixed (the
    step's asset materialised again for the partition, or the same job and partition succeeded). The newest
    failure of a step and partition wins; the newest of the step names the run and the error."""
    from flexpower_dagster.defs.ops.alerts import Finding, compact

    now = time.time() if now is None else now
    records = instance.get_run_records(
        RunsFilter(statuses=[DagsterRunStatus.FAILURE],
                   updated_after=datetime.fromtimestamp(now - RUN_FAILURE_LOOKBACK_SECONDS, UTC)),
        limit=1000,
    )
    failing: dict[str, list[tuple]] = {}  # cause key -> (run, partition, step, error, ended), newest first
    decided: set[tuple[str, str]] = set()  # (cause, partition) whose newest failure was looked at
    for record in records:  # newest first
        run = record.dagster_run
        if run.job_name in ignore_jobs:
            continue
        partition = _partition(run)
        ended = record.end_time or record.update_timestamp.timestamp()
        steps = _failed_steps(instance, run.run_id) or [("(run)", _run_failure_message(instance, run.run_id))]
        for step, error in steps:
            key = f"run_failure:{run.job_name}:{step}"
            if (key, partition or "-") in decided:
                continue
            decided.add((key, partition or "-"))
            fixed = (_materialized_after(instance, step, partition, ended) if step != "(run)"
                     else _succeeded_after(instance, run, partition, ended))
            if not fixed:
                failing.setdefault(key, []).append((run, partition, step, error, ended))
    findings: list[Finding] = []
    for key, failures in failing.items():
        run, partition, step, error, ended = failures[0]
        partitions = tuple(sorted({p for _, p, *_ in failures if p}))
        covers = compact(partitions)
        overrun = "time limit" in error
        others = len(failures) - 1
        findings.append(Finding(
            alert_key=key, kind="run_failure", severity="error", entity=step, source=run.job_name,
            covered=partitions, title=f"failed {run.job_name} {step} {compact(partitions, limit=4)}".strip(),
            message=(f"Run {run.run_id} ({run.job_name}{', partition ' + partition if partition else ''}) failed "
                     f"in step {step}: {error.splitlines()[0] if error else 'no message'}"
                     + (f" (the step is failing for {len(partitions)} partitions: {covers})" if others else "")),
            action=("The step overran its time limit: find what held it, then re-execute the run."
                    if overrun else "Open the run in the Dagster UI, read the step's error, fix the cause and "
                    "re-execute from failure" + (" for each partition listed." if others else ".")),
            link=f"/runs/{run.run_id}", since=datetime.fromtimestamp(min(f[4] for f in failures), UTC).replace(tzinfo=None),
            details={"run_id": run.run_id, "job": run.job_name, "step": step, "partition": partition,
                     "error": error, "origin": run.tags.get("flexpower/origin"),
                     "runs": {p or "-": r.run_id for r, p, *_ in failures}},
        ))
    return findings
