"""Trading-desk latency (issue 24, step 2): from a file's arrival in the landing zone to the updated
``marts.position_qh`` and to the desk page's data file, under ``dagster dev`` (UI, daemon, code server), as
``make dev`` runs it. ``make benchmark-desk`` (not in CI; docs/benchmarks.md, "Trading desk latency"):

1. a temporary root (``build/benchmark/desk/``): DAGSTER_HOME (``dagster.yaml`` copied as ``make dev`` does),
   landing zone, warehouse, data folder and a copy of the Evidence project (``FLEXPOWER_REPORTS_DIR``: the site
   is built and published there, never in ``reports/``);
2. a demo zone of DAY-2..DAY+1 (the replay demo's own source) and the replay's schedule of DAY
   (``flexpower_dagster.demo.replay.schedule``); the files that arrived before the replay window are copied first
   and ``python -m flexpower_dagster.run_all`` builds them (``make run``: days, site, desk data file);
3. ``dagster dev`` on a free port; once the platform is idle, the measured arrivals of the schedule land one
   group at a time (a forecast batch: the versions of every asset with the same time; a private trade export),
   copied as the replay copies (``copy_atomically``: temporary name, mtime = now, rename), each once no daily run
   is queued or in progress for 45 s (at most 5 minutes: site, snapshot and alert runs may keep the queue busy);
   a forecast batch comes every 15 minutes in live operation, far longer than the pipeline needs for one;
4. per group, from the Dagster instance (its event log and run records; the live warehouse is never opened):
   the staging materialisation of the file's source for DAY after the landing, then the first
   ``marts/position_qh`` materialisation of DAY after that one, whose metadata says when the desk data file was
   written. The budget: landing -> staging run created (settle time + sensor interval + tick), -> run started
   (queue, process start), -> staging written (code location load, parse, checks), -> position run created
   (automation tick), -> started, -> position written (the marts on the path), -> desk file.

Writes ``build/benchmark/desk.json`` and the generated section of docs/benchmarks.md. ``--keep`` keeps the root.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(1, str(PROJECT_ROOT / "scripts"))  # the benchmark package beside this script

from benchmark.report import replace_section  # noqa: E402

ROOT = PROJECT_ROOT / "build" / "benchmark" / "desk"
DOC = PROJECT_ROOT / "docs" / "benchmarks.md"
START = "<!-- desk-benchmark:start -->"
END = "<!-- desk-benchmark:end -->"
KINDS = {"vpp_forecasts": "forecast version", "exchange_private_trades": "trade export"}
BUSY = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def env_for(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DAGSTER_HOME=str(root / "dagster_home"),
        FLEXPOWER_LANDING_DIR=str(root / "landing"),
        FLEXPOWER_WAREHOUSE=str(root / "warehouse" / "flexpower.duckdb"),
        FLEXPOWER_DATA_DIR=str(root / "data"),
        FLEXPOWER_REPORTS_DIR=str(root / "reports"),
    )
    return env


def daily_keys() -> frozenset:
    """The daily-partitioned assets (a monthly run's partition key, 2025-06-01 for June, looks like a day)."""
    import dagster as dg

    from flexpower_dagster.definitions import defs

    graph = defs.resolve_asset_graph()
    return frozenset(k for k in graph.get_all_asset_keys()
                     if isinstance(graph.get(k).partitions_def, dg.DailyPartitionsDefinition))


def wait_idle(instance, quiet_seconds: float, limit_seconds: float, daily: frozenset = frozenset()) -> float:
    """Until no *daily* run (staging, the day's marts) is queued or in progress for ``quiet_seconds`` (a sensor and an
    automation tick had the chance to request more), at most ``limit_seconds`` (then it goes on: under ``dagster dev``
    the month's invoices, site rebuilds, snapshots and alert evaluations may keep the queue busy, and they are part of
    what a landing file waits for). A run is daily when it materialises a daily asset (``daily``): the June invoices'
    partition key, 2025-06-01, is not a day. Returns the seconds waited."""
    import dagster as dg

    started = time.monotonic()
    quiet_since = None
    statuses = [getattr(dg.DagsterRunStatus, s) for s in BUSY]

    def is_daily(run) -> bool:
        if not run.tags.get("dagster/partition"):
            return False
        return not daily or not run.asset_selection or bool(set(run.asset_selection) & daily)

    while time.monotonic() - started < limit_seconds:
        busy = [r for r in instance.get_runs(filters=dg.RunsFilter(statuses=statuses)) if is_daily(r)]
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            break
        time.sleep(1)
    return time.monotonic() - started


def launched_at(instance, run_id: str) -> float | None:
    """When the run worker was launched (RUN_STARTING: the queue admitted the run; process start follows)."""
    import dagster as dg

    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_STARTING)
    return records[0].timestamp if records else None


