"""Audience sites: the report site built per internal audience from its scoped snapshot (pure: no Dagster).

Issue 25, step 2 (docs/permissions.md, "Audience sites"). An audience's site is built from
``<data dir>/snapshots/<audience>.duckdb`` (what the policy lets it see) into ``<data dir>/sites/<audience>/`` with
only the pages it may see: a page it may not see is not built (its ``.md`` is removed from the project copy before
Evidence runs, and so is every source query no built page reads, so no data file of it is written either).

Which page needs what is derived, not kept by hand:

* page -> source queries: the ``warehouse.<query>`` names in the page's ```` ```sql ```` blocks;
* source query -> report tables: the ``report.<table>`` names in ``sources/warehouse/<query>.sql``;
* report table -> warehouse tables: DuckDB's binder, when the report tables are computed from the audience's
  snapshot with ``placeholders=False`` (``reporting.site.snapshot_warehouse``): a report table reading a table the
  audience is not granted cannot be created and is *unavailable*, and so is every report table reading it;
* page -> data files read outside Evidence (the trading desk's ``live/desk_position.json``): the components the page
  uses that name the file; the file needs the tables its writer reads (``position.desk.DESK_TABLES``), every declared
  column granted.

A page is built when every report table it reads is available and every data file it reads is allowed. A withheld
column of a granted table is a NULL column in the audience's report tables (the value never enters the build).
"""

from __future__ import annotations

import html
import re
import shutil
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from flexpower_dagster.defs.invoicing.tables import INVOICE_DOCUMENTS
from flexpower_dagster.defs.permissions.leaks import (
    forbidden_identifiers,
    forbidden_kinds,
    scan_site,
    withheld_columns,
    withheld_values,
)
from flexpower_dagster.defs.permissions.policy import Audience, Policy
from flexpower_dagster.defs.permissions.snapshot import snapshot_path
from flexpower_dagster.defs.position.desk import DESK_FILE, DESK_TABLES, desk_payload, write_desk_file
from flexpower_dagster.defs.reporting.site import (
    SNAPSHOT_DIR,
    SNAPSHOT_FILE,
    check_build,
    collect_invoice_docs,
    copy_project,
    list_pages,
    publish_build,
    run_evidence,
    snapshot_warehouse,
)
from flexpower_dagster.lib.dbfile import open_reader
from flexpower_dagster.lib.tables import TableSpec
from flexpower_dagster.settings import DEFAULT_UI_URL

SITES_DIR = "sites"
#: Where an audience's project copy is built (inside the sites folder: the finished build is renamed into place).
WORK_PREFIX = ".work-"

#: Data files pages read outside Evidence's queries, and the tables whose columns they carry.
DATA_FILES: dict[str, tuple[TableSpec, ...]] = {DESK_FILE: DESK_TABLES}

_SQL_BLOCK = re.compile(r"^```sql[ \t]+(?P<query>\w+)[^\n]*\n(?P<sql>.*?)^```", re.M | re.S)
_SOURCE_REF = re.compile(r"\bwarehouse\.(?P<name>[A-Za-z_]\w*)")
_REPORT_REF = re.compile(r"\breport\.(?P<name>[A-Za-z_]\w*)")
_COMPONENT = re.compile(r"<(?P<name>[A-Z]\w*)")
_TITLE = re.compile(r"^title:\s*(?P<title>.+?)\s*$", re.M)
#: ``deployment.basePath`` in evidence.config.yaml (the project's file sets it to "" under ``deployment:``).
_BASE_PATH = re.compile(r"^(?P<indent>[ \t]+)basePath:.*$", re.M)
#: The source query (and report table) of when the snapshot was taken: the generated home page shows it.
HOME_QUERY = "snapshot"
#: A base path an audience's site is served under: ``/<audience>`` (the policy's internal audience names).
_SAFE_BASE = re.compile(r"/[a-z0-9][a-z0-9-]{0,62}")


