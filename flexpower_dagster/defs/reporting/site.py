"""The report site's pure helpers (no Dagster import): warehouse snapshot, Evidence build, build check.

The Evidence site in ``reports/`` never reads the live warehouse. :func:`snapshot_warehouse` opens the
warehouse read-only (retrying while a writer holds the lock), copies the tables the pages use into a
fresh DuckDB file, and closes it again within seconds. The copy

* holds every table the pages query, with at least the warehouse-contract columns: a missing optional
  table (invoices before the first monthly run, data-quality results before the checks land) becomes an
  empty placeholder with the same columns, a missing contract column becomes a NULL column, so every
  source query always compiles and the pages show their "nothing yet" state;
* adds Europe/Berlin local time next to UTC (``report.qh_time``): the DuckDB builds here have no ICU, so the
  conversion is done with pandas / zoneinfo, once per quarter-hour of every day in the warehouse;
* lists which tables were present (``report.tables``) and the days covered (``report.days``);
* holds the KPI targets the tiles show (``report.kpi_targets``, from ``kpi_targets.toml``: targets.py).

:func:`run_evidence` runs ``npm run sources`` and ``npm run build`` in ``reports/`` and
:func:`check_build` reads the output: Evidence exits 0 even when a page query fails, so the log and the
rendered pages are searched for query errors.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import resource
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.defs.exchange.tables import EXCHANGE_PRIVATE_TRADES
from flexpower_dagster.defs.forecast.tables import ASSET_FORECAST, PORTFOLIO_FORECAST
from flexpower_dagster.defs.imbalance.tables import IMBALANCE, PORTFOLIO_IMBALANCE
from flexpower_dagster.defs.infeed.tables import BEST_OF_INFEED, PORTFOLIO_BEST_OF_INFEED
from flexpower_dagster.defs.invoicing.documents import PRINTED_LINE_COLUMNS, printed_lines
from flexpower_dagster.defs.invoicing.tables import INVOICE_LINES, INVOICES
from flexpower_dagster.defs.ops.tables import ALERTS
from flexpower_dagster.defs.performance.tables import ASSET_PERFORMANCE
from flexpower_dagster.defs.reporting.sql import create_report_views
from flexpower_dagster.defs.reporting.targets import KPIS, Target, load_targets
from flexpower_dagster.defs.trading.tables import TRADING_DAILY, TRADING_QH
from flexpower_dagster.lib.dbfile import open_reader
from flexpower_dagster.lib.paths import site_lock
from flexpower_dagster.lib.quality.results import DATA_QUALITY_RESULTS
from flexpower_dagster.lib.sql import sql_string
from flexpower_dagster.lib.tables import TableSpec
from flexpower_dagster.lib.warehouse import LOCK_WAIT_SECONDS
from flexpower_dagster.settings import DEFAULT_UI_URL

#: Where the Evidence project reads its DuckDB source (``reports/sources/warehouse/connection.yaml``).
SOURCE_NAME = "warehouse"
SNAPSHOT_FILE = "flexpower_report.duckdb"
#: Snapshot location inside reports/ (outside sources/: Evidence watches and copies that folder while building).
SNAPSHOT_DIR = ".snapshot"
#: Where ``report_site`` builds (a fresh copy of the project inside SNAPSHOT_DIR): the published ``build/`` is
#: replaced only by a complete build (:func:`publish_build`).
WORK_DIR = "work"
LOCAL_TZ = "Europe/Berlin"

#: Tables the pages read, with their declared columns (the TableSpecs, written once in their domains).
#: Optional tables may be absent (invoices before the first monthly run, data-quality results before the
#: checks land); required ones too (the site then shows empty pages) but their absence is reported.
REPORT_SPECS: tuple[TableSpec, ...] = (
    CONTRACTS_IN_FORCE,
    ASSET_FORECAST,
    PORTFOLIO_FORECAST,
    BEST_OF_INFEED,
    PORTFOLIO_BEST_OF_INFEED,
    TRADING_QH,
    TRADING_DAILY,
    IMBALANCE,
    PORTFOLIO_IMBALANCE,
    ASSET_PERFORMANCE,
    INVOICES,
    INVOICE_LINES,
    DATA_QUALITY_RESULTS,
    EXCHANGE_PRIVATE_TRADES,
    ALERTS,
)
REPORT_TABLES: dict[str, dict[str, str]] = {t.qualified_name: {c.name: c.type for c in t.columns} for t in REPORT_SPECS}

#: Tables whose absence is expected for a while (monthly runs, checks, a warehouse built before the
#: performance mart existed): pages say "not yet".
OPTIONAL_TABLES = (
    INVOICES.qualified_name,
    INVOICE_LINES.qualified_name,
    DATA_QUALITY_RESULTS.qualified_name,
    ASSET_PERFORMANCE.qualified_name,
    ALERTS.qualified_name,
)


@dataclass
class SnapshotResult:
    path: Path
    present: list[str]
    missing: list[str]
    missing_columns: dict[str, list[str]]
    rows: dict[str, int]
    days: list[str]
    views: dict[str, int]
    seconds: float
    #: report tables that could not be computed (``placeholders=False``: a table they read is not in the source),
    #: with the missing table; the pages reading them cannot be built from this source
    unavailable: dict[str, str] = field(default_factory=dict)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _attach_invoice_docs(out: duckdb.DuckDBPyConnection, docs: dict[str, str]) -> None:
    """``marts.invoices.pdf_url``: the PDF of the invoice's month whose name holds the invoice id (else the
    contract id)."""
    if "pdf_url" not in [r[0] for r in out.execute("DESCRIBE marts.invoices").fetchall()]:
        out.execute('ALTER TABLE marts.invoices ADD COLUMN pdf_url VARCHAR')
    if not docs:
        return
    keys = list(docs)
    out.register(
        "docs",
        pd.DataFrame(
            {"month": [k.split("/", 1)[0] for k in keys], "stem": [k.split("/", 1)[1] for k in keys],
             "url": [docs[k] for k in keys]}
        ),
    )
    out.execute(
        """
        UPDATE marts.invoices AS i SET pdf_url = (
            SELECT d.url FROM docs d
            WHERE starts_with(d.month, strftime(i.invoice_month, '%Y-%m'))
              AND (contains(d.stem, i.invoice_id) OR contains(d.stem, i.contract_id))
            ORDER BY contains(d.stem, i.invoice_id) DESC, d.url LIMIT 1)
        WHERE i.pdf_url IS NULL
        """
    )
    out.unregister("docs")


def _printed_invoice_lines(out: duckdb.DuckDBPyConnection) -> None:
    """``report.invoice_line_text``: every invoice line as its document prints it (quantity with unit, unit price,
    net), by the formatter the PDF uses (``defs/invoicing/documents.printed_lines``), so the site's lines read as
    the PDF's."""
    cols = ", ".join(f"{c} VARCHAR" for c in PRINTED_LINE_COLUMNS)
    out.execute(f"CREATE TABLE report.invoice_line_text ({cols})")
    lines = out.execute("SELECT * FROM marts.invoice_lines").fetchdf()
    if len(lines):
        out.register("printed", printed_lines(lines))
        out.execute("INSERT INTO report.invoice_line_text SELECT * FROM printed")
        out.unregister("printed")


