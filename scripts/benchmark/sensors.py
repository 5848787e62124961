"""Sensor ticks over a large landing zone: first tick, no-op tick, a tick after one new forecast version.

The sensors are the code location's own: every sensor of the ``Definitions`` in the module that
``workspace.yaml`` loads which needs the ``landing`` resource (one per source system today), evaluated
with Dagster's public ``build_sensor_context`` and the Definitions' resources (settings from the
environment, as in ``make dev``). Each measurement runs in a fresh process (:func:`measure_sensors`):

1. *first tick* of every sensor in turn (empty cursor, fresh data directory: nothing known yet);
2. *no-op tick* of every sensor with the cursor of its first tick (the steady state of ``make dev``);
3. *one new forecast version* (a copy of the newest forecast file, 15 minutes later) and a tick of every
   sensor: the time and the runs requested;
4. the new file removed, one tick of every sensor (the zone as before, its folder's mtime changed);
5. in a second fresh process, the *no-op tick after a restart* with the cursors of step 4 (per-process caches
   cold).

Zones: the **synthetic** zone (:func:`ensure_synthetic_zone`, the real sample's files under the real name
patterns, 5 assets, as many days as it takes to reach ``n_files`` - about 100,000 files over 205 days)
and any demo zone of :mod:`.zones`. Dagster's limit for one sensor evaluation is 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

if __name__ == "__main__":  # run as a script in the measured subprocess
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark.zones import PROJECT_ROOT, ZONES_DIR

SAMPLE = PROJECT_ROOT.parent / "shared" / "datasets" / "flexpower-2025-06-08"
ASSETS = ("SOL-DE-001", "SOL-DE-002", "WND-DE-001", "WND-DE-002", "WND-DE-003")
SHORT = ("SOL02", "WND01", "WND02", "WND03")
METERING = ("MP-SOL-001", "MP-SOL-002", "MP-WND-002", "MP-WND-003")
#: every file of a zone "arrived" long ago: complete, never taken for a file still being written
ARRIVED = datetime(2025, 1, 1).timestamp()


# --------------------------------------------------------------------------------------------------
# the synthetic zone


def _sample(rel: str) -> bytes:
    return (SAMPLE / rel).read_bytes()


def build_synthetic_landing(root: Path, n_files: int, first_day: date = date(2025, 1, 1)) -> int:
    """Write the synthetic landing zone (the sample's file contents under the real name patterns, one
    forecast version per asset and QH, live, DSO finals and flags, trade exports, imbalance files, weekly
    CRM and daily technical-data snapshots) until it holds ``n_files`` files; returns the number written."""
    forecast = _sample("vpp/forecasts/forecast_SOL-DE-001_2025-06-07T000000Z.json")
    live = _sample("vpp/live_measured_infeed/WND01_20250608.json")
    final = _sample("distribution_system_operator/final_production_MP-SOL-001_20250609.csv").decode()
    flag = _sample("distribution_system_operator/redispatch_flag_MP-WND-003_20250609_1201.csv").decode()
    trades = _sample("exchange/Private_Trades-20250608-20250609T000516000Z.csv").decode()
    estimate = _sample("imbalance/imbalance_price_estimation_2025-06-07T041800Z.csv")
    imb_final = _sample("imbalance/imbalance_price_final_20250608_170800.csv")
    contracts = _sample("crm/asset_contracts_20250608_043831.csv")
    technical = _sample("vpp/technical_data/technical_data_2025-06-02T125000Z.json")
    dirs = {
        "fc": root / "vpp/forecasts",
        "live": root / "vpp/live_measured_infeed",
        "tech": root / "vpp/technical_data",
        "dso": root / "distribution_system_operator",
        "ex": root / "exchange",
        "imb": root / "imbalance",
        "crm": root / "crm",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    count = 0
    day = first_day
    while count < n_files:
        iso, compact = day.isoformat(), day.strftime("%Y%m%d")
        nxt = (day + timedelta(days=1)).strftime("%Y%m%d")
        for asset in ASSETS:
            for q in range(96):
                t = datetime(day.year, day.month, day.day) + timedelta(minutes=15 * q)
                (dirs["fc"] / f"forecast_{asset}_{t:%Y-%m-%dT%H%M%S}Z.json").write_bytes(forecast)
                count += 1
        for short in SHORT:
            (dirs["live"] / f"{short}_{compact}.json").write_bytes(live)
            count += 1
        for mp in METERING:
            body = final.replace("2025-06-08", iso).replace("MP-SOL-001", mp)
            (dirs["dso"] / f"final_production_{mp}_{nxt}.csv").write_text(body)
            count += 1
        if day.day % 5 == 0:
            (dirs["dso"] / f"redispatch_flag_MP-WND-003_{nxt}_1201.csv").write_text(flag.replace("2025-06-08", iso))
            count += 1
        for kind in ("Private", "Public"):
            body = trades.replace("2025-06-08", iso).replace("20250608", compact)
            (dirs["ex"] / f"{kind}_Trades-{compact}-{nxt}T000516000Z.csv").write_text(body)
            count += 1
        (dirs["imb"] / f"imbalance_price_estimation_{iso}T041800Z.csv").write_bytes(estimate)
        (dirs["imb"] / f"imbalance_price_final_{compact}_170800.csv").write_bytes(imb_final)
        (dirs["tech"] / f"technical_data_{iso}T125000Z.json").write_bytes(technical)
        count += 3
        if day.weekday() == 6:
            (dirs["crm"] / f"asset_contracts_{compact}_043000.csv").write_bytes(contracts)
            count += 1
        day += timedelta(days=1)
    (root / "exchange" / "notes.txt").write_text("an unrecognised file\n")
    for dirpath, _, names in os.walk(root):
        for name in names:
            os.utime(os.path.join(dirpath, name), (ARRIVED, ARRIVED))
    return count + 1


def ensure_synthetic_zone(n_files: int, root: Path = ZONES_DIR, log=print) -> tuple[Path, int]:
    """``(landing dir, files)`` of the synthetic zone, built once under ``zones/sensors-<n_files>``."""
    folder = root / f"sensors-{n_files}"
    marker = folder / "zone.json"
    if marker.exists():
        files = json.loads(marker.read_text())["files"]
        log(f"synthetic sensor zone: reusing {files:,} files in {folder / 'landing'}")
        return folder / "landing", files
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    files = build_synthetic_landing(folder / "landing", n_files)
    marker.write_text(json.dumps({"files": files, "seconds": round(time.perf_counter() - t0, 1)}) + "\n")
    log(f"synthetic sensor zone: built {files:,} files in {time.perf_counter() - t0:.0f} s")
    return folder / "landing", files


# --------------------------------------------------------------------------------------------------
# measuring (harness side)


def measure_sensors(landing: Path, workdir: Path, module: str, python: str = sys.executable, timeout: float | None = None) -> dict:
    """Tick every landing sensor of ``module`` over ``landing`` (see the module docstring)."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    env = dict(os.environ)
    env.update(
        FLEXPOWER_LANDING_DIR=str(landing),
        FLEXPOWER_DATA_DIR=str(workdir / "data"),
        FLEXPOWER_WAREHOUSE=str(workdir / "warehouse.duckdb"),  # never opened by a sensor
        DAGSTER_HOME=str(workdir / "dagster_home"),
    )
    (workdir / "dagster_home").mkdir()
    me = str(Path(__file__).resolve())
    first, cold = workdir / "first.json", workdir / "cold.json"
    for args, log in (([], "first.log"), (["--cursors", str(first)], "cold.log")):
        out_json = cold if args else first
        with open(workdir / log, "wb") as fh:
            done = subprocess.run([python, me, "--module", module, *args, "--out", str(out_json)], env=env, timeout=timeout,
                                  cwd=PROJECT_ROOT, stdout=fh, stderr=subprocess.STDOUT)
        if done.returncode:
            raise RuntimeError(f"sensor ticks failed (exit {done.returncode}): see {workdir / log}")
    out = json.loads(first.read_text())
    cold_ticks = json.loads(cold.read_text())["sensors"]
    for name, row in out["sensors"].items():
        row["noop_fresh_process_s"] = cold_ticks[name]["noop_fresh_process_s"]
        row["noop_fresh_process_cpu_s"] = cold_ticks[name].get("noop_fresh_process_cpu_s", 0.0)
    rows = out["sensors"].values()
    out["totals"] = {
        key: sum(r[key] for r in rows)
        for key in ("first_tick_s", "noop_tick_s", "noop_fresh_process_s", "first_tick_cpu_s", "noop_tick_cpu_s",
                    "noop_fresh_process_cpu_s", "cursor_bytes", "first_tick_runs")
    }
    return out


