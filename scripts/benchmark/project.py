"""The project's runs, driven through its public entry points only.

A run is ``dagster asset materialize -m <code location module> --select ... --partition D`` in a fresh
process, with a fresh warehouse, data directory and ``DAGSTER_HOME`` (a temporary *environment*,
:class:`ProjectEnv`), the module taken from ``workspace.yaml`` (what ``make dev`` loads). After the run
the Dagster instance of that ``DAGSTER_HOME`` is read back (:func:`run_breakdown`): run status and, per
step, the time between ``STEP_START`` and its ``STEP_SUCCESS`` / ``STEP_FAILURE``. Dagster is imported
only there, lazily.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmark.measure import Measured, run_measured
from benchmark.zones import PROJECT_ROOT

#: Every daily asset and check of a delivery day, without the report site (measured on its own).
DAILY_SELECTION = "tag:cadence=daily and not key:report_site"
# the site is built from the warehouse snapshot (docs/automation.md, "Concurrency"): the copy, then the build
SITE_SELECTION = "key:warehouse_snapshot or key:report_site"


def selection_of_keys(*keys: str) -> str:
    """``key:"a/b" or key:"c/d"`` for asset keys written with ``/``."""
    return " or ".join(f'key:"{k}"' for k in keys)


def code_location_module(workspace: Path = PROJECT_ROOT / "workspace.yaml") -> str:
    """The Python module of the project's code location, as ``workspace.yaml`` names it."""
    import yaml  # PyYAML: a dependency of Dagster, so present wherever the project runs

    doc = yaml.safe_load(workspace.read_text())
    for entry in doc.get("load_from", []):
        module = (entry.get("python_module") or {}).get("module_name") if isinstance(entry, dict) else None
        if module:
            return module
    raise SystemExit(f"{workspace} names no python_module to load")


def dagster_cli() -> str:
    """The ``dagster`` executable of the Python environment the harness runs in (the project's .venv)."""
    exe = Path(sys.executable).parent / "dagster"
    return str(exe) if exe.exists() else "dagster"


@dataclass
class ProjectEnv:
    """A temporary environment of the project: its own warehouse, data dir and Dagster home."""

    root: Path
    landing: Path

    @property
    def home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "flexpower.duckdb"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @classmethod
    def fresh(cls, root: Path, landing: Path) -> ProjectEnv:
        shutil.rmtree(root, ignore_errors=True)
        env = cls(root, landing)
        env.home.mkdir(parents=True)
        env.warehouse.parent.mkdir(parents=True)
        env.data_dir.mkdir(parents=True)
        # the project's instance settings (run queue, monitoring), as `make dev` installs them
        if (PROJECT_ROOT / "dagster.yaml").exists():
            shutil.copy(PROJECT_ROOT / "dagster.yaml", env.home / "dagster.yaml")
        return env

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DAGSTER_HOME=str(self.home),
            FLEXPOWER_LANDING_DIR=str(self.landing),
            FLEXPOWER_WAREHOUSE=str(self.warehouse),
            FLEXPOWER_DATA_DIR=str(self.data_dir),
            # a benchmark zone is complete when the run starts: a freshly generated zone must not be skipped as
            # "still being written" (files younger than the default 10 s settle time are, on purpose, in production)
            FLEXPOWER_SETTLE_SECONDS="0",
        )
        return env

    def run_ids(self) -> list[str]:
        """Ids of the runs recorded in this environment's instance, oldest first."""
        with _instance(self.home) as instance:
            return [r.run_id for r in reversed(instance.get_runs())]


@dataclass
class Materialized:
    """One ``dagster asset materialize`` command: its measurement and the run(s) it recorded."""

    measured: Measured
    runs: list[dict]
    command: list[str]
    log: str

    @property
    def ok(self) -> bool:
        return not self.measured.timed_out and bool(self.runs) and all(r["status"] == "SUCCESS" for r in self.runs)

    def to_dict(self) -> dict:
        return {**self.measured.to_dict(), "runs": self.runs, "command": self.command, "log": self.log}


def materialize(
    env: ProjectEnv,
    selection: str,
    *,
    partition: str | None = None,
    partition_range: str | None = None,
    config: dict | None = None,
    log_path: Path,
    timeout: float | None = None,
) -> Materialized:
    """Materialise ``selection`` (one partition, a range ``A...B``, or unpartitioned) in a new process."""
    before = set(env.run_ids())
    cmd = [dagster_cli(), "asset", "materialize", "-m", code_location_module(), "--select", selection]
    if partition:
        cmd += ["--partition", partition]
    if partition_range:
        cmd += ["--partition-range", partition_range]
    if config:
        cmd += ["--config-json", json.dumps(config)]
    measured = run_measured(cmd, env=env.environ(), cwd=PROJECT_ROOT, log_path=log_path, timeout=timeout)
    new = [r for r in env.run_ids() if r not in before]
    return Materialized(measured, [run_breakdown(env.home, r) for r in new], cmd, str(log_path))


class _instance:
    """``DagsterInstance`` of a Dagster home, as a context manager (Dagster imported lazily)."""

    def __init__(self, home: Path):
        self.home = home

    def __enter__(self):
        from dagster import DagsterInstance

        self.instance = DagsterInstance.from_config(str(self.home))
        return self.instance

    def __exit__(self, *exc) -> None:
        self.instance.dispose()