def _kpi_targets(out: duckdb.DuckDBPyConnection, targets: dict[str, Target]) -> None:
    """``report.kpi_targets``: one row per KPI with a target (none: no row, the pages then say nothing)."""
    out.execute(
        "CREATE TABLE report.kpi_targets (kpi VARCHAR, label VARCHAR, bound VARCHAR, target DOUBLE, "
        "target_text VARCHAR, source VARCHAR)"
    )
    for t in sorted(targets.values(), key=lambda t: t.kpi):
        out.execute(
            "INSERT INTO report.kpi_targets VALUES (?, ?, ?, ?, ?, ?)",
            [t.kpi, KPIS[t.kpi].label, t.bound, t.value, t.text, t.source],
        )


def _berlin_times(days: list) -> pd.DataFrame:
    """One row per UTC quarter-hour of ``days``: the instant, its Berlin wall-clock time and offset."""
    if not days:
        starts = pd.DatetimeIndex([], dtype="datetime64[ns]")
    else:
        first, last = pd.Timestamp(min(days)), pd.Timestamp(max(days)) + pd.Timedelta(days=1)
        starts = pd.date_range(first, last, freq="15min", inclusive="left")
    local = starts.tz_localize("UTC").tz_convert(LOCAL_TZ)
    return pd.DataFrame(
        {
            "delivery_start": starts.astype("datetime64[ns]"),
            "delivery_start_local": local.tz_localize(None).astype("datetime64[ns]"),
            "utc_offset_hours": (local.tz_localize(None) - starts).total_seconds() / 3600.0,
            "local_day": local.tz_localize(None).normalize().astype("datetime64[ns]"),
        }
    )


