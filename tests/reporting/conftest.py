"""Fixtures for the report site: the sample day materialised, one site build shared by every test.

The site is built once per session (about 2-3 minutes: Evidence's vite build) into a temporary copy of
``reports/`` (node_modules shared by symlink), so ``reports/build`` of the working tree is never touched.
The copy carries one extra page with a broken query: the build check must name it, and only it.
"""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flexpower_dagster.defs.reporting.site import (
    SNAPSHOT_DIR,
    SNAPSHOT_FILE,
    check_build,
    copy_project,
    run_evidence,
    snapshot_warehouse,
)
from flexpower_dagster.lib.warehouse import connect

from report_support import BROKEN_PAGE, BROKEN_PAGE_MD, REPORTS, SAMPLE_DAY, BuiltSite

REQUIRED_MARTS = (
    "marts.portfolio_forecast",
    "marts.portfolio_best_of_infeed",
    "marts.best_of_infeed",
    "marts.trading_daily",
    "marts.portfolio_imbalance",
)


def _require_evidence() -> None:
    if not (REPORTS / "node_modules" / ".bin" / "evidence").exists():
        pytest.fail("Evidence is not installed: run `make setup` (npm ci in reports/)")


@pytest.fixture(scope="session")
def report_warehouse(sample_warehouse) -> Path:
    """The session's sample-day warehouse (tests/conftest.py), checked to hold every mart the pages read."""
    with connect(sample_warehouse.warehouse, read_only=True) as conn:
        have = {
            f"{s}.{t}"
            for s, t in conn.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        }
    missing = [t for t in REQUIRED_MARTS if t not in have]
    if missing:
        pytest.fail(f"materialising {SAMPLE_DAY} did not write {missing}")
    return sample_warehouse.warehouse


@pytest.fixture(scope="session")
def built_site(report_warehouse, tmp_path_factory) -> BuiltSite:
    _require_evidence()
    project = copy_project(REPORTS, tmp_path_factory.mktemp("report_site") / "reports")
    (project / "pages" / f"{BROKEN_PAGE}.md").write_text(BROKEN_PAGE_MD)
    snapshot = project / SNAPSHOT_DIR / SNAPSHOT_FILE
    snapshot_warehouse(report_warehouse, snapshot)
    result = run_evidence(project)
    (project / "build.log").write_text(result.log)
    return BuiltSite(project, project / "build", report_warehouse, snapshot, result, check_build(result, project / "build"))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="session")
def site_url(built_site):
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(built_site.build)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