def site_path(data_dir: str | Path, audience: str) -> Path:
    """``<data dir>/sites/<audience>/`` (internal audiences: their names are plain file names)."""
    return Path(data_dir) / SITES_DIR / audience


@dataclass(frozen=True)
class PageReads:
    """What one page of the Evidence project reads."""

    page: str  # path under pages/, e.g. "trading.md"
    url: str  # "/trading/"
    title: str
    queries: frozenset[str]  # source queries (warehouse.<query>)
    report_tables: frozenset[str]  # report tables those queries read
    data_files: frozenset[str]  # files read outside Evidence (DATA_FILES keys)


def _url(rel: str) -> str:
    stem = rel[: -len(".md")]
    if stem == "index":
        return "/"
    return "/" + (stem[: -len("/index")] if stem.endswith("/index") else stem) + "/"


def source_tables(project: str | Path) -> dict[str, frozenset[str]]:
    """Source query -> the report tables its SQL reads (``sources/warehouse/<query>.sql``)."""
    folder = Path(project) / "sources" / "warehouse"
    return {f.stem: frozenset(m.group("name") for m in _REPORT_REF.finditer(f.read_text())) for f in sorted(folder.glob("*.sql"))}


def page_reads(project: str | Path) -> dict[str, PageReads]:
    """Every page of the Evidence project at ``project`` and what it reads (queries, report tables, data files)."""
    project = Path(project)
    pages_dir = project / "pages"
    sources = source_tables(project)
    components = {f.stem: f.read_text() for f in sorted((project / "components").glob("*.svelte"))}
    out: dict[str, PageReads] = {}
    for md in sorted(pages_dir.rglob("*.md")):
        rel = md.relative_to(pages_dir).as_posix()
        text = md.read_text()
        queries = {m.group("name") for block in _SQL_BLOCK.finditer(text) for m in _SOURCE_REF.finditer(block.group("sql"))}
        unknown = sorted(q for q in queries if q not in sources)
        if unknown:
            raise ValueError(f"pages/{rel}: reads source queries {unknown} that sources/warehouse/ does not define")
        tables = {t for q in queries for t in sources[q]}
        used = {m.group("name") for m in _COMPONENT.finditer(text)}
        files = {f for f in DATA_FILES if f in text or any(f in components.get(c, "") for c in used)}
        title = _TITLE.search(text.split("---", 2)[1] if text.startswith("---") else "")
        out[rel] = PageReads(rel, _url(rel), title.group("title") if title else rel, frozenset(queries),
                             frozenset(tables), frozenset(files))
    return out


def data_file_blockers(audience: Audience, policy: Policy) -> dict[str, str]:
    """Data file -> why the audience may not have it (absent: allowed): every declared column of every table the
    file's writer reads must be granted."""
    if audience.everything:
        return {}
    out = {}
    for name, specs in DATA_FILES.items():
        lacking = []
        for spec in specs:
            grant = audience.grants.get(spec.qualified_name)
            if grant is None:
                lacking.append(spec.qualified_name)
            elif set(grant.columns) != {c.name for c in spec.columns}:
                lacking.append(f"{spec.qualified_name} (not every column)")
        if lacking:
            out[name] = "needs " + ", ".join(lacking)
    return out


@dataclass
class SitePlan:
    audience: str
    pages: list[PageReads] = field(default_factory=list)  # built
    left_out: dict[str, str] = field(default_factory=dict)  # page url -> why not built
    queries: set[str] = field(default_factory=set)  # source queries kept (read by a built page)

    @property
    def urls(self) -> list[str]:
        return sorted(p.url for p in self.pages)


def plan_site(audience: str, reads: Mapping[str, PageReads], unavailable: Mapping[str, str],
              blocked_files: Mapping[str, str]) -> SitePlan:
    """The pages of ``audience``'s site: those whose report tables are all available (``unavailable``: report table
    -> why not, from the audience's report snapshot) and whose data files are allowed (``blocked_files``)."""
    plan = SitePlan(audience)
    for page in reads.values():
        why = [f"report.{t}: {unavailable[t]}" for t in sorted(page.report_tables) if t in unavailable]
        why += [f"{f}: {blocked_files[f]}" for f in sorted(page.data_files) if f in blocked_files]
        if why:
            plan.left_out[page.url] = "; ".join(why)
        else:
            plan.pages.append(page)
            plan.queries |= page.queries
    return plan