# --------------------------------------------------------------------------------------------------
# ticking (inside the measured subprocess: imports Dagster and the code location)


def _landing_sensors(module: str):
    import importlib

    import dagster as dg

    mod = importlib.import_module(module)
    defs = next(v for v in vars(mod).values() if isinstance(v, dg.Definitions))
    sensors = [s for s in defs.get_repository_def().sensor_defs if "landing" in s.required_resource_keys]
    return dg, defs, sorted(sensors, key=lambda s: s.name)


_CPU: dict[str, float] = {}
_INSTANCE: list = []


def _instance(dg):
    """One ephemeral instance per process: the desk's fast path asks it which partitions exist."""
    if not _INSTANCE:
        _INSTANCE.append(dg.DagsterInstance.ephemeral())
    return _INSTANCE[0]


def _tick(dg, defs, sensor, cursor: str | None):
    resources = {k: defs.resources[k] for k in sensor.required_resource_keys}
    ctx = dg.build_sensor_context(instance=_instance(dg), cursor=cursor, resources=resources, definitions=defs)
    t0, c0 = time.perf_counter(), time.process_time()
    data = sensor.evaluate_tick(ctx)
    _CPU[sensor.name] = time.process_time() - c0  # CPU seconds of the last tick (fairer than wall on a loaded machine)
    return time.perf_counter() - t0, data


