"""Leak tests of the audience sites (issue 25, step 2): every internal audience's site built by Evidence from its
snapshot of the sample day and its June invoices holds exactly its pages, and no file of it (HTML, JS, JSON, arrow,
parquet, ...) holds an identifier or a withheld value outside the audience's scope; the same scan finds them in the
data-engineering site (the positive control)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from permissions_support import EXPECTED_PAGES, REPORTS

from flexpower_dagster.defs.permissions.leaks import (
    forbidden_identifiers,
    forbidden_kinds,
    scan_site,
    withheld_columns,
    withheld_values,
)
from flexpower_dagster.defs.permissions.sites import build_sites
from flexpower_dagster.defs.position.desk import DESK_FILE, _finite, desk_payload
from flexpower_dagster.defs.reporting.site import list_pages
from flexpower_dagster.lib.dbfile import open_reader

pytestmark = pytest.mark.site


@pytest.fixture(scope="module")
def sites(policy, permissions_warehouse, internal_snapshots, tmp_path_factory):
    """The four internal sites, built as the asset builds them (two at a time, each for its path /<audience>/)."""
    if not (REPORTS / "node_modules" / ".bin" / "evidence").exists():
        pytest.fail("Evidence is not installed: run `make setup`")
    data = tmp_path_factory.mktemp("audience_sites")
    (data / "snapshots").mkdir()
    for path in internal_snapshots.values():
        shutil.copy(path, data / "snapshots" / path.name)
    shutil.copytree(permissions_warehouse.data_dir / "invoices", data / "invoices")
    with open_reader(permissions_warehouse.warehouse) as conn:
        builds, failures = build_sites(REPORTS, data, policy, conn)
    assert failures == []
    return {b.audience: b for b in builds}


def _needles(warehouse: Path, sql: str) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {str(r[0]).strip() for r in conn.execute(sql).fetchall() if r[0] is not None}


def test_each_site_has_exactly_its_pages_and_their_data(sites):
    assert sorted(sites) == sorted(EXPECTED_PAGES)
    for name, site in sites.items():
        assert site.path.name == name and not any(p.name.startswith(".work-") for p in site.path.parent.iterdir())
        if EXPECTED_PAGES[name]:
            assert site.how == "evidence"
            assert sorted(list_pages(site.path)) == sorted({*EXPECTED_PAGES[name], "/"})
            data = site.path / "data" / "warehouse"
            assert sorted(p.name for p in data.iterdir() if p.is_dir()) == sorted(site.plan.queries)
        else:  # management: no page reads only its tables: one static page, no data
            assert site.how == "no page"
            assert [p.name for p in site.path.iterdir()] == ["index.html"]
    trading = sites["trading"].path
    for page in ("invoices", "alerts", "data-quality", "asset"):
        assert not (trading / page).exists()
    assert not (trading / "data" / "warehouse" / "invoices").exists()
    assert not (trading / "invoices").exists()  # no invoice PDF
    assert list((sites["finance"].path / "invoices").rglob("*.pdf"))  # finance is granted the documents
    assert sites["trading"].plan.left_out["/invoices/"].startswith("report.invoice_lines: needs invoice_lines")


def test_no_file_of_a_site_holds_anything_outside_its_audience(sites, policy, permissions_warehouse):
    wh = permissions_warehouse.warehouse
    emails = _needles(wh, "SELECT DISTINCT email FROM staging.crm_contracts")
    trade_ids = _needles(wh, "SELECT DISTINCT trade_id FROM staging.exchange_private_trades")
    invoice_ids = _needles(wh, "SELECT DISTINCT invoice_id FROM marts.invoices")
    assert emails and trade_ids and invoice_ids
    # the scanner's lists hold at least what an independent reading of the warehouse says
    with open_reader(wh) as conn:
        for name in ("trading", "finance", "management"):
            audience = policy.audiences[name]
            identifiers = forbidden_identifiers(conn, forbidden_kinds(audience))
            if name in ("trading", "management"):
                assert identifiers["customer e-mail"] >= emails
            if name in ("finance", "management"):
                assert identifiers["private trade id"] >= trade_ids
            if name == "trading":
                assert identifiers["invoice id"] >= invoice_ids
            hits = scan_site(sites[name].path, identifiers, withheld_values(conn, withheld_columns(audience, policy)))
            assert hits == [], f"{name}: {hits[:5]}"


def test_the_scanner_finds_them_in_the_data_engineering_site(sites, policy, permissions_warehouse):
    """Positive control: the full site holds the e-mails, invoice ids, metering points and contract prices that trading
    or management must not see, in its parquet data files and (trading's) prerendered query results."""
    site = sites["data-engineering"].path
    expected = {
        "trading": {"customer e-mail", "invoice id", "withheld column price_eur_per_mwh",
                    "withheld column payout_eur_est"},
        "management": {"customer e-mail", "metering point", "withheld column metering_point_id"},
    }
    with open_reader(permissions_warehouse.warehouse) as conn:
        for name, kinds in expected.items():
            audience = policy.audiences[name]
            hits = scan_site(site, forbidden_identifiers(conn, forbidden_kinds(audience)),
                             withheld_values(conn, withheld_columns(audience, policy)))
            assert kinds <= {h.kind for h in hits}, (name, sorted({h.kind for h in hits}))
            folders = {h.file.split("/")[0] for h in hits}
            assert "data" in folders
            if name == "trading":
                assert "api" in folders  # prerendered query results (.arrow), not only the parquet files


def test_a_planted_identifier_is_found_in_an_audience_site(sites, policy, permissions_warehouse, tmp_path):
    copy = shutil.copytree(sites["trading"].path, tmp_path / "trading")
    email = sorted(_needles(permissions_warehouse.warehouse, "SELECT DISTINCT email FROM staging.crm_contracts"))[0]
    js = sorted((copy / "_app").rglob("*.js"))[0]
    js.write_text(js.read_text() + f"\n// {email.upper()}\n")
    with open_reader(permissions_warehouse.warehouse) as conn:
        hits = scan_site(copy, forbidden_identifiers(conn, forbidden_kinds(policy.audiences["trading"])))
    assert [(h.file, h.kind) for h in hits] == [(js.relative_to(copy).as_posix(), "customer e-mail")]


def test_the_trading_site_carries_the_desk_file_of_its_snapshot(sites, permissions_warehouse):
    written = json.loads((sites["trading"].path / DESK_FILE).read_text())
    with open_reader(permissions_warehouse.warehouse) as conn:
        expected = _finite(desk_payload(conn, datetime(2025, 7, 1)))
    assert written["days"] == expected["days"] and written["days"]
    assert written["by_day"] == json.loads(json.dumps(expected["by_day"]))
    assert not (sites["finance"].path / DESK_FILE).exists()


def test_every_site_is_built_for_its_own_path(sites):
    """Nothing of a site is loaded from the server's root: `make serve`'s own check finds no problem."""
    from flexpower_dagster.defs.permissions import serve

    assert serve.site_problems(next(iter(sites.values())).path.parent, sorted(sites)) == []
    for name, site in sites.items():
        if site.how == "evidence":
            index = (site.path / "index.html").read_text()
            assert f'"/{name}/_app/' in index and '"/_app/' not in index


@pytest.mark.e2e
def test_chromium_opens_every_page_of_every_site_under_make_serve(sites, browser):
    """Each audience's user opens each page of its site through `make serve`'s nginx: 200, no request of the page
    fails (scripts, data files, query results, the desk file), no console error, and every link stays in the site."""
    from permissions_support import running_nginx

    data = next(iter(sites.values())).path.parent.parent
    with running_nginx(data, sorted(sites)) as (port, _layout, passwords):
        for name, site in sorted(sites.items()):
            context = browser.new_context(http_credentials={"username": name, "password": passwords[name]})
            for url in sorted({*site.plan.urls, "/"}):
                page = context.new_page()
                failed: list[tuple[int, str]] = []
                errors: list[str] = []
                page.on("response", lambda r, failed=failed: r.status >= 400 and failed.append((r.status, r.url)))
                page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
                response = page.goto(f"http://127.0.0.1:{port}/{name}{url}", wait_until="networkidle")
                page.wait_for_timeout(500)
                assert response.status == 200, (name, url)
                assert failed == [] and errors == [], (name, url, failed, errors)
                assert page.locator("h1").count(), (name, url)
                links = page.eval_on_selector_all("a[href^='/']", "els => els.map(e => e.getAttribute('href'))")
                outside = [link for link in links if link != f"/{name}" and not link.startswith(f"/{name}/")]
                assert outside == [], (name, url, outside[:5])
                page.close()
            context.close()