def index_page(audience: Audience, plan: SitePlan) -> str:
    """The home page of a site whose audience may not see the portfolio overview: who it is for, its pages and, when
    the plan keeps the :data:`HOME_QUERY` source, when the data was taken (a page without any query would also make
    every visit ask Evidence for a query file that does not exist: a 404 in the browser's console)."""
    links = "\n".join(f"- [{p.title}]({p.url})" for p in sorted(plan.pages, key=lambda p: p.url))
    as_of = ""
    if HOME_QUERY in plan.queries:
        as_of = (
            f"```sql home_snapshot\nselect strftime(taken_at_utc, '%d.%m.%Y %H:%M') as taken_at "
            f"from warehouse.{HOME_QUERY} where not is_placeholder\n```\n\n"
            'Data as of <Value emptySet=pass emptyMessage="no data" data={home_snapshot} column=taken_at /> UTC.\n\n'
        )
    return (
        "---\ntitle: FlexPower reports\nsidebar_position: 1\n---\n\n"
        f"Reports for **{audience.name}**: {audience.description}\n\n"
        "This site holds only the data the permissions policy grants this audience (docs/permissions.md); the pages "
        "that need other data are not part of it.\n\n"
        f"{as_of}{links}\n"
    )


def set_base_path(project: str | Path, base: str) -> None:
    """Build the Evidence project copy at ``project`` for serving under ``base`` (``/<audience>``, as ``make serve``
    does): its ``deployment.basePath``, so every page, script, data file and link the build writes starts with
    ``base`` instead of the server's root."""
    if not _SAFE_BASE.fullmatch(base):
        raise SiteBuildError(f"base path {base!r} is not /<lower-case letters, digits and dashes>")
    config = Path(project) / "evidence.config.yaml"
    text, found = _BASE_PATH.subn(lambda m: f'{m["indent"]}basePath: "{base}"', config.read_text(), count=1)
    if found != 1:
        raise SiteBuildError(f"{config}: no deployment.basePath line to set to {base!r}")
    config.write_text(text)


def prepare_project(project: str | Path, audience: Audience, plan: SitePlan) -> list[str]:
    """Cut the project copy at ``project`` down to ``plan``: remove every page not built and every source query no
    built page reads; write a home page (:func:`index_page`) when the overview is not built. Returns the removed
    files (relative to the project)."""
    project = Path(project)
    keep = {p.page for p in plan.pages}
    removed = []
    for md in sorted((project / "pages").rglob("*.md")):
        rel = md.relative_to(project / "pages").as_posix()
        if rel not in keep:
            md.unlink()
            removed.append(f"pages/{rel}")
    for sql in sorted((project / "sources" / "warehouse").glob("*.sql")):
        if sql.stem not in plan.queries:
            sql.unlink()
            removed.append(f"sources/warehouse/{sql.name}")
    if "index.md" not in keep:
        (project / "pages" / "index.md").write_text(index_page(audience, plan))
    static_live = project / "static" / "live"  # never ship a data file the plan does not allow
    if static_live.exists():
        shutil.rmtree(static_live)
    return removed


#: The home page of an audience the policy grants no page: plain HTML, no Evidence build (it would ship no data).
EMPTY_SITE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>FlexPower reports</title><link rel="icon" href="data:,"></head>
<body><h1>FlexPower reports</h1>
<p>Reports for <b>{name}</b>: {description}</p>
<p>No page of the report site reads only data the permissions policy grants this audience, so this site has no
report page yet (docs/permissions.md, "Audience sites").</p>
</body></html>
"""


@dataclass
class SiteBuild:
    """One audience's site: where it is, which pages it has and why the others are left out, what it cost."""

    audience: str
    path: Path
    plan: SitePlan
    how: str  # "evidence" (built), "no page" (static page)
    seconds: float = 0.0
    snapshot_seconds: float = 0.0
    evidence_seconds: float = 0.0
    scan_seconds: float = 0.0
    max_rss_mb: float = 0.0
    files: int = 0
    bytes: int = 0
    removed: list[str] = field(default_factory=list)


