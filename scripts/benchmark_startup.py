"""Run start-up (issue 27, point 3): from a run worker's process start to its first step, for a staging run.

``python scripts/benchmark_startup.py [--runs 5]`` (``make benchmark-startup``) materialises
``staging/exchange_private_trades`` of the sample day with ``dagster asset materialize`` in a fresh process,
``--runs`` times, each in a temporary Dagster home and warehouse (``/tmp``), and reads from the run's event log:

* process start -> first event of the run (Python, Dagster, the code location's definitions, the instance, the run);
* -> first step started (resources, the step's set-up): the start-up the goal is about (<= 3 s);
* -> run finished (the staging step and its data-quality checks, where Great Expectations is imported, once per
  process).

Also the CPU seconds of ``import flexpower_dagster.definitions`` in a fresh process (load-independent) and whether
that import brought in a module that must wait for the step that needs it (Great Expectations, scipy, fpdf).
The machine load (``uptime``) is printed with the figures: on the shared 2-core machine wall times grow with it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = PROJECT_ROOT.parent / "shared" / "datasets" / "flexpower-2025-06-08"
HEAVY = ("great_expectations", "scipy", "fpdf", "playwright", "matplotlib")
ASSET, PARTITION = "staging/exchange_private_trades", "2025-06-08"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def import_cpu() -> tuple[float, float, list[str]]:
    """(wall s, CPU s, heavy modules loaded) of importing the code location in a fresh process."""
    code = (
        "import resource, sys, time, warnings; warnings.simplefilter('ignore'); t = time.perf_counter(); "
        "import flexpower_dagster.definitions; u = resource.getrusage(resource.RUSAGE_SELF); "
        f"print(time.perf_counter() - t, u.ru_utime + u.ru_stime, ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    wall, cpu, heavy = [*out.stdout.strip().split(" "), ""][:3]
    return float(wall), float(cpu), [h for h in heavy.split(",") if h]


def one_run(root: Path, landing: Path) -> dict:
    """One ``dagster asset materialize`` of the staging asset in a fresh home; the phases from its event log."""
    home = root / "home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = dict(os.environ, DAGSTER_HOME=str(home), FLEXPOWER_LANDING_DIR=str(landing),
               FLEXPOWER_WAREHOUSE=str(root / "warehouse.duckdb"), FLEXPOWER_DATA_DIR=str(root / "data"),
               FLEXPOWER_REPORTS_DIR=str(root / "reports"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "dagster"), "asset", "materialize", "-m", "flexpower_dagster.definitions",
                    "--select", ASSET, "--partition", PARTITION], cwd=PROJECT_ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.environ["DAGSTER_HOME"] = str(home)
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_runs(limit=1)[0]
        events = [e for e in instance.all_logs(run.run_id) if e.dagster_event is not None]
    steps = [e.timestamp for e in events if e.dagster_event.event_type == dg.DagsterEventType.STEP_START]
    return {
        "first_event": min(e.timestamp for e in events) - t0,
        "first_step": min(steps) - t0,
        "run_end": max(e.timestamp for e in events) - t0,
        "cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--landing", type=Path, default=SAMPLE)
    args = parser.parse_args()
    print(f"load before: {uptime()}", flush=True)
    imports = [import_cpu() for _ in range(3)]
    runs = []
    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        for i in range(args.runs):
            runs.append(one_run(Path(tmp) / str(i), args.landing))
            print(" ".join(f"{k} {v:.2f} s" for k, v in runs[-1].items()), flush=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"import flexpower_dagster.definitions: median {statistics.median(i[0] for i in imports):.2f} s wall, "
          f"{statistics.median(i[1] for i in imports):.2f} s CPU; heavy modules at import: {imports[0][2] or 'none'}")
    print(f"staging run ({ASSET} {PARTITION}, {args.runs} runs, median): process start -> first event "
          f"{med['first_event']:.2f} s, -> first step {med['first_step']:.2f} s (worst {max(r['first_step'] for r in runs):.2f} s), "
          f"-> run end {med['run_end']:.2f} s; CPU of the whole command {med['cpu']:.2f} s")
    print(f"load after: {uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
