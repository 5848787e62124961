"""Dagster wiring of the report site (logic in :mod:`flexpower_dagster.defs.reporting.site`).

``report_site`` is one unpartitioned asset after ``warehouse_snapshot``: the site always shows every day, so one
materialisation rebuilds it in full from the read-only copy of the warehouse (``<warehouse dir>/snapshot.duckdb``)
that ``warehouse_snapshot`` wrote after the marts. It never opens the live warehouse (it gets no warehouse resource)
and is in the ``site`` pool: its minutes of Evidence build run beside the warehouse writer, never in its way
(docs/automation.md, "Concurrency"). The automation rebuilds it once after each new snapshot.
"""

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from flexpower_dagster.defs.position.desk import DESK_FILE, desk_payload, write_desk_file
from flexpower_dagster.defs.reporting.site import (
    SNAPSHOT_DIR,
    SNAPSHOT_FILE,
    WORK_DIR,
    build_lock,
    check_build,
    collect_invoice_docs,
    copy_project,
    list_pages,
    publish_build,
    run_evidence,
    snapshot_warehouse,
)
from flexpower_dagster.lib.dagster.lanes import SITE_POOL
from flexpower_dagster.lib.dagster.limits import limited
from flexpower_dagster.lib.dagster.metadata import quantities
from flexpower_dagster.lib.dagster.resources import Alerting, DataDir, WarehouseSnapshot
from flexpower_dagster.settings import reports_dir as default_reports_dir

OPEN_COMMAND = (
    ".venv/bin/python -m flexpower_dagster.defs.reporting.serve  # reports/build with range requests; then open "
    "http://127.0.0.1:8000/"
)


class ReportSiteConfig(dg.Config):
    """Where the Evidence project lives (tests build a copy elsewhere)."""

    reports_dir: str = str(default_reports_dir())  # FLEXPOWER_REPORTS_DIR, default reports/


@dg.asset(
    key="report_site",
    deps=[dg.AssetKey("warehouse_snapshot")],
    pool=SITE_POOL,
    group_name="reporting",
    kinds={"evidence", "duckdb"},
    description=(
        "Stakeholder report site (Evidence.dev, reports/ -> reports/build/): portfolio overview with month to date, "
        "one asset page (asset, month and day are URL parameters), trading, imbalance, invoices and data quality. Rebuilt in full from the read-only "
        "warehouse snapshot (never the live warehouse: pool `site`, beside the warehouse writer); fails naming the page when a page query errors. Open: " + OPEN_COMMAND
    ),
)
@limited("reporting")
def report_site(
    context: dg.AssetExecutionContext, config: ReportSiteConfig, snapshot: WarehouseSnapshot, data_dir: DataDir,
    alerting: Alerting,
) -> dg.MaterializeResult:
    reports = Path(config.reports_dir)
    if not (reports / "node_modules" / ".bin" / "evidence").exists():
        raise dg.Failure(
            description=f"Evidence is not installed in {reports}: run `make setup` (npm ci from package-lock.json)."
        )
    with build_lock(reports):
        # All or nothing: build in a fresh copy of the project, publish reports/build only when complete
        work = reports / SNAPSHOT_DIR / WORK_DIR
        shutil.rmtree(work, ignore_errors=True)
        copy_project(reports, work)
        docs = collect_invoice_docs(data_dir.path / "invoices", work / "static" / "invoices")
        source = Path(snapshot.path)
        data_time = source.stat().st_mtime if source.exists() else 0.0  # when the copy's data was taken
        snap = snapshot_warehouse(source, work / SNAPSHOT_DIR / SNAPSHOT_FILE, invoice_docs=docs, ui_url=alerting.ui_url)
        context.log.info(
            f"snapshot in {snap.seconds:.1f} s: {len(snap.present)} tables, days {snap.days[:1]}..{snap.days[-1:]}, "
            f"missing {snap.missing}"
        )
        result = run_evidence(work)
        errors = check_build(result, work / "build")
        (reports / SNAPSHOT_DIR / "last_build.log").write_text(result.log)
        if errors:
            listing = "\n".join(f"- {e}" for e in errors[:20])
            raise dg.Failure(
                description=f"Report site build has {len(errors)} error(s) (the published site is unchanged):\n{listing}",
                metadata={"log_tail": dg.MetadataValue.md("```\n" + result.log[-4000:] + "\n```")},
            )
        # the trading desk's data file in the new build, from the snapshot; the position step rewrites the published
        # one meanwhile (the other lane): a published file written after the snapshot is newer and is kept
        if source.exists():
            with snapshot.connect() as src:
                write_desk_file(desk_payload(src, datetime.now(UTC).replace(tzinfo=None)), work / "build")
        publish_build(work / "build", reports / "build", keep_newer={DESK_FILE: data_time})
        # the snapshot the site was built from, for `npm run dev` in reports/ (page authors)
        os.replace(work / SNAPSHOT_DIR / SNAPSHOT_FILE, reports / SNAPSHOT_DIR / SNAPSHOT_FILE)
        shutil.rmtree(work, ignore_errors=True)
    pages = list_pages(reports / "build")
    return dg.MaterializeResult(
        metadata=quantities({
            "build_seconds": dg.MetadataValue.float(result.seconds),
            "sources_seconds": dg.MetadataValue.float(result.steps.get("sources", 0.0)),
            "vite_build_seconds": dg.MetadataValue.float(result.steps.get("build", 0.0)),
            "page_count": dg.MetadataValue.int(len(pages)),
            "pages": dg.MetadataValue.json(pages),
            "max_rss_mb": dg.MetadataValue.float(result.max_rss_mb),
            "days": dg.MetadataValue.int(len(snap.days)),
            "first_day": dg.MetadataValue.text(snap.days[0] if snap.days else ""),
            "last_day": dg.MetadataValue.text(snap.days[-1] if snap.days else ""),
            "tables_missing": dg.MetadataValue.json(snap.missing),
            "columns_missing": dg.MetadataValue.json(snap.missing_columns),
            "invoice_documents": dg.MetadataValue.int(len(docs)),
            "site": dg.MetadataValue.path(str(reports / "build")),
            "open_with": dg.MetadataValue.text(OPEN_COMMAND),
        })
    )