def first_step_start(instance, run_id: str) -> float | None:
    import dagster as dg

    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
    return min((r.timestamp for r in records), default=None)


def first_materialisation(instance, key, partition: str, after: float):
    """The first materialisation event of ``key`` / ``partition`` with a timestamp after ``after`` (epoch s)."""
    import dagster as dg

    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition], after_timestamp=after), limit=50, ascending=True
    ).records
    return records[0] if records else None


def step_window(instance, run_id: str, step_key_part: str) -> tuple[float | None, float | None]:
    """(start, end) epoch seconds of the run's step whose key contains ``step_key_part``."""
    import dagster as dg

    start = end = None
    for record in instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}):
        event = record.dagster_event
        if event is None or step_key_part not in (event.step_key or ""):
            continue
        if event.event_type == dg.DagsterEventType.STEP_START and start is None:
            start = record.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            end = record.timestamp
    return start, end


def measure_group(instance, group, landing: Path, day: str, timeout: float) -> dict:
    """Land one group of arrivals and follow it to marts/position_qh of ``day`` and the desk file."""
    import dagster as dg

    from flexpower_dagster.demo.replay import copy_atomically

    source = group[0].source_name
    t0 = time.time()
    for a in group:
        copy_atomically(a.source, landing / a.target, time.time())
    staging_key, position_key = dg.AssetKey(["staging", source]), dg.AssetKey(["marts", "position_qh"])
    out: dict = {"kind": KINDS[source], "files": [a.target for a in group], "simulated_at": a.at.isoformat(),
                 "landed_at": t0}
    deadline = time.monotonic() + timeout
    staged = positioned = None
    while time.monotonic() < deadline:
        staged = staged or first_materialisation(instance, staging_key, day, t0)
        if staged is not None:
            positioned = first_materialisation(instance, position_key, day, staged.timestamp)
            if positioned is not None:
                break
        time.sleep(0.5)
    if staged is None or positioned is None:
        out["timeout"] = True
        return out
    s_run = instance.get_run_record_by_id(staged.run_id)
    p_run = instance.get_run_record_by_id(positioned.run_id)
    md = positioned.asset_materialization.metadata
    desk = md.get("desk_written_at")
    s_step = step_window(instance, staged.run_id, source)
    p_step = step_window(instance, positioned.run_id, "position_qh")
    same_run = staged.run_id == positioned.run_id
    s_launch = launched_at(instance, staged.run_id) or s_run.start_time
    s_first = first_step_start(instance, staged.run_id) or s_run.start_time
    p_launch = launched_at(instance, positioned.run_id) or p_run.start_time
    p_first = first_step_start(instance, positioned.run_id) or p_run.start_time
    out.update(
        staging_run=staged.run_id, position_run=positioned.run_id, same_run=same_run,
        mart_seconds=round(positioned.timestamp - t0, 1),
        desk_seconds=round(desk.value - t0, 1) if desk is not None else None,
        budget={
            "settle_and_sensor_tick": round(s_run.create_timestamp.timestamp() - t0, 1),
            "queue_staging": round(s_launch - s_run.create_timestamp.timestamp(), 1),
            "startup_staging": round(s_first - s_launch, 1),
            "steps_before_staging": round((s_step[0] or staged.timestamp) - s_first, 1),
            "staging_step": round(staged.timestamp - (s_step[0] or staged.timestamp), 1),
            "automation_tick": 0.0 if same_run else round(p_run.create_timestamp.timestamp() - staged.timestamp, 1),
            "queue_marts": 0.0 if same_run else round(p_launch - p_run.create_timestamp.timestamp(), 1),
            "startup_marts": 0.0 if same_run else round(p_first - p_launch, 1),
            "marts_before_position": round((p_step[0] or positioned.timestamp) - (staged.timestamp if same_run else p_first), 1),
            "position_step": round(positioned.timestamp - (p_step[0] or positioned.timestamp), 1),
        },
    )
    return out