def snapshot_warehouse(
    warehouse: str | Path,
    target: str | Path,
    invoice_docs: dict[str, str] | None = None,
    wait_seconds: float = LOCK_WAIT_SECONDS,
    ui_url: str = DEFAULT_UI_URL,
    targets: dict[str, Target] | None = None,
    placeholders: bool = True,
) -> SnapshotResult:
    """Copy the report tables of ``warehouse`` into a new DuckDB file ``target`` (atomically replaced).

    The tables are copied inside DuckDB (the snapshot file is attached to the read-only warehouse connection and
    filled with ``CREATE TABLE ... AS SELECT``), never through pandas: the copy streams, so its memory does not
    grow with the number of assets or days. ``invoice_docs`` maps invoice ids to a site-relative URL of their PDF
    (``pdf_url`` column). ``ui_url`` is the Dagster UI as people reach it: the alerts link their run or asset there.
    ``targets``: the KPI targets (default: ``kpi_targets.toml``, read before the warehouse is opened, so a bad
    file fails the build naming its entry).

    ``placeholders=False`` (an audience's site, built from its scoped snapshot: docs/permissions.md): a page table
    the source lacks is *not* created as an empty placeholder, so every report table reading it cannot be computed
    and is listed in ``unavailable`` (a withheld column of a table that is there is still a NULL column).
    """
    targets = load_targets() if targets is None else targets
    started = time.monotonic()
    warehouse, target = Path(warehouse), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    for p in (tmp, tmp.with_name(tmp.name + ".wal")):
        p.unlink(missing_ok=True)

    present, missing_cols, rows = [], {}, {}
    if warehouse.exists():
        src = open_reader(warehouse, wait_seconds)  # read-only, or this process's read-write instance
        try:
            existing = {
                f"{s}.{t}"
                for s, t in src.execute(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_catalog = current_database() AND table_schema IN ('marts', 'staging')"
                ).fetchall()
            }
            src.execute(f"ATTACH {sql_string(tmp)} AS report_snapshot (READ_WRITE)")  # ATTACH takes no parameter
            try:
                for schema in ("marts", "staging", "report"):
                    src.execute(f"CREATE SCHEMA IF NOT EXISTS report_snapshot.{schema}")
                for qualified, columns in REPORT_TABLES.items():
                    if qualified not in existing:
                        continue
                    schema, name = qualified.split(".")
                    have = {
                        r[0]
                        for r in src.execute(
                            "SELECT column_name FROM information_schema.columns "
                            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
                            [schema, name],
                        ).fetchall()
                    }
                    select, absent = [], []
                    for col, typ in columns.items():
                        if col not in have:
                            absent.append(col)
                            select.append(f"CAST(NULL AS {typ}) AS {_quote(col)}")
                        else:
                            select.append(f"TRY_CAST({_quote(col)} AS {typ}) AS {_quote(col)}")
                    extras = sorted(have - set(columns))
                    select += [_quote(c) for c in extras]
                    src.execute(
                        f"CREATE TABLE report_snapshot.{schema}.{_quote(name)} AS "
                        f"SELECT {', '.join(select)} FROM {schema}.{_quote(name)}"
                    )
                    rows[qualified] = src.execute(
                        f"SELECT count(*) FROM report_snapshot.{schema}.{_quote(name)}"
                    ).fetchone()[0]
                    present.append(qualified)
                    if absent:
                        missing_cols[qualified] = absent
            finally:
                src.execute("DETACH report_snapshot")
        finally:
            src.close()
    missing = [t for t in REPORT_TABLES if t not in present]

    out = duckdb.connect(str(tmp))
    try:
        for schema in ("marts", "staging", "report"):
            out.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for qualified, columns in REPORT_TABLES.items():
            if qualified not in present:
                rows[qualified] = 0
                if placeholders:
                    cols = ", ".join(f"{_quote(c)} {t}" for c, t in columns.items())
                    out.execute(f"CREATE TABLE {qualified} ({cols})")
        written = set(present) if not placeholders else set(REPORT_TABLES)
        if INVOICES.qualified_name in written:
            _attach_invoice_docs(out, invoice_docs or {})
        skipped_extra = set()
        if INVOICE_LINES.qualified_name in written:
            _printed_invoice_lines(out)
        else:
            skipped_extra.add("invoice_line_text")
        _kpi_targets(out, targets)
        day_sources = [t for t in ("marts.portfolio_best_of_infeed", "marts.portfolio_forecast", "marts.trading_daily")
                       if t in written]
        days = [
            r[0]
            for r in out.execute(
                "SELECT DISTINCT delivery_day FROM ("
                + " UNION ALL ".join(f"SELECT delivery_day FROM {t}" for t in day_sources)
                + ") WHERE delivery_day IS NOT NULL ORDER BY 1"
            ).fetchall()
        ] if day_sources else []
        out.register("qh", _berlin_times(days))
        out.execute(
            "CREATE TABLE report.qh_time AS SELECT CAST(delivery_start AS TIMESTAMP) AS delivery_start, "
            "CAST(delivery_start_local AS TIMESTAMP) AS delivery_start_local, utc_offset_hours, "
            "CAST(local_day AS DATE) AS local_day FROM qh"
        )
        out.unregister("qh")
        out.register("d", pd.DataFrame({"delivery_day": pd.to_datetime(pd.Series(days, dtype="object"))}))
        out.execute("CREATE TABLE report.days AS SELECT CAST(delivery_day AS DATE) AS delivery_day FROM d")
        out.unregister("d")
        out.register(
            "t",
            pd.DataFrame(
                {
                    "table_name": list(REPORT_TABLES),
                    "present": [t in present for t in REPORT_TABLES],
                    "optional": [t in OPTIONAL_TABLES for t in REPORT_TABLES],
                    "n_rows": [rows[t] for t in REPORT_TABLES],
                }
            ),
        )
        out.execute("CREATE TABLE report.tables AS SELECT * FROM t")
        out.unregister("t")
        out.execute(
            "CREATE TABLE report.snapshot AS SELECT CAST(? AS TIMESTAMP) AS taken_at_utc, ? AS warehouse, "
            "CAST(? AS VARCHAR) AS ui_url",
            [pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime(), str(warehouse), ui_url.rstrip("/")],
        )
        # after report.days/tables/snapshot (placeholder rows)
        absent = None if placeholders else {t.split(".", 1)[1] for t in REPORT_TABLES if t not in written}
        views, unavailable = create_report_views(out, absent=absent, skipped=skipped_extra)
        out.execute("CHECKPOINT")
    finally:
        out.close()
    os.replace(tmp, target)
    return SnapshotResult(
        path=target,
        present=present,
        missing=missing,
        missing_columns=missing_cols,
        rows=rows,
        days=[d.isoformat() for d in days],
        views=views,
        seconds=time.monotonic() - started,
        unavailable=unavailable,
    )