def _new_forecast_version(landing: Path) -> Path:
    """A copy of the newest forecast file, 15 minutes later (arrived a minute ago: settled)."""
    folder = landing / "vpp" / "forecasts"
    newest = max(folder.iterdir(), key=lambda p: p.name.rsplit("_", 1)[1])
    stem, stamp = newest.name.rsplit("_", 1)
    t = datetime.strptime(stamp, "%Y-%m-%dT%H%M%SZ.json") + timedelta(minutes=15)
    new = folder / f"{stem}_{t:%Y-%m-%dT%H%M%S}Z.json"
    shutil.copyfile(newest, new)
    os.utime(new, (time.time() - 60, time.time() - 60))
    return new


def _ticks_main(module: str, cursors_file: Path | None, out: Path) -> None:
    dg, defs, sensors = _landing_sensors(module)
    landing = Path(os.environ["FLEXPOWER_LANDING_DIR"])
    result: dict = {"sensors": {}}
    if cursors_file is None:
        for s in sensors:
            first_s, first = _tick(dg, defs, s, None)
            result["sensors"][s.name] = {
                "first_tick_s": first_s, "first_tick_cpu_s": _CPU[s.name], "first_tick_runs": len(first.run_requests or []),
                "cursor": first.cursor, "cursor_bytes": len(first.cursor or ""),
            }
        for s in sensors:
            row = result["sensors"][s.name]
            noop_s, noop = _tick(dg, defs, s, row["cursor"])
            row["noop_tick_s"], row["noop_tick_runs"] = noop_s, len(noop.run_requests or [])
            row["noop_tick_cpu_s"] = _CPU[s.name]
        new = _new_forecast_version(landing)
        after_new: dict[str, str | None] = {}
        try:
            total, runs = 0.0, 0
            for s in sensors:
                dt, data = _tick(dg, defs, s, result["sensors"][s.name]["cursor"])
                total += dt
                runs += len(data.run_requests or [])
                after_new[s.name] = data.cursor
            result["one_new_forecast_file"] = {"file": new.name, "all_sensors_s": total, "runs_requested": runs}
        finally:
            new.unlink()
        # the zone is as before again, but its forecast folder changed (a file came and went): one tick each sees
        # that (once the settle time has passed: a folder changed within it may still hold a file being written),
        # and the fresh process keeps *these* cursors, so its tick is the no-op of a restarted daemon over an
        # unchanged zone
        time.sleep(float(os.environ.get("FLEXPOWER_SETTLE_SECONDS", "10")) + 1)
        for s in sensors:
            dt, data = _tick(dg, defs, s, after_new[s.name])
            result["sensors"][s.name]["cursor"] = data.cursor
            result["sensors"][s.name]["restore_tick_s"] = dt
    else:
        known = json.loads(cursors_file.read_text())["sensors"]
        for s in sensors:
            dt, data = _tick(dg, defs, s, known[s.name]["cursor"])
            result["sensors"][s.name] = {"noop_fresh_process_s": dt, "noop_fresh_process_cpu_s": _CPU[s.name],
                                         "runs": len(data.run_requests or [])}
    out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="one process of sensor ticks (used by scripts/benchmark.py)")
    ap.add_argument("--module", required=True)
    ap.add_argument("--cursors", type=Path, help="cursors of an earlier process: tick once each (no-op after a restart)")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    _ticks_main(a.module, a.cursors, a.out)
