"""The project's benchmark (``make benchmark``): the project against the floor, on N-asset demo landing zones.

    .venv/bin/python scripts/benchmark.py                      # sizes 5, 200, 1000: day, site, incremental, sensors
    .venv/bin/python scripts/benchmark.py --quick              # 5 assets only, one repetition (a few minutes)
    .venv/bin/python scripts/benchmark.py --sizes 5,200 --only day,sensors
    .venv/bin/python scripts/benchmark.py --backfill-days 30   # + the 30-day backfill of 1,000 assets (hours today)

Measurements (docs/benchmarks.md explains each, and the floor):

* **day** — per size: the floor and the project back to back, ``--repeats`` times (median); the project
  is ``dagster asset materialize --select 'tag:cadence=daily and not key:report_site' --partition
  2025-06-08`` on a fresh warehouse and Dagster home; wall, CPU, peak RSS of the process tree, per-step
  breakdown from the run's event log; the floor's ``asset_forecast`` compared row by row with the project's;
* **site** — ``report_site`` materialised on the day's warehouse (smallest and largest size);
* **incremental** — on the largest size's warehouse: the three days a new forecast version touches are
  built first (``+key:"marts/asset_forecast"``, not timed in the goal), one new version of every asset lands,
  then ``staging/vpp_forecasts`` + ``marts/asset_forecast`` of those days are materialised (one run for the
  range when every asset allows it, else one run per day) and compared with the floor;
* **sensors** — every landing sensor's first, no-op and one-new-file tick over the synthetic 100k-file zone
  and over the largest demo zone;
* **backfill** (opt-in ``--backfill-days``) — N assets x D days from a fresh warehouse vs the floor of
  those days.

Results: ``build/benchmark/results.json`` (entries replaced per measurement, others kept) and the generated
section of ``docs/benchmarks.md``. ``--budget-minutes`` (default 60) bounds the whole run: a measurement
that would start after it is skipped, a command still running when it ends is stopped, and both are
reported as such.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the benchmark package beside this script

from benchmark import floor, incremental, report, sensors, zones
from benchmark.machine import commit, machine
from benchmark.measure import run_measured
from benchmark.project import (
    DAILY_SELECTION,
    SITE_SELECTION,
    Materialized,
    ProjectEnv,
    code_location_module,
    coverage,
    describe_runs,
    incremental_check,
    materialize,
    selection_of_keys,
)

PARTS = ("day", "site", "incremental", "sensors", "backfill")
FLOOR_SCRIPT = Path(floor.__file__).resolve()
INCREMENTAL_SETUP = '+key:"marts/asset_forecast"'  # asset_forecast and everything it reads, one layer up
INCREMENTAL_UPDATE = selection_of_keys("staging/vpp_forecasts", "marts/asset_forecast")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Budget:
    """Minutes the whole benchmark may take (0: unlimited)."""

    def __init__(self, minutes: float):
        self.deadline = time.monotonic() + minutes * 60 if minutes > 0 else None

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(1.0, self.deadline - time.monotonic())

    def exceeded(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


class Benchmark:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.budget = Budget(args.budget_minutes)
        self.work = args.work
        self.module = code_location_module()
        self.head, self.dirty = commit()
        self.store = {"entries": {}} if args.fresh else report.load(args.results)
        self.store["machine"] = machine()
        self.skipped: list[str] = []
        self.envs: dict[int, ProjectEnv] = {}

    # ------------------------------------------------------------------ helpers

    def stamp(self, entry: dict) -> dict:
        return {**entry, "commit": self.head, "dirty": self.dirty, "label": self.args.label, "date": self.store["machine"]["date"]}

    def record(self, key: str, entry: dict) -> None:
        self.store["entries"][key] = self.stamp(entry)
        report.save(self.args.results, self.store)

    def skip(self, what: str, why: str) -> None:
        log(f"skipped {what}: {why}")
        self.skipped.append(f"{what}: {why}")

    def over_budget(self, what: str) -> bool:
        if self.budget.exceeded():
            self.skip(what, f"the budget of {self.args.budget_minutes:g} min was used up")
            return True
        return False

    def run_floor(self, landing: Path, days: list[date], folder: Path) -> dict:
        folder.mkdir(parents=True, exist_ok=True)
        db, out = folder / "floor.duckdb", folder / "floor.json"
        cmd = [sys.executable, str(FLOOR_SCRIPT), "--landing", str(landing), "--day", days[0].isoformat(),
               "--days", str(len(days)), "--db", str(db), "--json", str(out)]
        m = run_measured(cmd, log_path=folder / "floor.log", timeout=self.budget.remaining())
        if m.returncode != 0:
            raise RuntimeError(f"the floor failed (exit {m.returncode}): see {folder / 'floor.log'}")
        result = json.loads(out.read_text())
        steps: dict[str, float] = {}
        for d in result["days"]:
            for k, v in d["seconds"].items():
                steps[k] = steps.get(k, 0.0) + v
        return {**m.to_dict(), "db": str(db), "steps": steps, "rows": result["days"][-1]["rows"]}

    def check(self, floor_db: str, env: ProjectEnv, days: list[date]) -> dict | None:
        if not env.warehouse.exists():
            return {"error": "the project wrote no warehouse", "differences": None, "project_rows": 0}
        try:
            return floor.compare_asset_forecast(Path(floor_db), env.warehouse, days)
        except Exception as exc:  # a run that failed before writing the mart: report, do not stop the benchmark
            return {"error": str(exc).splitlines()[0], "differences": None, "project_rows": 0}

    def materialize_days(self, env: ProjectEnv, selection: str, days: list[date], folder: Path) -> dict:
        """``selection`` for ``days``: one run for the range when the CLI accepts it, else one run per day."""
        folder.mkdir(parents=True, exist_ok=True)
        done: list[Materialized] = []
        refused_s = None
        range_run = False
        if len(days) > 1:
            m = materialize(env, selection, partition_range=f"{days[0]}...{days[-1]}", log_path=folder / "range.log",
                            timeout=self.budget.remaining())
            if m.runs:
                done, range_run = [m], True
            else:  # refused before any run: not every selected asset has a single-run backfill policy
                refused_s = m.measured.wall_s
        if not done:
            for d in days:
                done.append(materialize(env, selection, partition=d.isoformat(), log_path=folder / f"{d}.log",
                                        timeout=self.budget.remaining()))
        runs = [r for m in done for r in m.runs]
        built = coverage(days, runs)  # from the run results: a command that started no run built nothing
        if built["not_built"]:
            log(f"  not built: {', '.join(built['not_built'])} ({describe_runs(days, runs, range_run=range_run)})")
        return {
            "mode": describe_runs(days, runs, range_run=range_run),
            **built,
            "wall_s": sum(m.measured.wall_s for m in done),
            "cpu_s": sum(m.measured.cpu_s for m in done),
            "peak_rss_bytes": max(m.measured.peak_rss_bytes for m in done),
            "ok": all(m.ok for m in done) and not built["not_built"],
            "other_load_max": max(m.measured.other_load for m in done),
            "timed_out": any(m.measured.timed_out for m in done),
            "range_refused_s": refused_s,
            "runs": runs,
            "commands": [m.to_dict() for m in done],
        }

    # ------------------------------------------------------------------ measurements

    def day(self, zone: zones.Zone, repeats: int) -> None:
        n = zone.assets
        folder = self.work / f"day-{n}"
        floors, projects, checks = [], [], []
        for rep in range(repeats):
            if rep and self.over_budget(f"day at {n} assets, repetition {rep + 1}"):
                break
            log(f"day, {n} assets, repetition {rep + 1}/{repeats}: floor ...")
            fl = self.run_floor(zone.landing, [zones.DAY], folder / f"floor-{rep}")
            log(f"  floor {fl['wall_s']:.1f} s, peak {fl['peak_rss_bytes'] / report.GIB:.2f} GiB; project ...")
            env = ProjectEnv.fresh(folder / f"project-{rep}", zone.landing)
            m = materialize(env, DAILY_SELECTION, partition=zones.DAY.isoformat(), log_path=env.root / "run.log",
                            timeout=self.budget.remaining())
            check = self.check(fl["db"], env, [zones.DAY])
            log(f"  project {m.measured.wall_s:.1f} s, CPU {m.measured.cpu_s:.0f} s, peak {m.measured.peak_rss_gib:.2f} GiB, "
                f"{', '.join(r['status'] for r in m.runs) or 'no run'}; asset_forecast differences: {check.get('differences')}")
            floors.append(fl)
            projects.append(m)
            checks.append(check)
            if n in self.envs and not self.args.keep:
                shutil.rmtree(self.envs[n].root, ignore_errors=True)
            self.envs[n] = env
        walls = [m.measured.wall_s for m in projects]
        mid = sorted(range(len(walls)), key=lambda i: walls[i])[len(walls) // 2]
        p_median = report.median(walls)
        f_median = report.median([f["wall_s"] for f in floors])
        if "day" not in self.args.only:
            return  # only the warehouse was wanted (site, incremental): keep the day's measured entry
        worst = max(checks, key=lambda c: (c.get("differences") is None, c.get("differences") or 0))
        self.record(f"day/{n}", {
            "kind": "day", "assets": n, "files": zone.files, "bytes": zone.bytes, "day": zones.DAY.isoformat(),
            "repeats": len(projects),
            "project": {
                "wall_median": p_median,
                "cpu_median": report.median([m.measured.cpu_s for m in projects]),
                "peak_rss_max": max(m.measured.peak_rss_bytes for m in projects),
                "walls": walls,
                "runs": [r for m in projects for r in m.runs],
                "breakdown": {"wall_s": walls[mid], "steps": [s for r in projects[mid].runs for s in r["steps"]]},
                "commands": [m.to_dict() for m in projects],
            },
            "floor": {
                "wall_median": f_median,
                "cpu_median": report.median([f["cpu_s"] for f in floors]),
                "peak_rss_max": max(f["peak_rss_bytes"] for f in floors),
                "walls": [f["wall_s"] for f in floors],
                "steps": floors[-1]["steps"],
                "rows": floors[-1]["rows"],
            },
            "ratio": p_median / f_median if p_median and f_median else None,
            "check": worst,
            "other_load_max": max([m.measured.other_load for m in projects] + [f["other_load"] for f in floors]),
        })

    def site(self, n: int) -> None:
        env = self.envs.get(n)
        reports_src = zones.PROJECT_ROOT / "reports"
        if env is None:
            return self.skip(f"site at {n} assets", "no day warehouse of that size")
        if not (reports_src / "node_modules" / ".bin" / "evidence").exists():
            return self.skip(f"site at {n} assets", "Evidence is not installed in reports/ (make setup)")
        if self.over_budget(f"site at {n} assets"):
            return None
        folder = self.work / f"site-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        copy = folder / "reports"
        # a copy of the Evidence project (its node_modules linked), so reports/build of the working tree is untouched
        shutil.copytree(reports_src, copy, ignore=shutil.ignore_patterns("node_modules", "build", ".evidence", ".svelte-kit", ".snapshot", "*.duckdb"))
        (copy / "node_modules").symlink_to(reports_src / "node_modules", target_is_directory=True)
        log(f"site, {n} assets ...")
        m = materialize(env, SITE_SELECTION, config={"ops": {"report_site": {"config": {"reports_dir": str(copy)}}}},
                        log_path=folder / "run.log", timeout=self.budget.remaining())
        log(f"  site {m.measured.wall_s:.1f} s, peak {m.measured.peak_rss_gib:.2f} GiB, {', '.join(r['status'] for r in m.runs) or 'no run'}")
        self.record(f"site/{n}", {"kind": "site", "assets": n, "ok": m.ok, **m.to_dict()})
        return None

    def incremental(self, zone: zones.Zone) -> None:
        n = zone.assets
        env = self.envs.get(n)
        if env is None:
            return self.skip(f"incremental at {n} assets", "no day warehouse of that size")
        if self.over_budget(f"incremental at {n} assets"):
            return None
        newest, _ = incremental.newest_versions(zone.landing)
        version = newest + incremental.STEP
        days = incremental.days_touched(version)
        folder = self.work / f"incremental-{n}"
        log(f"incremental, {n} assets: building {', '.join(map(str, days))} as they were before version {version} ...")
        setup = self.materialize_days(env, INCREMENTAL_SETUP, days, folder / "setup")
        log(f"  setup {setup['wall_s']:.0f} s ({setup['mode']}); adding one version per asset ...")
        try:
            version, added = incremental.add_next_version(Path(zone.folder))
            update = self.materialize_days(env, INCREMENTAL_UPDATE, days, folder / "update")
            log(f"  update {update['wall_s']:.1f} s ({update['mode']}), ok={update['ok']}; floor of those days ...")
            fl = self.run_floor(zone.landing, days, folder / "floor")
            check = incremental_check(self.check(fl["db"], env, days), setup, update)
            log(f"  asset_forecast differences: {check.get('differences')}"
                + (f"; FAILED, {check['error']}" if check.get("error") else ""))
        finally:
            incremental.remove_added(Path(zone.folder))
        self.record(f"incremental/{n}", {
            "kind": "incremental", "assets": n, "new_files": len(added), "version": f"{version:%Y-%m-%d %H:%M}",
            "days": [d.isoformat() for d in days], "setup": {k: v for k, v in setup.items() if k != "commands"},
            "update": update, "floor": {k: fl[k] for k in ("wall_s", "cpu_s", "peak_rss_bytes", "steps")}, "check": check,
        })
        return None

    def sensors(self, landing: Path, zone_name: str, files: int) -> None:
        if self.over_budget(f"sensors over {zone_name}"):
            return
        log(f"sensors over {zone_name} ({files:,} files) ...")
        out = sensors.measure_sensors(landing, self.work / f"sensors-{zone_name}", self.module, timeout=self.budget.remaining())
        for row in out["sensors"].values():
            row.pop("cursor", None)
        t = out["totals"]
        log(f"  first tick {t['first_tick_s']:.1f} s, no-op {t['noop_tick_s']:.2f} s, fresh process {t['noop_fresh_process_s']:.2f} s")
        self.record(f"sensors/{zone_name}", {"kind": "sensors", "zone": zone_name, "files": files, **out})

    def backfill(self, n: int, days: int) -> None:
        if self.over_budget(f"backfill of {n} assets x {days} days"):
            return
        zone = zones.ensure_zone(n, zones.DAY, days=days, root=self.args.zones, log=log)
        folder = self.work / f"backfill-{n}x{days}"
        log(f"backfill, {n} assets x {days} days: floor ...")
        fl = self.run_floor(zone.landing, zone.delivery_days, folder / "floor")
        log(f"  floor {fl['wall_s']:.0f} s; project ...")
        env = ProjectEnv.fresh(folder / "project", zone.landing)
        proj = self.materialize_days(env, DAILY_SELECTION, zone.delivery_days, folder / "project-logs")
        check = self.check(fl["db"], env, zone.delivery_days)
        log(f"  project {proj['wall_s']:.0f} s ({proj['mode']}), asset_forecast differences: {check.get('differences')}")
        self.record(f"backfill/{n}x{days}", {
            "kind": "backfill", "assets": n, "days": days, "files": zone.files,
            "project": proj, "floor": {k: fl[k] for k in ("wall_s", "cpu_s", "peak_rss_bytes", "steps")},
            "ratio": proj["wall_s"] / fl["wall_s"] if fl["wall_s"] else None, "check": check,
        })

    # ------------------------------------------------------------------ the whole run

    def run(self) -> None:
        a = self.args
        log(f"benchmark of commit {self.head[:10]}{' (dirty)' if self.dirty else ''}, sizes {a.sizes}, parts {sorted(a.only)}")
        need_day = a.only & {"day", "site", "incremental"}
        inc_size = a.incremental_size or max(a.sizes)
        site_sizes = a.site_sizes if a.site_sizes is not None else sorted({min(a.sizes), max(a.sizes)})
        zone_of = {}
        if need_day:
            for n in a.sizes:
                if self.over_budget(f"day at {n} assets"):
                    continue
                zone_of[n] = zones.ensure_zone(n, root=a.zones, log=log)
                keep_env = ("site" in a.only and n in site_sizes) or ("incremental" in a.only and n == inc_size)
                reused = a.reuse_day and "day" not in a.only and keep_env and self.reuse_day(zone_of[n])
                if ("day" in a.only or keep_env) and not reused:
                    self.day(zone_of[n], a.repeats or (3 if n < 1000 else 1))
                if not keep_env and n in self.envs and not a.keep:
                    shutil.rmtree(self.envs.pop(n).root, ignore_errors=True)
        if "sensors" in a.only:
            if a.sensor_files:
                landing, files = sensors.ensure_synthetic_zone(a.sensor_files, root=a.zones, log=log)
                self.sensors(landing, f"synthetic-{a.sensor_files}", files)
            biggest = max(a.sizes)
            z = zone_of.get(biggest) or zones.ensure_zone(biggest, root=a.zones, log=log)
            self.sensors(z.landing, f"demo-{biggest}", z.files)
        if "site" in a.only:
            for n in site_sizes:
                self.site(n)
        if "incremental" in a.only and inc_size in zone_of:
            self.incremental(zone_of[inc_size])
        if "backfill" in a.only and a.backfill_days:
            self.backfill(a.backfill_assets, a.backfill_days)
        self.store["skipped"] = self.skipped
        report.save(a.results, self.store)
        if a.docs:
            report.write_docs(a.docs, self.store)
            log(f"results: {a.results}; report: {a.docs}")
        if not (a.keep or a.reuse_day):
            shutil.rmtree(self.work, ignore_errors=True)

    def reuse_day(self, zone: zones.Zone) -> bool:
        """``--reuse-day``: take the day warehouse that an earlier ``--keep`` run left in the work folder
        (``day-<N>/project-0``) for the site and incremental parts, instead of building the day again."""
        root = self.work / f"day-{zone.assets}" / "project-0"
        env = ProjectEnv(root, zone.landing)
        if not env.warehouse.exists():
            log(f"no kept day warehouse at {root}: building the day")
            return False
        log(f"reusing the kept day warehouse {env.warehouse}")
        self.envs[zone.assets] = env
        return True


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--sizes", default="5,200,1000", help="asset counts of the demo zones (default 5,200,1000)")
    ap.add_argument("--repeats", type=int, default=0, help="repetitions per size (default: 3 below 1,000 assets, 1 from 1,000)")
    ap.add_argument("--only", default=",".join(p for p in PARTS if p != "backfill"),
                    help=f"parts to measure, of {','.join(PARTS)} (default: all but backfill)")
    ap.add_argument("--quick", action="store_true", help="5 assets only, one repetition, no synthetic sensor zone")
    ap.add_argument("--incremental-size", type=int, default=0, help="size of the incremental measurement (default: the largest)")
    ap.add_argument("--site-sizes", default=None, help="sizes of the site measurement (default: the smallest and the largest)")
    ap.add_argument("--sensor-files", type=int, default=100_000, help="files of the synthetic sensor zone (0: none)")
    ap.add_argument("--backfill-days", type=int, default=0, help="measure a backfill of this many days (adds 'backfill')")
    ap.add_argument("--backfill-assets", type=int, default=1000)
    ap.add_argument("--budget-minutes", type=float, default=60, help="stop starting measurements after this (0: no limit)")
    ap.add_argument("--label", default="", help="label of these measurements in the report (e.g. 'before: baseline')")
    ap.add_argument("--results", type=Path, default=zones.BUILD_DIR / "results.json")
    ap.add_argument("--docs", default=str(zones.PROJECT_ROOT / "docs" / "benchmarks.md"),
                    help="markdown file whose generated section is rewritten ('' for none)")
    ap.add_argument("--zones", type=Path, default=zones.ZONES_DIR, help="where generated landing zones are cached")
    ap.add_argument("--work", type=Path, default=zones.BUILD_DIR / "work", help="scratch space (warehouses, logs; deleted unless --keep)")
    ap.add_argument("--fresh", action="store_true", help="forget earlier results instead of merging with them")
    ap.add_argument("--reuse-day", action="store_true",
                    help="site/incremental only: use the day warehouses an earlier --keep run left in --work (kept again)")
    ap.add_argument("--keep", action="store_true", help="keep the work directories (warehouses, logs) in build/benchmark/work")
    a = ap.parse_args(argv)
    a.sizes = sorted({int(s) for s in a.sizes.split(",") if s.strip()})
    a.only = {p.strip() for p in a.only.split(",") if p.strip()}
    unknown = a.only - set(PARTS)
    if unknown:
        ap.error(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    if a.quick:
        a.sizes, a.repeats, a.sensor_files = [5], 1, 0
    if a.backfill_days:
        a.only.add("backfill")
    a.site_sizes = sorted({int(s) for s in a.site_sizes.split(",")}) if a.site_sizes else None
    a.docs = Path(a.docs) if a.docs else None
    return a


def main(argv: list[str] | None = None) -> int:
    Benchmark(parse_args(argv)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