# --------------------------------------------------------------------------------------------- build


def copy_project(src: str | Path, dst: str | Path) -> Path:
    """A copy of the Evidence project ``src`` at ``dst`` sharing its ``node_modules`` (symlink), for building
    a site somewhere else than ``reports/build`` (tests, previews) without a second ``npm ci``."""
    src, dst = Path(src), Path(dst)
    skip = {"node_modules", ".evidence", "build", SNAPSHOT_DIR, ".svelte-kit"}
    dst.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        if item.name in skip:
            continue
        if item.is_dir():
            shutil.copytree(item, dst / item.name, dirs_exist_ok=True)
        else:
            shutil.copy2(item, dst / item.name)
    link = dst / "node_modules"
    if not link.exists():
        link.symlink_to((src / "node_modules").resolve(), target_is_directory=True)
    return dst


def publish_build(built: str | Path, published: str | Path, keep_newer: Mapping[str, float] | None = None) -> None:
    """Replace the published site ``published`` by the complete build ``built`` (same file system).

    The previous site is renamed away and the new tree renamed into place, then the old one deleted: a reader
    gets the old site or the new one, never a half-copied mixture (the gap between the two renames is a
    directory entry, not a copy), and no file of an earlier build survives. A failed build is never published:
    callers publish only after :func:`check_build` found no error.

    ``keep_newer``: site-relative file -> the time of the data the build's copy was made from (its snapshot's
    mtime). A published copy written after that time (the desk's data file, which the position step rewrites in
    the published site while this build ran in the other lane) is newer: it replaces the build's before the swap.
    Both happen under :func:`~flexpower_dagster.lib.paths.site_lock`, which the position step takes to write, so no
    write lands in the tree being retired."""
    built, published = Path(built), Path(published)
    published.parent.mkdir(parents=True, exist_ok=True)
    retired = published.with_name(f".{published.name}.retired-{os.getpid()}")
    shutil.rmtree(retired, ignore_errors=True)
    with site_lock(published):
        for rel, data_time in (keep_newer or {}).items():
            current = published / rel
            if current.is_file() and current.stat().st_mtime > data_time:
                target = built / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                shutil.copy2(current, tmp)
                os.replace(tmp, target)
        if published.exists():
            os.rename(published, retired)
        os.rename(built, published)
    shutil.rmtree(retired, ignore_errors=True)


