"""Benchmark: one tick of every landing-zone sensor over a synthetic landing zone of ~100,000 files.

    .venv/bin/python scripts/benchmark_sensors.py [--files 100000] [--dir /tmp/flexpower-sensor-bench] [--keep]

Builds (once; reused when ``--dir`` already holds it) a landing zone with the real name patterns and
the real file contents of the sample day (forecast versions every 15 min for 5 assets, live files,
DSO finals and flags, trade exports, imbalance files, weekly CRM and daily technical-data snapshots)
over as many days as it takes to reach ``--files``; DSO finals carry their own day in the content.
Then it evaluates the real Dagster sensors (``build_sensor_context``) and reports per sensor:

* cold first tick (empty cursor, cold caches: every file is stat'ed, dated and content-hashed once);
* no-op tick (cursor from the first tick, warm caches: the steady state in ``make dev``);
* tick after one new forecast version lands (3 days re-planned);
* no-op tick in a fresh process (cursor kept, caches cold: after a code-server restart);
* cursor size, and for comparison the size of a zlib-compressed JSON map of every fingerprint.

Dagster's sensor evaluation limit is 60 s; the numbers are written to docs/automation.md by hand.
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import time
import zlib
from datetime import date, datetime, timedelta
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "flexpower-2025-06-08"
ASSETS = ("SOL-DE-001", "SOL-DE-002", "WND-DE-001", "WND-DE-002", "WND-DE-003")
SHORT = ("SOL02", "WND01", "WND02", "WND03")
METERING = ("MP-SOL-001", "MP-SOL-002", "MP-WND-002", "MP-WND-003")
SYSTEMS = ("crm", "vpp", "dso", "exchange", "imbalance_prices")


def _sample(rel: str) -> bytes:
    return (SAMPLE / rel).read_bytes()


def build_landing(root: Path, n_files: int, first_day: date = date(2025, 1, 1)) -> int:
    """Write the synthetic landing zone; returns the number of files."""
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
            (dirs["ex"] / f"{kind}_Trades-{compact}-{nxt}T000516000Z.csv").write_text(trades.replace("2025-06-08", iso).replace("20250608", compact))
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
    return count + 1


def _tick(system: str, root: Path, cursor: str | None):
    import dagster as dg

    from flexpower_dagster.definitions import source_sensors
    from flexpower_dagster.lib.dagster.resources import LandingZone

    sensor = next(s for s in source_sensors() if s.name == f"{system}_files_sensor")
    ctx = dg.build_sensor_context(cursor=cursor, resources={"landing": LandingZone(root=str(root))})
    t0 = time.perf_counter()
    result = sensor(ctx)
    return time.perf_counter() - t0, result


def fingerprint_map_size(root: Path) -> int:
    """Size of the alternative cursor: every file's (name, size, mtime), JSON, zlib, base64."""
    entries = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            st = p.stat()
            entries[p.relative_to(root).as_posix()] = [st.st_size, st.st_mtime_ns]
    raw = json.dumps(entries, separators=(",", ":")).encode()
    return len(base64.b64encode(zlib.compress(raw, 6)))


def cold_noop(root: Path, cursors: dict[str, str]) -> dict[str, float]:
    """No-op ticks in a fresh interpreter (cold per-process caches)."""
    code = (
        f"import json,sys,time;from pathlib import Path;sys.path.insert(0, {str(Path(__file__).parent)!r});"
        "from benchmark_sensors import _tick;cur=json.load(open(sys.argv[1]));out={}\n"
        "for s,c in cur.items():\n"
        "    dt,r=_tick(s,Path(sys.argv[2]),c);assert not r.run_requests, s;out[s]=dt\n"
        "print(json.dumps(out))"
    )
    tmp = root.parent / "bench_cursors.json"
    tmp.write_text(json.dumps(cursors))
    out = subprocess.run([sys.executable, "-c", code, str(tmp), str(root)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/flexpower-sensor-bench"))
    ap.add_argument("--keep", action="store_true", help="keep the synthetic landing zone")
    args = ap.parse_args()

    root = args.dir / "landing"
    marker = args.dir / f"built-{args.files}"
    if not marker.exists():
        shutil.rmtree(args.dir, ignore_errors=True)
        t0 = time.perf_counter()
        n = build_landing(root, args.files)
        marker.write_text(str(n))
        print(f"built {n} files in {root} in {time.perf_counter() - t0:.1f}s")
    n = int(marker.read_text())
    print(f"landing zone: {n} files")

    rows, cursors = [], {}
    for system in SYSTEMS:
        cold, r1 = _tick(system, root, None)
        cursors[system] = r1.cursor
        noop, r2 = _tick(system, root, r1.cursor)
        assert not r2.run_requests, f"{system}: no-op tick requested runs"
        rows.append([system, cold, len(r1.run_requests or []), noop, len(r1.cursor)])

    # one new forecast version: the vpp sensor re-plans the three days it covers
    newest = max((root / "vpp/forecasts").iterdir()).name
    ts = datetime.strptime(newest.rsplit("_", 1)[1], "%Y-%m-%dT%H%M%SZ.json") + timedelta(minutes=15)
    new = root / "vpp/forecasts" / f"forecast_SOL-DE-001_{ts:%Y-%m-%dT%H%M%S}Z.json"
    shutil.copyfile(root / "vpp/forecasts" / newest, new)
    one_new, r3 = _tick("vpp", root, cursors["vpp"])
    new.unlink()

    cold_proc = cold_noop(root, cursors)
    alt = fingerprint_map_size(root)

    print(f"\n{'sensor':<10} {'first tick s':>12} {'runs':>6} {'no-op tick s':>13} {'no-op cold s':>13} {'cursor bytes':>13}")
    for system, cold, runs, noop, size in rows:
        print(f"{system:<10} {cold:>12.2f} {runs:>6} {noop:>13.3f} {cold_proc[system]:>13.2f} {size:>13}")
    print(f"\nvpp tick after one new forecast file: {one_new:.2f}s, {len(r3.run_requests)} run request(s)")
    print(f"all five sensors, no-op (warm): {sum(r[3] for r in rows):.2f}s; first ticks: {sum(r[1] for r in rows):.1f}s")
    print(f"cursor total {sum(r[4] for r in rows)} bytes vs {alt} bytes for a compressed JSON map of every fingerprint")
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
