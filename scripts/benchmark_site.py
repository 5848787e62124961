"""Measure the report site's build at a given portfolio size (a script, not a timed test; no Dagster at import).

    .venv/bin/python scripts/benchmark_site.py --assets 200 --days 2 --out /tmp/site-bench
    .venv/bin/python scripts/benchmark_site.py --warehouse data/warehouse/flexpower.duckdb --out /tmp/b

1. a demo landing zone with ``--assets`` assets (``flexpower_dagster.demo``, deterministic), unless ``--landing``
   names one (e.g. ``../shared/datasets/flexpower-2025-06-08 --start 2025-06-08 --days 1``) or ``--warehouse`` an
   existing warehouse;
2. every daily asset of each day materialised into ``<out>/warehouse.duckdb`` (the full definitions, in process);
3. the site built from it in a temporary copy of ``reports/`` (``copy_project`` + ``snapshot_warehouse`` +
   ``run_evidence``), as ``report_site`` does;
4. with ``--browser``: the asset page opened in Debian's Chromium from a range-capable server, counting the bytes of
   the data files it fetched.

Prints one JSON object: seconds and peak memory per step, page count, data file sizes and the browser's bytes.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path


def materialise(landing: Path, warehouse: Path, days: list[str]) -> dict[str, float]:
    import dagster as dg

    from flexpower_dagster.definitions import build_definitions
    from flexpower_dagster.settings import Settings

    defs = build_definitions(Settings(landing_dir=landing, warehouse=warehouse, data_dir=warehouse.parent / "data"))
    graph = defs.resolve_asset_graph()
    selection = dg.AssetSelection.tag("cadence", "daily") - dg.AssetSelection.assets("report_site")
    keys = sorted(selection.resolve(graph), key=lambda k: k.to_user_string())
    job = defs.resolve_implicit_global_asset_job_def()
    seconds = {}
    with dg.instance_for_test() as instance:
        for day in days:
            started = time.monotonic()
            job.execute_in_process(partition_key=day, asset_selection=keys, instance=instance, raise_on_error=False)
            seconds[day] = round(time.monotonic() - started, 1)
    return seconds


def browse_asset_page(build: Path, asset: str, day: str) -> dict:
    """Open the asset page of one asset-day; return the data files fetched and their bytes."""
    import threading

    from playwright.sync_api import sync_playwright

    from flexpower_dagster.defs.reporting.serve import make_server

    server = make_server(build)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fetched: dict[str, int] = {}

    def on_response(response) -> None:
        if "/data/" in response.url and response.url.endswith(".parquet"):
            name = response.url.rsplit("/", 1)[-1]
            try:
                fetched[name] = fetched.get(name, 0) + len(response.body())
            except Exception:  # a HEAD request has no body
                fetched.setdefault(name, 0)

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.on("response", on_response)
            started = time.monotonic()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/asset/?asset={asset}&day={day}", wait_until="networkidle")
            page.wait_for_function("() => !/Loading/.test(document.querySelector('main')?.innerText ?? 'Loading')",
                                   timeout=120_000)
            seconds = time.monotonic() - started
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    sizes = {p.name: p.stat().st_size for p in (build / "data").rglob("*.parquet")}
    return {"seconds": round(seconds, 1), "bytes_fetched": fetched, "file_bytes": {k: sizes.get(k) for k in fetched}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/benchmark_site.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="work directory (landing zone, warehouse, site copy)")
    parser.add_argument("--assets", type=int, default=200)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 6, 7))
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--landing", type=Path, help="materialise this landing zone (e.g. the sample) instead of a demo")
    parser.add_argument("--warehouse", type=Path, help="build from this existing warehouse (nothing is materialised)")
    parser.add_argument("--browser", action="store_true", help="also open the asset page and count the bytes it reads")
    args = parser.parse_args(argv)

    from flexpower_dagster.defs.reporting.site import (
        SNAPSHOT_DIR,
        SNAPSHOT_FILE,
        check_build,
        copy_project,
        list_pages,
        run_evidence,
        snapshot_warehouse,
    )
    from flexpower_dagster.settings import PROJECT_ROOT

    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"assets": args.assets, "days": args.days}
    warehouse = args.warehouse
    if warehouse is None:
        from flexpower_dagster.demo import generate

        landing, warehouse = args.landing or args.out / "landing", args.out / "warehouse.duckdb"
        if not landing.exists():
            started = time.monotonic()
            generate(landing, n_assets=args.assets, start=args.start, days=args.days)
            report["demo_seconds"] = round(time.monotonic() - started, 1)
        if not warehouse.exists():
            days = [(args.start + timedelta(days=i)).isoformat() for i in range(args.days)]
            report["materialise_seconds"] = materialise(landing, warehouse, days)
    project = copy_project(PROJECT_ROOT / "reports", args.out / "site" / "reports")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    snap = snapshot_warehouse(warehouse, project / SNAPSHOT_DIR / SNAPSHOT_FILE)
    result = run_evidence(project)
    errors = check_build(result, project / "build")
    report |= {
        "warehouse_mb": round(Path(warehouse).stat().st_size / 2**20, 1),
        "snapshot_seconds": round(snap.seconds, 1),
        "snapshot_rows": snap.views,
        "python_max_rss_mb": round(max(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024, 1),
        "build_seconds": result.seconds,
        "steps_seconds": result.steps,
        "build_max_rss_mb": result.max_rss_mb,
        "pages": list_pages(project / "build"),
        "errors": [str(e) for e in errors],
        "data_mb": round(sum(p.stat().st_size for p in (project / "build" / "data").rglob("*.parquet")) / 2**20, 2),
    }
    if args.browser and not errors:
        import duckdb

        with duckdb.connect(str(snap.path), read_only=True) as conn:
            asset, day = conn.execute(
                "SELECT asset_id, day_key FROM report.asset_day WHERE NOT is_placeholder ORDER BY day_key DESC, asset_id DESC LIMIT 1"
            ).fetchone()
        report["asset_page"] = {"asset": asset, "day": day, **browse_asset_page(project / "build", asset, day)}
    print(json.dumps(report, indent=1))
    return 0 if not errors and result.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