@contextlib.contextmanager
def build_lock(reports_dir: str | Path):
    """One Evidence build per project directory at a time (snapshot + sources + build share its files)."""
    path = Path(reports_dir) / SNAPSHOT_DIR / ".build.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def collect_invoice_docs(invoices_dir: str | Path, static_dir: str | Path) -> dict[str, str]:
    """Copy the invoice PDFs (``<invoices_dir>/<month>/*.pdf``) into the site's static folder.

    Returns ``{"<month>/<file stem>": site URL}``; :func:`snapshot_warehouse` matches them to invoices by
    month and invoice id (or contract id) in the file name.
    """
    invoices_dir, static_dir = Path(invoices_dir), Path(static_dir)
    shutil.rmtree(static_dir, ignore_errors=True)
    docs: dict[str, str] = {}
    if not invoices_dir.is_dir():
        return docs
    for pdf in sorted(invoices_dir.glob("*/*.pdf")):
        month = pdf.parent.name
        (static_dir / month).mkdir(parents=True, exist_ok=True)
        shutil.copy2(pdf, static_dir / month / pdf.name)
        docs[f"{month}/{pdf.stem}"] = f"/{static_dir.name}/{month}/{pdf.name}"
    return docs


@dataclass
class BuildError:
    page: str
    error: str

    def __str__(self) -> str:
        return f"{self.page}: {self.error}"


@dataclass
class BuildResult:
    returncode: int
    seconds: float
    log: str
    max_rss_mb: float
    steps: dict[str, float] = field(default_factory=dict)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def evidence_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "EVIDENCE_TELEMETRY": "false",  # ignored by 40.1.8; evidence.settings.json is what counts
            "DO_NOT_TRACK": "1",
            "CI": "true",
            "NO_COLOR": "1",
            "FORCE_COLOR": "0",
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
        }
    )
    env.update(extra or {})
    return env


