"""A backfill, single writer vs parallel runs (issue 28 point 5, ``make benchmark-parallel``; docs/scaling.md, "Parallel
backfill benchmark"): N days of the K-asset demo built twice from scratch on the same machine,

1. **DuckDB file, the default profile**: one process running one ``delivery_day_job`` run per day, the days one after
   the other, as ``make run`` does (``run_all``: one process, one run per day; the landing sensors also request one run
   per day; a range run is not used: Dagster 1.13 records a range run's check evaluations without a partition);
   Dagster's instance is the default SQLite one (``dagster.yaml``);
2. **DuckLake in Postgres, the cluster profile**: a private Postgres (``lib/pgserver.py``, a ``/tmp`` folder, removed
   at the end), the lake's declared tables created first (``cluster.create_declared_tables``, as ``make cluster``
   does: DuckLake 1.4.4 fails concurrent catalog-entry creation), Dagster's instance on that Postgres
   (``dagster.cluster.yaml``), then P worker processes taking the days from one queue, one day run at a time each.

Both use the same worker (``scripts/benchmark/parallel_worker.py``: ``execute_job`` in the process, as ``make run``),
so the difference is the warehouse, the instance and the number of processes. This measures the warehouse's
parallelism, not the daemon's run queue (``make cluster`` runs up to 4 runs, one per partition, from the queue).

    .venv/bin/python scripts/benchmark_parallel.py                                    # 1000 assets x 10 days, 2 workers
    .venv/bin/python scripts/benchmark_parallel.py --assets 5 --days 3 --workers 2    # a few minutes

Wall, CPU (workers + Postgres server) and peak memory per profile (scripts/benchmark/parallel.py says how each is
measured), the marts' checksums of both warehouses compared (any difference fails the benchmark, exit 1), the load
before and after. Writes ``build/benchmark/parallel.json`` and the generated block of docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the benchmark package beside this script
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "tests"))  # support: CHECKSUM_EXCLUDED_TABLES

from benchmark import parallel, zones
from benchmark.machine import commit, machine

RESULTS = zones.BUILD_DIR / "parallel.json"
DOC = zones.PROJECT_ROOT / "docs" / "scaling.md"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def postgres_missing() -> str | None:
    """None when Debian's PostgreSQL is there (installed through `make setup-postgres` if needed), else why not."""
    from flexpower_dagster.lib import pgserver

    if pgserver.find_bindir() is not None:
        return None
    done = subprocess.run(["make", "--no-print-directory", "setup-postgres"], cwd=zones.PROJECT_ROOT,
                          capture_output=True, text=True)
    if pgserver.find_bindir() is not None:
        return None
    return ("Debian's PostgreSQL is not installed and `make setup-postgres` could not install it: "
            + (done.stderr or done.stdout).strip()[-500:])


def worker_env(landing: Path, warehouse: Path, data_dir: Path, home: Path, extra: dict[str, str] | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        DAGSTER_HOME=str(home), FLEXPOWER_LANDING_DIR=str(landing), FLEXPOWER_WAREHOUSE=str(warehouse),
        FLEXPOWER_DATA_DIR=str(data_dir),
        # a benchmark zone is complete when the run starts (as in benchmark/project.py): no settle time
        FLEXPOWER_SETTLE_SECONDS="0",
        **(extra or {}),
    )
    return env


def checksums(warehouse_path: Path, reference: dict | None = None) -> dict:
    from flexpower_dagster.lib import warehouse
    from flexpower_dagster.lib.checksums import schema_checksums

    from support import CHECKSUM_EXCLUDED_TABLES

    with warehouse.connect(warehouse_path, read_only=True) as conn:
        return schema_checksums(conn, "marts", reference=reference, exclude_tables=CHECKSUM_EXCLUDED_TABLES)


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def summary(m: parallel.WorkersMeasured, days: list[str], warehouse_bytes: int) -> dict:
    runs = [d["ended"] - d["started"] for d in m.days if d.get("started") is not None]
    return {
        **m.to_dict(),
        "days_built": len(days) - len(m.failed_days(days)),
        "not_built": m.failed_days(days),
        "median_day_s": statistics.median(runs) if runs else 0.0,
        "overlap_s": parallel.overlap_s(m.days),
        "steps": parallel.step_totals(m.days),
        "warehouse_bytes": warehouse_bytes,
    }