class SiteBuildError(RuntimeError):
    """An audience's site failed (a query error, a page set other than planned, a leak): nothing was published."""


def _published(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def build_audience_site(
    reports: str | Path,
    data_dir: str | Path,
    policy: Policy,
    audience: Audience,
    warehouse: duckdb.DuckDBPyConnection,
    ui_url: str = DEFAULT_UI_URL,
    log: Callable[[str], None] = lambda _m: None,
) -> SiteBuild:
    """Build ``audience``'s site from its snapshot (``<data dir>/snapshots/<audience>.duckdb``, written before) into
    ``<data dir>/sites/<audience>/``, replacing the previous one only when complete and clean.

    * A copy of the Evidence project, built for the path it is served under (``/<audience>/``,
      :func:`set_base_path`); its report tables computed from the audience's snapshot without placeholders (the
      binder says which cannot be computed); the pages planned (:func:`plan_site`), the others and their source
      queries removed (:func:`prepare_project`); Evidence; the build check (query errors, exactly the planned pages);
      the desk file from the audience's snapshot when the desk page is built. An audience with no page gets a static
      page saying so (no Evidence build). data-engineering (granted everything) is built the same way: the full site
      ``reports/build`` is built for the server's root and cannot be served under ``/data-engineering/``.
    * The leak scan (:mod:`.leaks`) over every file of the build; any hit fails the build, naming file, kind and value.

    ``warehouse`` reads the master warehouse (the identifiers the audience must not find). Raises
    :class:`SiteBuildError`; the published site is then unchanged.
    """
    started = time.monotonic()
    reports, data_dir = Path(reports), Path(data_dir)
    name = audience.name
    target = site_path(data_dir, name)
    work = data_dir / SITES_DIR / f"{WORK_PREFIX}{name}"
    shutil.rmtree(work, ignore_errors=True)
    out = SiteBuild(name, target, SitePlan(name), "evidence")
    data_time: float | None = None  # when the data of the build's desk file was taken (None: no desk file)
    try:
        copy_project(reports, work)
        set_base_path(work, f"/{name}")  # served under /<audience>/ (`make serve`)
        docs = {}
        if _granted_table(audience, INVOICE_DOCUMENTS.qualified_name):  # the PDFs are that table's documents
            docs = collect_invoice_docs(data_dir / "invoices", work / "static" / "invoices")
        snapshot = snapshot_path(data_dir, name)
        if not snapshot.exists():
            raise SiteBuildError(f"{name}: no snapshot {snapshot} (the audience_snapshots asset writes it)")
        snap = snapshot_warehouse(snapshot, work / SNAPSHOT_DIR / SNAPSHOT_FILE, invoice_docs=docs, ui_url=ui_url,
                                  placeholders=False)
        out.snapshot_seconds = round(snap.seconds, 1)
        out.plan = plan_site(name, page_reads(work), snap.unavailable, data_file_blockers(audience, policy))
        if not out.plan.pages:
            out.how = "no page"
            (work / "build").mkdir(parents=True)
            (work / "build" / "index.html").write_text(
                EMPTY_SITE_HTML.format(name=html.escape(name), description=html.escape(audience.description)))
        else:
            if "/" not in out.plan.urls and HOME_QUERY not in snap.unavailable:
                out.plan.queries |= {HOME_QUERY}  # the generated home page says when the data was taken
            out.removed = prepare_project(work, audience, out.plan)
            log(f"{name}: building pages {', '.join(out.plan.urls)} (left out: {', '.join(out.plan.left_out)})")
            result = run_evidence(work)
            out.evidence_seconds, out.max_rss_mb = result.seconds, result.max_rss_mb
            (data_dir / SITES_DIR / f".{name}.build.log").write_text(result.log)
            errors = check_build(result, work / "build", work / "pages")
            if errors:
                listing = "; ".join(str(e) for e in errors[:10])
                raise SiteBuildError(f"{name}: the site build has {len(errors)} error(s): {listing}")
            _check_pages(name, work / "build", out.plan)
            if any(DESK_FILE in p.data_files for p in out.plan.pages):
                data_time = snapshot.stat().st_mtime
                with open_reader(snapshot) as conn:
                    write_desk_file(desk_payload(conn, datetime.now(UTC).replace(tzinfo=None)), work / "build")
        t0 = time.monotonic()
        identifiers = forbidden_identifiers(warehouse, forbidden_kinds(audience))
        hits = scan_site(work / "build", identifiers, withheld_values(warehouse, withheld_columns(audience, policy)))
        out.scan_seconds = round(time.monotonic() - t0, 1)
        if hits:
            listing = "; ".join(str(h) for h in hits[:10])
            raise SiteBuildError(f"{name}: {len(hits)} leak(s) in the built site, not published: {listing}")
        # the position step rewrites the desk file of the published site meanwhile (the other lane): newer is kept
        publish_build(work / "build", target, keep_newer={DESK_FILE: data_time} if data_time is not None else None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out.files, out.bytes = _published(target)
    out.seconds = round(time.monotonic() - started, 1)
    return out


def _granted_table(audience: Audience, table: str) -> bool:
    return audience.everything or table in audience.grants


def _check_pages(name: str, build: Path, plan: SitePlan) -> None:
    """The build holds exactly the planned pages (and a home page)."""
    built, expected = sorted(list_pages(build)), sorted({*plan.urls, "/"})
    if built != expected:
        raise SiteBuildError(f"{name}: the build has pages {built}, planned {expected}")


#: Audience sites built at the same time. A Vite build keeps about one core busy (its bundler is single-threaded)
#: and takes up to ~3 GB at 1,000 assets: two at once use both cores of the reference machine without swapping.
SITE_BUILD_WORKERS = 2


def build_sites(
    reports: str | Path,
    data_dir: str | Path,
    policy: Policy,
    warehouse: duckdb.DuckDBPyConnection,
    ui_url: str = DEFAULT_UI_URL,
    log: Callable[[str], None] = lambda _m: None,
    workers: int = SITE_BUILD_WORKERS,
) -> tuple[list[SiteBuild], list[str]]:
    """:func:`build_audience_site` for every internal audience of the policy, ``workers`` at a time (each in its own
    Evidence process; the master warehouse read through one cursor per build). One audience's failure never stops
    another's: returns the builds (policy order) and the failures (one sentence each). The sites of audiences the
    policy no longer has are removed."""

    def one(audience: Audience) -> SiteBuild | str:
        cursor = warehouse.cursor()
        try:
            return build_audience_site(reports, data_dir, policy, audience, cursor, ui_url, log)
        except SiteBuildError as error:
            return str(error)
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="site") as pool:
        results = list(pool.map(one, policy.internal_audiences()))
    remove_stale_sites(data_dir, policy)
    return [r for r in results if isinstance(r, SiteBuild)], [r for r in results if isinstance(r, str)]


def remove_stale_sites(data_dir: str | Path, policy: Policy) -> list[str]:
    """Remove the sites of audiences the policy no longer has, and the work copies of a build that was killed
    (never left readable); returns what was removed."""
    keep = {a.name for a in policy.internal_audiences()}
    folder = Path(data_dir) / SITES_DIR
    removed = []
    for stale in sorted(folder.iterdir()) if folder.is_dir() else []:
        if stale.is_dir() and stale.name not in keep:
            shutil.rmtree(stale)
            removed.append(stale.name)
    return removed