#: Parquet row groups of the per-QH source tables the browser reads one asset-day at a time. Evidence writes its
#: parquet files with DuckDB's default of 122,880 rows per group, and the browser's DuckDB reads a whole row group
#: (of the columns a query needs) to find one asset-day: 256 asset-days (96 QHs each) per group keep that read to
#: about 1/4 of a day of 1,000 assets, while the file footer (read on every page load) stays small. The rows are
#: already ordered by day and asset (report tables are written in that order), so the min/max statistics of
#: ``day_key`` and ``asset_id`` let the reader skip every other group.
ROW_GROUP_ROWS: dict[str, int] = {"asset_qh": 96 * 256}


def rewrite_row_groups(reports_dir: str | Path, row_groups: dict[str, int] | None = None) -> list[str]:
    """Rewrite the source parquet files named in ``row_groups`` (after ``npm run sources``, before ``npm run
    build``) with that many rows per row group, same rows in the same order. Returns what was done (for the log)."""
    row_groups = ROW_GROUP_ROWS if row_groups is None else row_groups
    data = Path(reports_dir) / ".evidence" / "template" / "static" / "data"
    notes = []
    for table, rows in row_groups.items():
        files = sorted(data.glob(f"{SOURCE_NAME}/{table}/{table}.parquet"))
        if not files:
            notes.append(f"row groups: no {table}.parquet under {data} (Evidence layout changed?): left as written")
            continue
        for file in files:
            tmp = file.with_name(file.name + ".rg.tmp")
            with duckdb.connect() as conn:
                conn.execute(
                    f"COPY (SELECT * FROM read_parquet($src)) TO $dst (FORMAT PARQUET, CODEC 'ZSTD', ROW_GROUP_SIZE {int(rows)})",
                    {"src": str(file), "dst": str(tmp)},
                )
                groups = conn.execute("SELECT num_row_groups FROM parquet_file_metadata(?)", [str(tmp)]).fetchone()[0]
            os.replace(tmp, file)
            notes.append(f"row groups: {file.relative_to(data)} rewritten, {groups} group(s) of <= {rows} rows")
    return notes


