"""Audience sites without a build: which pages each internal audience gets (derived from the page SQL and DuckDB's
binder over its snapshot, cross-checked against an independent reading of the report SQL), the project cut down to
them, and the leak scanner on hand-made files (docs/permissions.md, "Audience sites")."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import duckdb
import pytest
from permissions_support import ALL_PAGES, EXPECTED_PAGES, REPORTS

import flexpower_dagster.defs.position.desk as desk
from flexpower_dagster.defs.permissions.leaks import (
    IDENTIFIERS,
    forbidden_identifiers,
    forbidden_kinds,
    scan_site,
    withheld_columns,
    withheld_values,
)
from flexpower_dagster.defs.permissions.sites import (
    DATA_FILES,
    data_file_blockers,
    page_reads,
    plan_site,
    prepare_project,
    source_tables,
)
from flexpower_dagster.defs.reporting.site import copy_project, snapshot_warehouse
from flexpower_dagster.defs.reporting.sql import EXTRA_TABLES, VIEWS, create_report_views
from flexpower_dagster.lib.dbfile import open_reader
from flexpower_dagster.lib.tables import TableSpec


def test_every_page_and_what_it_reads():
    reads = page_reads(REPORTS)
    assert sorted(r.url for r in reads.values()) == ALL_PAGES
    sources = source_tables(REPORTS)
    for page in reads.values():
        assert page.queries, page.page  # every page reads at least one source query
        assert page.report_tables == {t for q in page.queries for t in sources[q]}
    assert reads["desk.md"].data_files == {desk.DESK_FILE}
    assert all(not r.data_files for name, r in reads.items() if name != "desk.md")
    assert {"invoices", "invoice_lines"} <= reads["invoices.md"].report_tables
    assert "asset_mtd" in reads["index.md"].report_tables and "asset_mtd" in reads["asset.md"].report_tables


def test_a_page_reading_an_undefined_source_query_is_refused(tmp_path):
    project = copy_project(REPORTS, tmp_path / "reports")
    (project / "pages" / "extra.md").write_text("# x\n\n```sql x_q\nselect * from warehouse.nope\n```\n")
    with pytest.raises(ValueError, match=r"pages/extra.md: reads source queries \['nope'\]"):
        page_reads(project)


def test_desk_tables_list_every_table_the_desk_file_reads():
    """DESK_TABLES is the one list kept beside code: every TableSpec the desk module uses must be in it."""
    used = {v.qualified_name for v in vars(desk).values() if isinstance(v, TableSpec)}
    assert used == {t.qualified_name for t in desk.DESK_TABLES}
    assert DATA_FILES[desk.DESK_FILE] == desk.DESK_TABLES


_WAREHOUSE_REF = re.compile(r"\b(marts|staging)\.(\w+)")
_REPORT_REF = re.compile(r"\breport\.(\w+)")
#: What the snapshot step itself reads to write its extra tables (site.py).
_EXTRA_READS = {"invoice_line_text": {"marts.invoice_lines"}, "qh_time": set(), "days": set(), "tables": set(),
                "snapshot": set(), "kpi_targets": set()}  # kpi_targets: from kpi_targets.toml, no warehouse table


def _report_table_reads() -> dict[str, set[str]]:
    """Independent of the binder: report table -> warehouse tables, by reading the report SQL text transitively."""
    direct = {name: {f"{s}.{t}" for s, t in _WAREHOUSE_REF.findall(sql)} for name, sql in VIEWS.items()}
    refs = {name: set(_REPORT_REF.findall(sql)) for name, sql in VIEWS.items()}
    direct.update(_EXTRA_READS)
    out = {}
    for name in direct:
        seen, todo = set(direct[name]), list(refs.get(name, ()))
        while todo:
            ref = todo.pop()
            seen |= direct[ref]
            todo += list(refs.get(ref, ()))
        out[name] = seen
    assert set(EXTRA_TABLES) <= set(out)
    return out


@pytest.mark.parametrize("audience", list(EXPECTED_PAGES))
def test_an_audience_gets_exactly_the_pages_whose_tables_it_is_granted(policy, internal_snapshots, audience, tmp_path):
    grantee = policy.audiences[audience]
    result = snapshot_warehouse(internal_snapshots[audience], tmp_path / "site_report.duckdb", placeholders=False)
    reads = page_reads(REPORTS)
    plan = plan_site(audience, reads, result.unavailable, data_file_blockers(grantee, policy))
    assert plan.urls == EXPECTED_PAGES[audience]
    assert sorted([*plan.urls, *plan.left_out]) == ALL_PAGES
    # cross-check: a page is built iff every warehouse table its report tables read (by the SQL text) is granted
    table_reads = _report_table_reads()
    granted = set(policy.tables) if grantee.everything else set(grantee.grants)
    for page in reads.values():
        needs = {t for r in page.report_tables for t in table_reads[r]}
        needs |= {s.qualified_name for f in page.data_files for s in DATA_FILES[f]}
        assert (page.url in plan.urls) == (needs <= granted), (page.url, sorted(needs - granted))
        if page.url in plan.left_out:  # the reason names what is missing
            assert any(t.split(".")[1] in plan.left_out[page.url] for t in needs - granted), plan.left_out[page.url]
    # the report tables that could be computed hold no withheld value: those columns are NULL
    with duckdb.connect(str(tmp_path / "site_report.duckdb"), read_only=True) as conn:
        for table in ("asset_qh", "asset_day"):
            if table in result.unavailable:
                continue
            cols = {r[0] for r in conn.execute(f"DESCRIBE report.{table}").fetchall()}
            for col in sorted(cols & withheld_columns(grantee, policy).keys()):
                assert conn.execute(f"SELECT count({col}) FROM report.{table} WHERE NOT is_placeholder").fetchone()[0] == 0, col


def test_report_views_refuse_a_missing_table_that_was_not_withheld(tmp_path):
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA report; CREATE SCHEMA marts")
    with pytest.raises(duckdb.CatalogException, match="does not exist"):
        create_report_views(conn, absent={"alerts"})


def test_the_project_is_cut_to_the_plan(policy, tmp_path):
    project = copy_project(REPORTS, tmp_path / "reports")
    reads = page_reads(project)
    blocked = {"invoices": "needs invoices"}
    plan = plan_site("trading", reads, blocked, {})
    removed = prepare_project(project, policy.audiences["trading"], plan)
    pages = sorted(p.relative_to(project / "pages").as_posix() for p in (project / "pages").rglob("*.md"))
    assert pages == ["alerts.md", "asset.md", "data-quality.md", "desk.md", "imbalance.md", "index.md", "trading.md"]
    assert "pages/index.md" in removed and "sources/warehouse/invoices.sql" in removed
    index = (project / "pages" / "index.md").read_text()
    assert "[Trading](/trading/)" in index and "Invoices" not in index
    # its only query: when the data was taken (a page without a query makes Evidence ask for a missing file)
    assert re.findall(r"warehouse\.\w+", index) == ["warehouse.snapshot"] and "Data as of" in index
    kept = sorted(p.stem for p in (project / "sources" / "warehouse").glob("*.sql"))
    assert kept == sorted(plan.queries) and "invoices" not in kept and "invoice_lines" not in kept


def test_forbidden_identifier_kinds_follow_the_policy(policy):
    kinds = {a.name: set(forbidden_kinds(a)) for a in policy.internal_audiences()}
    assert kinds["data-engineering"] == set()
    assert kinds["trading"] == set(IDENTIFIERS) - {"metering point", "private trade id"}
    assert kinds["finance"] == {"private trade id"}
    assert kinds["management"] == set(IDENTIFIERS) - {"invoice id"}
    trading = withheld_columns(policy.audiences["trading"], policy)
    assert {"price_eur_per_mwh", "fee_eur", "fee_percent", "payout_eur_est", "margin_eur"} <= trading.keys()
    assert trading["price_eur_per_mwh"] == ["marts.contracts_in_force"]
    assert trading["source_file"] == ["marts.contracts_in_force"]  # the CRM files' names, not the trades' (granted)
    assert "margin_complete" not in trading  # booleans identify nothing
    assert "price_eur_per_mwh" not in withheld_columns(policy.audiences["management"], policy)
    assert withheld_columns(policy.audiences["data-engineering"], policy) == {}


def test_identifiers_are_read_from_the_warehouse(policy, permissions_warehouse):
    with open_reader(permissions_warehouse.warehouse) as conn:
        found = forbidden_identifiers(conn, forbidden_kinds(policy.audiences["trading"]))
        values = withheld_values(conn, withheld_columns(policy.audiences["trading"], policy))
        prices = {r[0] for r in conn.execute(
            "SELECT DISTINCT CAST(price_eur_per_mwh AS VARCHAR) FROM marts.contracts_in_force "
            "WHERE price_eur_per_mwh IS NOT NULL").fetchall()}
        emails = {r[0] for r in conn.execute("SELECT DISTINCT trim(email) FROM staging.crm_contracts").fetchall()}
        invoice_ids = {r[0] for r in conn.execute("SELECT invoice_id FROM marts.invoices").fetchall()}
    assert emails and found["customer e-mail"] == emails
    assert invoice_ids <= found["invoice id"]
    assert prices and values["price_eur_per_mwh"] == prices
    assert all(float(v) != 0 for v in values["margin_known_eur"])  # zeros identify nothing


def _parquet(path: Path, sql: str) -> None:
    with duckdb.connect() as conn:
        conn.execute(f"COPY ({sql}) TO '{path}' (FORMAT PARQUET)")


def test_the_scanner_finds_identifiers_in_every_kind_of_file(tmp_path):
    site = tmp_path / "site"
    (site / "data" / "t").mkdir(parents=True)
    (site / "_app").mkdir()
    (site / "index.html").write_text("<p>clean page</p>")
    (site / "a" / "b").mkdir(parents=True)
    (site / "a" / "b" / "index.html").write_text("<td>Maria.Schmidt@EnergyPartners.de</td>")
    (site / "_app" / "chunk.js.gz").write_bytes(gzip.compress(b'const x="2025-06-CON1_SOL-DE-001";'))
    _parquet(site / "data" / "t" / "trades.parquet", "SELECT '2042884497' AS trade_id, 1.5 AS mwh")
    _parquet(site / "data" / "t" / "num.parquet", "SELECT 2042884497::BIGINT AS n")
    # a withheld column holding a value, and one holding values only in the placeholder row
    _parquet(site / "data" / "t" / "terms.parquet",
             "SELECT * FROM (VALUES (75.0, false), (NULL, false)) v(price_eur_per_mwh, is_placeholder)")
    _parquet(site / "data" / "t" / "empty.parquet",
             "SELECT * FROM (VALUES (0.0, true)) v(price_eur_per_mwh, is_placeholder)")
    (site / "clean.json").write_text('{"trade": "20428844970"}')  # a longer digit run is another number
    identifiers = {"customer e-mail": {"maria.schmidt@energypartners.de"}, "invoice id": {"2025-06-CON1_SOL-DE-001"},
                   "private trade id": {"2042884497"}}
    hits = scan_site(site, identifiers, {"price_eur_per_mwh": {"75.0", "85.0"}})
    assert sorted((h.file, h.kind) for h in hits) == [
        ("_app/chunk.js.gz", "invoice id"),
        ("a/b/index.html", "customer e-mail"),
        ("data/t/num.parquet", "private trade id"),
        ("data/t/terms.parquet", "withheld column price_eur_per_mwh"),
        ("data/t/trades.parquet", "private trade id"),
    ]
    assert scan_site(site, {}, {}) == []
    assert scan_site(site, {}, {"price_eur_per_mwh": {"85.0"}}) == []  # a value of that name the warehouse lacks


def test_the_position_rewrites_the_desk_file_in_audience_sites_with_the_desk_page(tmp_path):
    from flexpower_dagster.defs.position.assets import refresh_desk_file
    from flexpower_dagster.lib.dagster.resources import ReportSite

    full, sites = tmp_path / "build", tmp_path / "sites"
    for site in (full, sites / "trading" / "desk", sites / "finance" / "invoices", sites / ".work-trading" / "desk"):
        site.mkdir(parents=True)
        (site / "index.html").write_text("<p>page</p>")
    report_site = ReportSite(build_dir=str(full), sites_dir=str(sites))
    assert report_site.audience_sites("desk") == [sites / "trading"]

    class Log:
        def info(self, _message):
            pass

    with duckdb.connect() as conn:
        md = refresh_desk_file(conn, [], report_site, Log())
    assert (full / desk.DESK_FILE).is_file() and (sites / "trading" / desk.DESK_FILE).is_file()
    assert not (sites / "finance" / desk.DESK_FILE).exists() and not (sites / ".work-trading" / desk.DESK_FILE).exists()
    assert md["desk_audience_files"].value == [str(sites / "trading" / desk.DESK_FILE)]


def test_the_sites_asset_runs_after_the_snapshots_and_the_full_site_in_the_report_job():
    import dagster as dg

    from flexpower_dagster.definitions import build_definitions
    from flexpower_dagster.lib.dagster.jobs import REPORT_ASSETS, REPORT_JOB

    defs = build_definitions()
    node = defs.resolve_asset_graph().get(dg.AssetKey("audience_sites"))
    # the warehouse snapshot: the leak scan's identifiers (the asset never opens the live warehouse)
    assert set(node.parent_keys) == {dg.AssetKey("audience_snapshots"), dg.AssetKey("report_site"),
                                     dg.AssetKey("warehouse_snapshot")}
    assert node.group_name == "reporting"
    assert "audience_sites" in REPORT_ASSETS
    assert dg.AssetKey("audience_sites") in defs.resolve_job_def(REPORT_JOB).asset_layer.executable_asset_keys


def test_each_site_is_built_for_its_path_under_make_serve(tmp_path):
    """Evidence's deployment.basePath of the project copy is /<audience>: every page, script and link of the build
    starts with it (`make serve` serves the site under /<audience>/); only a plain path is accepted."""
    import yaml

    from flexpower_dagster.defs.permissions.sites import SiteBuildError, set_base_path

    copy_project(REPORTS, tmp_path / "p")
    before = (tmp_path / "p" / "evidence.config.yaml").read_text()
    set_base_path(tmp_path / "p", "/data-engineering")
    after = (tmp_path / "p" / "evidence.config.yaml").read_text()
    assert yaml.safe_load(after)["deployment"]["basePath"] == "/data-engineering"
    assert yaml.safe_load(before)["deployment"]["basePath"] == ""  # the full site stays at the server's root
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert len(changed) == 1  # nothing else of the configuration moves
    assert (REPORTS / "evidence.config.yaml").read_text() == before  # the project itself is untouched
    for bad in ("trading", "/Trading", "/../x", "/a/b", "/a b", "/a\"\nx: 1", "/" + "a" * 64):
        with pytest.raises(SiteBuildError, match="base path"):
            set_base_path(tmp_path / "p", bad)
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "evidence.config.yaml").write_text("deployment: {}\n")
    with pytest.raises(SiteBuildError, match=r"no deployment\.basePath line"):
        set_base_path(tmp_path / "q", "/trading")


def test_stale_sites_and_dead_work_copies_go(policy, tmp_path):
    from flexpower_dagster.defs.permissions.sites import remove_stale_sites, site_path

    data = tmp_path / "data"
    site_path(data, "trading").mkdir(parents=True)
    (data / "sites" / "sales" / "x").mkdir(parents=True)  # an audience the policy no longer has
    (data / "sites" / ".work-trading").mkdir()  # a killed build's work copy
    assert remove_stale_sites(data, policy) == [".work-trading", "sales"]
    assert sorted(p.name for p in (data / "sites").iterdir()) == ["trading"]
