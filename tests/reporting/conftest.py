"""Fixtures for the report site: the sample day materialised (with its month's invoices), one site build shared
by every test, served with range requests on 127.0.0.1.

The site is built once per session (about 1-3 minutes: Evidence's vite build) into a temporary copy of
``reports/`` (node_modules shared by symlink), so ``reports/build`` of the working tree is never touched. The
page with a broken query that proves the build check was built by Evidence in a separate project holding only
that page and a trivial home page, and recorded (``broken_build/``, ``make record-broken-build``): the site the
browser tests open (and screenshot) is exactly the site ``report_site`` ships, and no session builds twice.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import dagster as dg
import pytest

from flexpower_dagster.defs.ops.assets import marts_alerts
from flexpower_dagster.defs.reporting.serve import make_server
from flexpower_dagster.defs.reporting.site import (
    SNAPSHOT_DIR,
    SNAPSHOT_FILE,
    BuildResult,
    check_build,
    collect_invoice_docs,
    copy_project,
    run_evidence,
    snapshot_warehouse,
)
from flexpower_dagster.lib.dagster.resources import Alerting
from flexpower_dagster.lib.warehouse import connect

from report_support import (
    BROKEN_PAGE,
    BROKEN_PAGE_MD,
    MINIMAL_INDEX_MD,
    REPORTS,
    SAMPLE_DAY,
    BuiltSite,
    PageVisit,
)
from support import resources_for

REQUIRED_MARTS = (
    "marts.portfolio_forecast",
    "marts.portfolio_best_of_infeed",
    "marts.best_of_infeed",
    "marts.trading_daily",
    "marts.portfolio_imbalance",
    "marts.asset_performance",
    "marts.invoices",
    "marts.alerts",
)
#: A real Evidence build of a page with a broken query (``broken_site``), recorded by ``make record-broken-build``.
BROKEN_BUILD = Path(__file__).parent / "broken_build"
RECORD_BROKEN_BUILD = "FLEXPOWER_RECORD_BROKEN_BUILD"
#: The clock of the sample's alert evaluation: the day the June invoices are issued.
ALERTS_NOW = "2025-07-01T08:00:00"


def _require_evidence() -> None:
    if not (REPORTS / "node_modules" / ".bin" / "evidence").exists():
        pytest.fail("Evidence is not installed: run `make setup` (npm ci in reports/)")


@pytest.fixture(scope="session")
def report_warehouse(sample_month, tmp_path_factory):
    """A copy of the session's sample-day warehouse with the June invoices of that day (tests/conftest.py:
    ``sample_month``, its data dir with the invoice PDFs too) and the alerts, checked to hold every mart the pages
    read."""
    settings = sample_month.copy(tmp_path_factory.mktemp("report_warehouse"), data=True)
    wh = settings.warehouse
    # the alerts as of the morning the June invoices go out (a fixed clock: the page's content is deterministic)
    resources = resources_for(settings.landing_dir, wh, settings.data_dir)
    resources["alerting"] = Alerting(now=ALERTS_NOW)
    dg.materialize([marts_alerts], resources=resources)
    with connect(wh, read_only=True) as conn:
        have = {
            f"{s}.{t}"
            for s, t in conn.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        }
    missing = [t for t in REQUIRED_MARTS if t not in have]
    if missing:
        pytest.fail(f"materialising {SAMPLE_DAY} and its month did not write {missing}")
    return wh


@pytest.fixture(scope="session")
def built_site(report_warehouse, tmp_path_factory) -> BuiltSite:
    _require_evidence()
    project = copy_project(REPORTS, tmp_path_factory.mktemp("report_site") / "reports")
    snapshot = project / SNAPSHOT_DIR / SNAPSHOT_FILE
    # the invoice PDFs of the month, linked from the invoice and asset pages as report_site does
    docs = collect_invoice_docs(report_warehouse.parent / "data" / "invoices", project / "static" / "invoices")
    snapshot_warehouse(report_warehouse, snapshot, invoice_docs=docs)
    result = run_evidence(project)
    (project / "build.log").write_text(result.log)
    return BuiltSite(project, project / "build", report_warehouse, snapshot, result, check_build(result, project / "build"))


def _record_broken_build(built_site: BuiltSite, root: Path) -> None:
    """Build BROKEN_PAGE_MD beside MINIMAL_INDEX_MD with the real Evidence, in a separate project on the site's
    snapshot, and store what the build check reads in BROKEN_BUILD: the pages, the log, the exit code (result.json)
    and each prerendered page (site/)."""
    project = copy_project(REPORTS, root / "reports")
    shutil.rmtree(project / "pages")
    (project / "pages").mkdir()
    (project / "pages" / "index.md").write_text(MINIMAL_INDEX_MD)
    (project / "pages" / f"{BROKEN_PAGE}.md").write_text(BROKEN_PAGE_MD)
    snapshot = project / SNAPSHOT_DIR / SNAPSHOT_FILE
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(built_site.snapshot, snapshot)
    result = run_evidence(project)
    shutil.rmtree(BROKEN_BUILD, ignore_errors=True)
    shutil.copytree(project / "pages", BROKEN_BUILD / "pages")
    for html in (project / "build").rglob("index.html"):
        if "_app" not in html.relative_to(project / "build").parts:
            target = BROKEN_BUILD / "site" / html.relative_to(project / "build")  # build/ is ignored by git
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(html, target)
    (BROKEN_BUILD / "build.log").write_text(result.log)
    lock = json.loads((REPORTS / "package-lock.json").read_text())["packages"]
    meta = {"returncode": result.returncode, "seconds": result.seconds, "max_rss_mb": result.max_rss_mb,
            "evidence": lock["node_modules/@evidence-dev/evidence"]["version"]}
    (BROKEN_BUILD / "result.json").write_text(json.dumps(meta, indent=2) + "\n")


@pytest.fixture(scope="session")
def broken_site(request, tmp_path_factory) -> BuiltSite:
    """A project with only a trivial home page and a page whose query is broken, built by the real Evidence: the
    recording in BROKEN_BUILD (its pages, log, exit code and prerendered pages), not a second build per session.
    ``make record-broken-build`` records it again (after an Evidence upgrade: test_report_site.py checks the
    version)."""
    if os.environ.get(RECORD_BROKEN_BUILD) == "1":
        _record_broken_build(request.getfixturevalue("built_site"), tmp_path_factory.mktemp("broken_build_record"))
    project = tmp_path_factory.mktemp("broken_site") / "reports"
    shutil.copytree(BROKEN_BUILD / "pages", project / "pages")
    shutil.copytree(BROKEN_BUILD / "site", project / "build")
    meta = json.loads((BROKEN_BUILD / "result.json").read_text())
    result = BuildResult(returncode=meta["returncode"], seconds=meta["seconds"], log=(BROKEN_BUILD / "build.log").read_text(),
                         max_rss_mb=meta["max_rss_mb"])
    return BuiltSite(project, project / "build", None, None, result, check_build(result, project / "build"))


@pytest.fixture(scope="session")
def site_url(built_site):
    """The built site on 127.0.0.1 with HTTP range requests (as any static host serves it)."""
    server = make_server(built_site.build)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def visit(browser, site_url):
    """Open pages of the built site (``visit(width).open(path)``); every context is closed after the test."""
    visits = []

    def _visit(width: str = "desktop") -> PageVisit:
        v = PageVisit(browser, site_url, width)
        visits.append(v)
        return v

    yield _visit
    for v in visits:
        v.close()