def run_evidence(reports_dir: str | Path, timeout: int = 1200, scripts: tuple[str, ...] = ("sources", "build")) -> BuildResult:
    """Run ``npm run sources`` then ``npm run build`` in ``reports_dir``; ``build/`` is emptied first
    (Evidence copies over the previous build and would keep pages that no longer exist). Between the two, the
    per-QH source files are rewritten in small row groups (:func:`rewrite_row_groups`)."""
    reports_dir = Path(reports_dir)
    shutil.rmtree(reports_dir / "build", ignore_errors=True)
    # A source run that died leaves an empty query-cache hashes.json ("Unexpected end of JSON input" on
    # every later run); the snapshot is new anyway, so always evaluate every source query.
    shutil.rmtree(reports_dir / ".evidence" / "meta", ignore_errors=True)
    env = evidence_env()
    log, steps, rc = [], {}, 0
    started = time.monotonic()
    for script in scripts:
        t0 = time.monotonic()
        proc = subprocess.run(
            ["npm", "run", "--silent", script],
            cwd=reports_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        steps[script] = round(time.monotonic() - t0, 1)
        log.append(f"$ npm run {script}\n{proc.stdout}")
        rc = proc.returncode
        if rc != 0:
            break
        if script == "sources":
            log.append("\n".join(rewrite_row_groups(reports_dir)))
    max_rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return BuildResult(
        returncode=rc,
        seconds=round(time.monotonic() - started, 1),
        log=_ANSI.sub("", "\n".join(log)),
        max_rss_mb=round(max_rss_kb / 1024, 1),
        steps=steps,
    )


# What Evidence prints when a page query fails while prerendering (and exits 0 all the same):
#   broken_query | Error in Query! Binder Error: Referenced column "x" not found in FROM clause!
_LOG_QUERY_ERROR = re.compile(r"^\s*(?P<query>[A-Za-z_][\w]*) \| Error in Query! (?P<error>.*)$")
_SQL_FENCE = re.compile(r"^```sql\s+(?P<query>[A-Za-z_][\w]*)", re.M)


def query_pages(pages_dir: str | Path) -> dict[str, list[str]]:
    """Query name -> site pages defining it (``pages/trading.md`` -> ``/trading/``)."""
    pages_dir = Path(pages_dir)
    out: dict[str, list[str]] = {}
    for md in sorted(pages_dir.rglob("*.md")):
        rel = md.relative_to(pages_dir).with_suffix("").as_posix()
        url = "/" if rel == "index" else "/" + (rel[: -len("/index")] if rel.endswith("/index") else rel) + "/"
        for match in _SQL_FENCE.finditer(md.read_text(errors="replace")):
            out.setdefault(match.group("query"), []).append(url)
    return out


def list_pages(build_dir: str | Path) -> list[str]:
    """Site-relative URLs of the prerendered pages (``index.html`` files) in ``build_dir``."""
    build_dir = Path(build_dir)
    pages = []
    for html in sorted(build_dir.rglob("index.html")):
        rel = html.parent.relative_to(build_dir).as_posix()
        if rel.startswith(("_app", "api", "settings", "explore")) or "/_app/" in rel:
            continue
        pages.append("/" if rel == "." else f"/{rel}/")
    return pages


_TAG = re.compile(r"<[^>]+>")
_QUERY_ERROR_WORDS = re.compile(
    r"(Parser Error|Binder Error|Catalog Error|Conversion Error|Invalid Input Error|Query failed|"
    r"Error in query|Table with name [^\s]+ does not exist|Referenced column [^\s]+ not found)"
)


def check_build(result: BuildResult | None, build_dir: str | Path, pages_dir: str | Path | None = None) -> list[BuildError]:
    """Every query error in the Evidence output: the build log and each prerendered page.

    Evidence's build exits 0 when a page query fails (even ``build:strict``): the error is printed as
    ``<query> | Error in Query! <error>`` and rendered into the page as an error box. Log errors are named
    by page through the query names defined in ``pages_dir`` (default: ``build_dir/../pages``); the pages'
    HTML is searched too, for errors the log does not name.
    """
    errors: list[BuildError] = []
    build_dir = Path(build_dir)
    pages_dir = Path(pages_dir) if pages_dir else build_dir.parent / "pages"
    if result is not None and result.returncode != 0:
        tail = "\n".join(result.log.strip().splitlines()[-15:])
        errors.append(BuildError("(build)", f"npm exited with {result.returncode}: {tail}"))
    if result is not None:
        where = query_pages(pages_dir) if pages_dir.is_dir() else {}
        for line in result.log.splitlines():
            match = _LOG_QUERY_ERROR.match(line)
            if match:
                query = match.group("query")
                for page in where.get(query, ["(unknown page)"]):
                    errors.append(BuildError(page, f"query {query}: {match.group('error').strip()}"))
    if not build_dir.is_dir() or not (build_dir / "index.html").exists():
        errors.append(BuildError("(build)", f"no site in {build_dir}"))
        return _dedupe(errors)
    named = {e.page for e in errors}
    for html in sorted(build_dir.rglob("index.html")):
        if "_app" in html.parts:
            continue
        rel = html.parent.relative_to(build_dir).as_posix()
        page = "/" if rel == "." else f"/{rel}/"
        if page in named:
            continue
        text = html.read_text(errors="replace")
        match = _QUERY_ERROR_WORDS.search(text)
        if match:
            snippet = _TAG.sub(" ", text[match.start() : match.end() + 300])
            errors.append(BuildError(page, re.sub(r"\s+", " ", snippet).strip()[:400]))
    return _dedupe(errors)


def _dedupe(errors: list[BuildError]) -> list[BuildError]:
    seen, out = set(), []
    for e in errors:
        key = (e.page, e.error)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out