def warm(landing: Path) -> float:
    """Read every landing file once, so that neither profile pays the cold page cache alone; returns seconds."""
    t0 = time.perf_counter()
    for p in landing.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                while f.read(1 << 20):
                    pass
    return time.perf_counter() - t0


def run_file(zone: zones.Zone, days: list[str], work: Path, timeout: float | None) -> dict:
    root = work / "file"
    home, data = root / "dagster_home", root / "data"
    for d in (home, data, root / "warehouse"):
        d.mkdir(parents=True)
    shutil.copy(zones.PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")  # the default instance, as `make dev`
    wh = root / "warehouse" / "flexpower.duckdb"
    queue = parallel.make_queue(root / "queue", days)
    log(f"DuckDB file: 1 process, {len(days)} day runs one after the other ...")
    m = parallel.run_workers(1, queue, worker_env(zone.landing, wh, data, home), root / "logs", timeout=timeout, log=log)
    out = summary(m, days, du(wh) if wh.exists() else 0)
    out["warehouse"] = str(wh)
    log(f"  wall {m.wall_s:.0f} s, CPU {m.cpu_s:.0f} s, peak RSS {m.peak_rss_sum_bytes / 1e9:.2f} GB, "
        f"{out['days_built']}/{len(days)} days built")
    return out


def run_lake(zone: zones.Zone, days: list[str], work: Path, workers: int, timeout: float | None) -> tuple[dict, object]:
    """The DuckLake profile; returns its summary and the Postgres server (still running: the caller checksums the lake
    and removes the server)."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    from flexpower_dagster import cluster
    from flexpower_dagster.lib import lake, pgserver

    root = work / "lake"
    home, data = root / "dagster_home", root / "data"
    for d in (home, data):
        d.mkdir(parents=True)
    t0 = time.perf_counter()
    # not under build/: the server runs as Debian's postgres user when we are root, and the socket path is short
    server = pgserver.Server(Path(tempfile.mkdtemp(prefix="flexpower-pg-bench-")))
    server.start()
    try:
        descriptor = lake.write_descriptor(root / "warehouse" / "flexpower.ducklake.toml",
                                           catalog="postgres:" + server.dsn(pgserver.CATALOG_DB), data_path=root / "lake")
        declared = cluster.create_declared_tables(descriptor)
        lake.close_all()  # the workers are the writers; the parent opens the lake again to checksum it
        shutil.copy(cluster.INSTANCE_TEMPLATE, home / "dagster.yaml")
        extra = {"FLEXPOWER_DAGSTER_PG_URL": cluster.dagster_postgres_url(server)}
        os.environ.update(extra)
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))):
            pass  # Dagster's tables in Postgres, created once here rather than by two workers at the same moment
        prepare_s = time.perf_counter() - t0
        queue = parallel.make_queue(root / "queue", days)
        log(f"DuckLake in Postgres: {workers} worker processes on one queue of {len(days)} days "
            f"(prepared in {prepare_s:.0f} s: Postgres, {len(declared)} tables, Dagster's storage) ...")
        m = parallel.run_workers(workers, queue, worker_env(zone.landing, descriptor, data, home, extra), root / "logs",
                                 postgres_pid=parallel.postmaster_pid(server.pgdata), timeout=timeout, log=log)
    except BaseException:
        lake.close_all()
        server.remove()
        raise
    out = summary(m, days, du(root / "lake"))
    out.update(warehouse=str(descriptor), prepare_s=prepare_s, declared_tables=len(declared))
    log(f"  wall {m.wall_s:.0f} s, CPU {m.cpu_s:.0f} s + Postgres {m.postgres_cpu_s or 0:.0f} s, peak RSS "
        f"{m.peak_rss_sum_bytes / 1e9:.2f} GB, {out['days_built']}/{len(days)} days built, runs overlapping "
        f"{out['overlap_s']:.0f} s")
    return out, server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--assets", type=int, default=1000, help="assets of the demo zone (default 1000)")
    ap.add_argument("--days", type=int, default=10, help="delivery days of the backfill (default 10)")
    ap.add_argument("--workers", type=int, default=2, help="parallel worker processes on DuckLake (default 2)")
    ap.add_argument("--start", type=date.fromisoformat, default=zones.DAY, help=f"first day (default {zones.DAY})")
    ap.add_argument("--timeout-minutes", type=float, default=0, help="stop a profile's workers after this (0: no limit)")
    ap.add_argument("--no-warm", action="store_true", help="do not read the landing zone once before the measurements")
    ap.add_argument("--zones", type=Path, default=zones.ZONES_DIR, help="where generated landing zones are cached")
    ap.add_argument("--work", type=Path, default=zones.BUILD_DIR / "parallel-work", help="scratch space (deleted unless --keep)")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--docs", default=str(DOC), help="markdown file whose generated block is rewritten ('' for none)")
    ap.add_argument("--keep", action="store_true", help="keep the warehouses and logs in --work")
    a = ap.parse_args(argv)
    if a.assets < 1 or a.days < 1 or a.workers < 1:
        ap.error("--assets, --days and --workers must be at least 1")
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    why = postgres_missing()
    if why:
        print(f"benchmark-parallel: skipped: {why}", flush=True)
        return 0
    from flexpower_dagster.lib import lake

    head, dirty = commit(reports=("docs/scaling.md",))  # the page whose block this benchmark rewrites
    timeout = a.timeout_minutes * 60 or None
    zone = zones.ensure_zone(a.assets, a.start, days=a.days, root=a.zones, log=log)
    days = [d.isoformat() for d in zone.delivery_days]
    shutil.rmtree(a.work, ignore_errors=True)
    a.work.mkdir(parents=True)
    if not a.no_warm:
        log(f"reading the landing zone once ({zone.bytes / 1e9:.2f} GB): {warm(zone.landing):.0f} s")
    load_before = uptime()
    log(f"load: {load_before}")
    t0 = time.perf_counter()
    file = run_file(zone, days, a.work, timeout)
    lake_result, server = run_lake(zone, days, a.work, a.workers, timeout)
    try:
        log("checksums of the marts of both warehouses ...")
        file_sums = checksums(Path(file["warehouse"])) if Path(file["warehouse"]).exists() else {}
        lake_sums = checksums(Path(lake_result["warehouse"]), reference=file_sums)
    finally:
        lake.close_all()
        server.remove()
    comparison = parallel.compare_marts(file_sums, lake_sums)
    load_after = uptime()
    result = {
        "args": f"--assets {a.assets} --days {a.days} --workers {a.workers}",
        "assets": a.assets, "days": a.days, "workers": a.workers, "first_day": days[0], "last_day": days[-1],
        "files": zone.files, "bytes": zone.bytes, "commit": head, "dirty": dirty, "machine": machine(),
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_before": load_before,
        "load_after": load_after, "total_s": time.perf_counter() - t0,
        "file": file, "lake": lake_result, "comparison": comparison,
    }
    a.results.parent.mkdir(parents=True, exist_ok=True)
    a.results.write_text(json.dumps(result, indent=1, default=str) + "\n")
    text = parallel.markdown(result)
    print(text, flush=True)
    if a.docs:
        parallel.write_block(Path(a.docs), text)
    log(f"results: {a.results}" + (f"; block in {a.docs}" if a.docs else ""))
    failed = file["not_built"] or lake_result["not_built"] or file["timed_out"] or lake_result["timed_out"]
    if not comparison["identical"]:
        log("FAILED: the marts differ between the DuckDB file and the lake: " + "; ".join(comparison["differences"]))
    if failed:
        log(f"FAILED: days not built: file {file['not_built']}, lake {lake_result['not_built']}")
    ok = comparison["identical"] and not failed
    if ok and not a.keep:
        shutil.rmtree(a.work, ignore_errors=True)
    elif not ok:
        log(f"warehouses and worker logs kept in {a.work}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