def pick_groups(arrivals, n_forecasts: int):
    """The measured groups: ``n_forecasts`` forecast batches spread over the schedule, and every private trade
    export (each with its time); both in schedule order."""
    groups: dict[tuple, list] = {}
    for a in arrivals:
        if a.source_name in KINDS:
            groups.setdefault((a.at, a.source_name), []).append(a)
    forecasts = [g for (at, src), g in sorted(groups.items()) if src == "vpp_forecasts"]
    trades = [g for (at, src), g in sorted(groups.items()) if src == "exchange_private_trades"]
    if n_forecasts and len(forecasts) > n_forecasts:
        step = len(forecasts) / n_forecasts
        forecasts = [forecasts[int(i * step + step / 2)] for i in range(n_forecasts)]
    return sorted(forecasts + trades, key=lambda g: g[0].at)


def summary(results: list[dict]) -> dict:
    out = {}
    for kind in KINDS.values():
        rows = [r for r in results if r["kind"] == kind and not r.get("timeout")]
        if not rows:
            continue
        mart = [r["mart_seconds"] for r in rows]
        desk = [r["desk_seconds"] for r in rows if r["desk_seconds"] is not None]
        budget = {k: round(statistics.median(r["budget"][k] for r in rows), 1) for k in rows[0]["budget"]}
        out[kind] = {
            "n": len(rows), "timeouts": sum(1 for r in results if r["kind"] == kind and r.get("timeout")),
            "mart_median": round(statistics.median(mart), 1), "mart_worst": max(mart),
            "desk_median": round(statistics.median(desk), 1) if desk else None, "desk_worst": max(desk) if desk else None,
            "budget_median": budget,
        }
    return out


def markdown(result: dict) -> str:
    lines = [
        START,
        f"**Trading desk latency** — `make benchmark-desk`, {result['finished']} (commit `{result['commit']}`): replay of "
        f"{result['day']} ({result['assets']} assets), {result['groups']} file groups landed one at a time under "
        f"`dagster dev`; settle time {result['settle_seconds']:g} s, trading-feed sensors every "
        f"{result['trading_sensor_interval']} s, automation sensor every {result['automation_interval']} s. "
        f"Load: `{result['load_before']}` before, `{result['load_after']}` after (2 cores, shared). "
        f"{result.get('one_run', 0)} of {result['groups']} groups reached the position in the run that staged the file "
        "(the fast path).",
        "",
        "| file kind | n | file → `marts.position_qh` median / worst (s) | file → desk data file median / worst (s) |",
        "|---|---|---|---|",
    ]
    for kind, s in result["summary"].items():
        timeouts = f" (+{s['timeouts']} timed out)" if s["timeouts"] else ""
        lines.append(f"| {kind} | {s['n']}{timeouts} | "
                     f"{s['mart_median']} / {s['mart_worst']} | {s['desk_median']} / {s['desk_worst']} |")
    lines += ["", "Where the time goes (median seconds per step of the path):", "",
              "| step | " + " | ".join(result["summary"]) + " |", "|---|" + "---|" * len(result["summary"])]
    names = {
        "settle_and_sensor_tick": "landing → run requested (settle time, sensor interval, tick)",
        "queue_staging": "→ run launched (waiting in the queue behind other runs)",
        "startup_staging": "→ first step started (run start-up: process start, code location, resources)",
        "steps_before_staging": "→ the file's staging step started (other steps of the run before it)",
        "staging_step": "→ staging written (parse, write)",
        "automation_tick": "→ mart run requested (automation tick; 0 when the staging run carried the position)",
        "queue_marts": "→ mart run launched (queue; 0 on the fast path)",
        "startup_marts": "→ its first step started (run start-up; 0 on the fast path)",
        "marts_before_position": "→ position step started (checks and the marts before it)",
        "position_step": "→ `marts.position_qh` written (incl. the desk data file)",
    }
    for key, label in names.items():
        lines.append(f"| {label} | " + " | ".join(str(s["budget_median"][key]) for s in result["summary"].values()) + " |")
    lines += ["", "The page reads the data file every 5 s: file → page = file → desk data file + at most 5 s.", END]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    replace_section(DOC, START, END, text)