def run_breakdown(home: Path, run_id: str) -> dict:
    """Status, start/end and per-step seconds of one run, from the event log of the instance at ``home``."""
    from dagster import DagsterEventType

    kinds = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE,
             DagsterEventType.STEP_SKIPPED, DagsterEventType.RUN_START, DagsterEventType.RUN_SUCCESS,
             DagsterEventType.RUN_FAILURE}
    with _instance(home) as instance:
        run = instance.get_run_by_id(run_id)
        events = instance.all_logs(run_id, of_type=kinds)
        partition = run.tags.get("dagster/partition") if run else None
        start_end = {}
        steps: dict[str, dict] = {}
        for e in events:
            kind = e.dagster_event.event_type
            if kind in (DagsterEventType.RUN_START, DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE):
                start_end["start" if kind == DagsterEventType.RUN_START else "end"] = e.timestamp
                continue
            step = steps.setdefault(e.step_key, {"step": e.step_key})
            if kind == DagsterEventType.STEP_START:
                step["start"] = e.timestamp
            else:
                step["end"] = e.timestamp
                step["status"] = kind.value.removeprefix("STEP_")
        out_steps = []
        for s in steps.values():
            seconds = s["end"] - s["start"] if "start" in s and "end" in s else None
            out_steps.append({"step": s["step"], "seconds": seconds, "status": s.get("status", "NOT FINISHED")})
        out_steps.sort(key=lambda s: -(s["seconds"] or 0))
        return {
            "run_id": run_id,
            "status": run.status.value if run else "UNKNOWN",
            "partition": partition,
            "partition_range": [run.tags.get("dagster/asset_partition_range_start"), run.tags.get("dagster/asset_partition_range_end")]
            if run and "dagster/asset_partition_range_start" in run.tags else None,
            "run_seconds": (start_end["end"] - start_end["start"]) if {"start", "end"} <= start_end.keys() else None,
            "steps": out_steps,
        }


def steps_total(runs: list[dict]) -> float:
    return sum(s["seconds"] or 0.0 for r in runs for s in r["steps"])


def failed_steps(runs: list[dict]) -> list[str]:
    return [s["step"] for r in runs for s in r["steps"] if s["status"] != "SUCCESS"]


# ---------------------------------------------------------------------- what the runs actually built


def _covers(run: dict, day: str) -> bool:
    """The run was for ``day`` (ISO): its partition, or a partition range holding it."""
    if run.get("partition") == day:
        return True
    first, last = (run.get("partition_range") or [None, None])[:2]
    return bool(first and last) and first <= day <= last


def coverage(days: list, runs: list[dict]) -> dict:
    """What ``runs`` (:func:`run_breakdown` results) built of ``days``, counted from the run results, never from
    the commands issued: ``runs_executed``; ``runs_per_day`` (runs recorded for each day); ``not_run`` (days no
    run was recorded for, e.g. a partition the CLI refused); ``failed`` (days whose runs all failed);
    ``not_built`` = both, in day order."""
    iso = [d.isoformat() if hasattr(d, "isoformat") else str(d) for d in days]
    per_day = {d: sum(_covers(r, d) for r in runs) for d in iso}
    succeeded = {d for d in iso if any(_covers(r, d) and r.get("status") == "SUCCESS" for r in runs)}
    not_run = [d for d in iso if per_day[d] == 0]
    failed = [d for d in iso if per_day[d] and d not in succeeded]
    return {
        "runs_executed": len(runs),
        "runs_per_day": per_day,
        "not_run": not_run,
        "failed": failed,
        "not_built": [d for d in iso if d not in succeeded],
    }


def describe_runs(days: list, runs: list[dict], *, range_run: bool = False) -> str:
    """How ``days`` were built, from the run results: ``one run for the range``, ``3 runs, one per day`` — or
    what is missing: ``2 runs for 3 days; no run for 2025-06-10``."""
    c = coverage(days, runs)
    n, k = c["runs_executed"], len(days)
    if range_run and n == 1 and not c["not_run"]:
        head = "one run for the range"
    elif k == 1:
        head = "one run" if n == 1 else f"{n} runs for one day"
    elif n == k and all(v == 1 for v in c["runs_per_day"].values()):
        head = f"{n} runs, one per day"
    else:
        head = f"{n} run{'s' if n != 1 else ''} for {k} days"
    gaps = []
    if c["not_run"]:
        gaps.append("no run for " + ", ".join(c["not_run"]))
    if c["failed"]:
        gaps.append("failed: " + ", ".join(c["failed"]))
    return "; ".join([head, *gaps])


def incremental_check(check: dict | None, setup: dict, update: dict) -> dict:
    """The incremental comparison's verdict: the asset_forecast check of the floor, failed (``ok`` false, an
    ``error`` naming them) when the setup or the update did not build every day: a day not built leaves the
    warehouse without or with old rows, so its differences say nothing about the incremental update."""
    out = dict(check or {"differences": None, "project_rows": 0})
    missing = {part: p.get("not_built") or [] for part, p in (("setup", setup), ("update", update))}
    out["not_built"] = missing
    if any(missing.values()):
        out["ok"] = False
        out["error"] = "days not built: " + "; ".join(f"{part} {', '.join(days)}" for part, days in missing.items() if days)
    else:
        out.setdefault("ok", out.get("differences") == 0)
    return out
