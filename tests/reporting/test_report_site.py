"""The report site, built once from the sample day and opened in Debian's headless Chromium.

* every page renders without a console error and without a request leaving 127.0.0.1;
* the overview's KPI tiles and the asset page's tiles show the warehouse's numbers for 2025-06-08;
* a page with a broken query fails the build check, naming the page (Evidence itself exits 0);
* the Dagster asset records build time and page count, and fails naming the page.

Screenshots of every page go to build/screenshots/ (ignored by git); `make screenshots` writes them to
docs/screenshots/ instead (shown in the README and docs/reports.md).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import pytest

from flexpower_dagster.defs.reporting import assets as report_assets
from flexpower_dagster.defs.reporting.site import BuildResult, check_build, list_pages
from flexpower_dagster.lib.dagster.resources import DataDir, Warehouse
from flexpower_dagster.lib.warehouse import connect

from report_support import BROKEN_PAGE, SAMPLE_DAY
from support import SCREENSHOTS

DE_NUMBER = re.compile(r"-?\d{1,3}(?:\.\d{3})*,\d{2}")
PAGES = {
    "overview": ("/", 4),
    "trading": ("/trading/", 4),
    "imbalance": ("/imbalance/", 3),
    "invoices": ("/invoices/", 0),
    "data-quality": ("/data-quality/", 0),
}


def de_number(text: str) -> float:
    """The first de-DE formatted number with two decimals in ``text`` ("1.234,56 MWh" -> 1234.56)."""
    match = DE_NUMBER.search(text)
    assert match, f"no de-DE number with two decimals in {text!r}"
    return float(match.group(0).replace(".", "").replace(",", "."))


class PageVisit:
    """Open one page; record console errors, page errors and every request that is not to the site."""

    def __init__(self, browser, site_url: str):
        self.site = urlparse(site_url)
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="de-DE")
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.foreign_requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {e}"))
        self.page.on("request", self._on_request)
        # Nothing may leave the machine: abort (and record) anything not served by our server.
        self.context.route(re.compile(rf"^(?!http://127\.0\.0\.1:{self.site.port}/).*"), self._abort)

    def _on_request(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("data", "blob"):
            return
        if (url.hostname, url.port) != (self.site.hostname, self.site.port):
            self.foreign_requests.append(request.url)

    def _abort(self, route) -> None:
        url = urlparse(route.request.url)
        if url.scheme in ("data", "blob"):
            route.continue_()
        else:
            route.abort()

    def open(self, path: str, charts: int) -> None:
        self.page.goto(self.site.geturl().rstrip("/") + path, wait_until="networkidle", timeout=60_000)
        if charts:
            self.page.wait_for_function(
                f"document.querySelectorAll('[_echarts_instance_] canvas').length >= {charts}", timeout=60_000
            )
        # Queries run in DuckDB-wasm after hydration: wait until no "loading" skeleton is left.
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_timeout(1500)

    def kpi(self, name: str) -> float:
        tile = self.page.locator(f'[data-kpi="{name}"]').first
        tile.wait_for(timeout=30_000)
        self.page.wait_for_function(
            "el => /\\d,\\d\\d/.test(el.innerText)", arg=tile.element_handle(), timeout=30_000
        )
        return de_number(tile.inner_text())

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def assert_clean(self) -> None:
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.foreign_requests == [], f"requests left 127.0.0.1: {self.foreign_requests}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, site_url):
    visits = []

    def _visit() -> PageVisit:
        v = PageVisit(browser, site_url)
        visits.append(v)
        return v

    yield _visit
    for v in visits:
        v.close()


def _warehouse_day(warehouse: Path) -> dict[str, float]:
    with connect(warehouse, read_only=True) as conn:
        one = lambda sql: conn.execute(sql, [SAMPLE_DAY]).fetchone()[0]  # noqa: E731
        return {
            "bestof_mwh": one("SELECT sum(mwh) FROM marts.portfolio_best_of_infeed WHERE delivery_day = ?"),
            "latest_forecast_mwh": one("SELECT sum(latest_mw) * 0.25 FROM marts.portfolio_forecast WHERE delivery_day = ?"),
            "tradeable_forecast_mwh": one(
                "SELECT sum(tradeable_mw) * 0.25 FROM marts.portfolio_forecast WHERE delivery_day = ?"
            ),
            "revenue_eur": one("SELECT revenue_eur FROM marts.trading_daily WHERE delivery_day = ?"),
            "vwap_eur_per_mwh": one("SELECT vwap_eur_per_mwh FROM marts.trading_daily WHERE delivery_day = ?"),
            "market_vwap_eur_per_mwh": one(
                "SELECT market_vwap_eur_per_mwh FROM marts.trading_daily WHERE delivery_day = ?"
            ),
            "imbalance_cost_eur": one("SELECT sum(cost_eur) FROM marts.portfolio_imbalance WHERE delivery_day = ?"),
        }


def test_build_check_names_only_the_broken_page(built_site):
    # Evidence's build succeeded (exit 0) although one page query is broken ...
    assert built_site.result.returncode == 0, built_site.result.log[-3000:]
    # ... the check finds exactly that page and the error.
    pages = {e.page.strip("/") for e in built_site.errors}
    assert pages == {BROKEN_PAGE}, [str(e) for e in built_site.errors]
    assert any("no_such_column" in e.error for e in built_site.errors), [str(e) for e in built_site.errors]
    # every expected page was prerendered, one per asset of the day
    with connect(built_site.warehouse, read_only=True) as conn:
        asset_ids = [r[0] for r in conn.execute(
            "SELECT DISTINCT asset_id FROM marts.best_of_infeed WHERE delivery_day = ?", [SAMPLE_DAY]).fetchall()]
    pages = set(list_pages(built_site.build))
    assert {"/", "/trading/", "/imbalance/", "/invoices/", "/data-quality/"} <= pages
    assert {f"/assets/{a}/" for a in asset_ids} <= pages


def test_overview_kpis_equal_the_warehouse(built_site, visit):
    expected = _warehouse_day(built_site.warehouse)
    with connect(built_site.snapshot, read_only=True) as conn:
        expected["margin_eur"] = conn.execute(
            "SELECT margin_eur FROM report.portfolio_day WHERE delivery_day = ?", [SAMPLE_DAY]).fetchone()[0]
        margin_parts = conn.execute(
            "SELECT revenue_eur - payout_eur_est + fee_eur_est - imbalance_cost_eur FROM report.portfolio_day "
            "WHERE delivery_day = ?", [SAMPLE_DAY]).fetchone()[0]
    assert expected["margin_eur"] == pytest.approx(margin_parts, abs=1e-6)

    v = visit()
    v.open("/", charts=PAGES["overview"][1])
    shown = {name: v.kpi(name) for name in expected}
    v.screenshot("overview")
    for name, value in expected.items():
        assert value is not None, f"warehouse has no {name} for {SAMPLE_DAY}"
        assert shown[name] == pytest.approx(round(value, 2), abs=0.006), name
    assert "08.06.2025" in v.page.inner_text("body")
    v.assert_clean()


def test_asset_page_shows_the_assets_numbers(built_site, visit):
    with connect(built_site.warehouse, read_only=True) as conn:
        asset_id, mwh = conn.execute(
            "SELECT asset_id, sum(mwh) FROM marts.best_of_infeed WHERE delivery_day = ? GROUP BY 1 "
            "ORDER BY sum(mwh) DESC LIMIT 1", [SAMPLE_DAY]).fetchone()
        cost = conn.execute(
            "SELECT sum(cost_eur) FROM marts.imbalance WHERE delivery_day = ? AND asset_id = ?",
            [SAMPLE_DAY, asset_id]).fetchone()[0]
    v = visit()
    v.open(f"/assets/{asset_id}/", charts=4)
    assert v.kpi("bestof_mwh") == pytest.approx(round(mwh, 2), abs=0.006)
    if cost is not None:
        assert v.kpi("imbalance_cost_eur") == pytest.approx(round(cost, 2), abs=0.006)
    assert v.page.locator("h1", has_text=asset_id).count() >= 1
    v.screenshot("asset")
    v.assert_clean()


@pytest.mark.parametrize("name", ["trading", "imbalance", "invoices", "data-quality"])
def test_every_page_renders_cleanly(built_site, visit, name):
    path, charts = PAGES[name]
    v = visit()
    v.open(path, charts=charts)
    body = v.page.inner_text("body")
    assert "Error in Query" not in body and "Binder Error" not in body
    if name == "invoices":
        with connect(built_site.snapshot, read_only=True) as conn:
            n = conn.execute("SELECT count(*) FROM report.invoices WHERE NOT is_placeholder").fetchone()[0]
        if n == 0:
            assert "No invoices yet" in body
    v.screenshot(name)
    v.assert_clean()


def _fake_run(build_src: Path, drop_broken: bool):
    def run(reports_dir, **_kwargs) -> BuildResult:
        import shutil

        shutil.rmtree(Path(reports_dir) / "build", ignore_errors=True)
        shutil.copytree(build_src, Path(reports_dir) / "build")
        if drop_broken:
            shutil.rmtree(Path(reports_dir) / "build" / BROKEN_PAGE, ignore_errors=True)
        return BuildResult(returncode=0, seconds=1.5, log="ok", max_rss_mb=1.0, steps={"sources": 0.5, "build": 1.0})

    return run


@pytest.mark.parametrize("broken", [False, True], ids=["clean", "broken-page"])
def test_report_site_asset(built_site, tmp_path, monkeypatch, broken):
    """The Dagster asset around the shared build (Evidence itself is replaced by a copy of that build)."""
    project = tmp_path / "reports"
    (project / "node_modules" / ".bin").mkdir(parents=True)
    (project / "node_modules" / ".bin" / "evidence").write_text("")
    monkeypatch.setattr(report_assets, "run_evidence", _fake_run(built_site.build, drop_broken=not broken))
    result = dg.materialize(
        [report_assets.report_site],
        resources={"warehouse": Warehouse(path=str(built_site.warehouse)), "data_dir": DataDir(root=str(tmp_path))},
        run_config={"ops": {"report_site": {"config": {"reports_dir": str(project)}}}},
        raise_on_error=False,
    )
    if broken:
        assert not result.success
        failure = result.get_step_failure_events()[0].step_failure_data.error
        assert BROKEN_PAGE in failure.message and "no_such_column" in failure.message
    else:
        assert result.success
        md = result.asset_materializations_for_node("report_site")[0].metadata
        assert md["page (count)"].value == len(list_pages(project / "build")) >= 6
        assert md["build (s)"].value == 1.5
        assert md["last_day"].value == SAMPLE_DAY
        assert (project / ".snapshot" / "flexpower_report.duckdb").exists()


def test_check_build_reads_the_log_too(tmp_path):
    (tmp_path / "index.html").write_text("<html><body>fine</body></html>")
    log = "trades | Error in Query! Binder Error: Referenced column \"x\" not found"
    errors = check_build(BuildResult(0, 1.0, log, 1.0), tmp_path)
    assert len(errors) == 1 and "Binder Error" in errors[0].error
    assert check_build(BuildResult(0, 1.0, "all good", 1.0), tmp_path) == []