def main() -> int:
    from flexpower_dagster.demo import DEFAULT_START, generate
    from flexpower_dagster.demo.replay import copy_atomically, schedule
    from flexpower_dagster.lib.dagster.sensors import SENSOR_INTERVAL_SECONDS, TRADING_FEED_INTERVAL_SECONDS
    from flexpower_dagster.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", type=date.fromisoformat, default=DEFAULT_START + timedelta(days=2),
                        help="the replayed delivery day (default: the demo's third day, with an intraday trade export)")
    parser.add_argument("--assets", type=int, default=5)
    parser.add_argument("--forecast-batches", type=int, default=6, help="forecast batches measured (spread over the day)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one group may take")
    parser.add_argument("--keep", action="store_true", help="keep build/benchmark/desk/")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args()

    shutil.rmtree(ROOT, ignore_errors=True)
    ROOT.mkdir(parents=True)
    env = env_for(ROOT)
    for key, value in env.items():
        if key.startswith(("FLEXPOWER_", "DAGSTER_HOME")):
            os.environ[key] = value
    home = Path(env["DAGSTER_HOME"])
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    from dagster import DagsterInstance

    from flexpower_dagster.defs.reporting.site import copy_project
    from flexpower_dagster.lib.dagster.lanes import ensure_pool_limits

    with DagsterInstance.get() as instance:  # the pools' limits before the daemon starts, as `make dev` writes them
        print(f"pools: {ensure_pool_limits(instance)}", flush=True)

    copy_project(PROJECT_ROOT / "reports", ROOT / "reports")
    landing = ROOT / "landing"
    landing.mkdir()
    source = ROOT / "source"
    generate(source, n_assets=args.assets, start=args.day - timedelta(days=2), days=4, seed=42, public_trades_per_day=2000)
    arrivals = schedule(source, args.day)
    first = arrivals[0].at
    initial = [a for a in arrivals if a.at == first]
    groups = pick_groups([a for a in arrivals if a.at > first], args.forecast_batches)
    print(f"replay of {args.day}: {len(arrivals)} files; {len(initial)} before the window; measuring {len(groups)} groups",
          flush=True)
    settled = time.time() - 3600
    for a in initial:
        copy_atomically(a.source, landing / a.target, settled)
    t = time.monotonic()
    with open(ROOT / "run_all.log", "w") as out:
        subprocess.run([sys.executable, "-m", "flexpower_dagster.run_all"], cwd=PROJECT_ROOT, env=env, check=True,
                       stdout=out, stderr=subprocess.STDOUT)
    print(f"make run on the initial files: {time.monotonic() - t:.0f} s", flush=True)

    port = free_port()
    log = open(ROOT / "dagster_dev.log", "w")  # noqa: SIM115 (the server outlives this block; closed below)
    dev = subprocess.Popen(
        [str(PROJECT_ROOT / ".venv" / "bin" / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    results: list[dict] = []
    load_before = load()
    try:
        import dagster as dg

        instance = dg.DagsterInstance.get()
        daily = daily_keys()
        waited = wait_idle(instance, quiet_seconds=45, limit_seconds=900, daily=daily)
        print(f"dagster dev on :{port}, idle after {waited:.0f} s; {load_before}", flush=True)
        for group in groups:
            r = measure_group(instance, group, landing, args.day.isoformat(), args.timeout)
            results.append(r)
            print(f"{group[0].at:%Y-%m-%d %H:%M}Z {r['kind']:16s} ({len(group)} files): "
                  + ("TIMEOUT" if r.get("timeout") else f"mart {r['mart_seconds']} s, desk file {r['desk_seconds']} s, "
                     f"budget {r['budget']}"), flush=True)
            wait_idle(instance, quiet_seconds=45, limit_seconds=300, daily=daily)
        load_after = load()
    finally:
        os.killpg(dev.pid, 15)
        try:
            dev.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, 9)
        log.close()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True).stdout.strip()
    result = {
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit, "day": args.day.isoformat(),
        "assets": args.assets, "groups": len(groups), "settle_seconds": Settings.from_env().settle_seconds,
        "trading_sensor_interval": TRADING_FEED_INTERVAL_SECONDS, "automation_interval": SENSOR_INTERVAL_SECONDS,
        "load_before": load_before, "load_after": load_after, "summary": summary(results), "results": results,
        "one_run": sum(1 for r in results if r.get("same_run")),
    }
    (PROJECT_ROOT / "build" / "benchmark" / "desk.json").write_text(json.dumps(result, indent=1, default=str))
    text = markdown(result)
    print(text)
    if not args.no_doc:
        write_doc(text)
    if not args.keep:
        shutil.rmtree(ROOT, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
