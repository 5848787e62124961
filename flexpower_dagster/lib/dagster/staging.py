"""Staging asset factory: one partitioned asset per landing source (:class:`StagingSource`).

The asset for a delivery day — or a range of days in one run (single-run backfills) — brings the day's
staging rows up to date with the landing zone and writes them to the warehouse itself:

* sources with many small files (``SourceSpec.parse_columns``: forecasts, live samples) are loaded
  set-based and incrementally by :func:`flexpower_dagster.lib.landing.incremental.load_days` — only files
  new for a day are read, each once per run, whatever the number of days;
* the others run :func:`flexpower_dagster.lib.landing.load.load_day` per day (a handful of files each) and
  replace the day's partition atomically;

and every load records the files it rejected in ``staging.rejected_files`` (file, row, rule, reason, seen at).
Downstream SQL marts read the tables; pandas consumers load them through the warehouse IO manager, which
knows the table from the asset's declared column schema and ``partition_expr``.
"""


from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg
import duckdb
import pandas as pd

from flexpower_dagster.lib.dagster.lanes import WAREHOUSE_POOL
from flexpower_dagster.lib.dagster.limits import limited
from flexpower_dagster.lib.dagster.metadata import partition_days, quantities, table_metadata
from flexpower_dagster.lib.dagster.partitions import DAILY_TAGS, daily_partitions
from flexpower_dagster.lib.dagster.resources import LandingZone, Warehouse
from flexpower_dagster.lib.landing import incremental
from flexpower_dagster.lib.landing.cursor import content_digest, stat_digest
from flexpower_dagster.lib.landing.facts import Facts
from flexpower_dagster.lib.landing.files import scan
from flexpower_dagster.lib.landing.load import Validator, load_day
from flexpower_dagster.lib.landing.plan import feeds
from flexpower_dagster.lib.landing.source import REJECTED_FILES, DayLoad, Rejection, SourceSpec
from flexpower_dagster.lib.quality.suites import Suite
from flexpower_dagster.lib.tables import TableSpec
from flexpower_dagster.lib.warehouse import read_partitions, replace_partitions

#: ``summarize(conn, days)``: source-specific materialisation metadata, computed in the warehouse.
Summary = Callable[[duckdb.DuckDBPyConnection, list[date]], dict]


def from_frame(fn: Callable[[pd.DataFrame], dict], table: TableSpec) -> Summary:
    """A :data:`Summary` from a function of the loaded rows (for tables of a few thousand rows a day)."""

    def summarize(conn: duckdb.DuckDBPyConnection, days: list[date]) -> dict:
        frame = read_partitions(conn, table, days)
        return fn(frame) if frame is not None and len(frame) else {}

    summarize.__wrapped__ = fn  # type: ignore[attr-defined]  # code references point at the domain's function
    return summarize


@dataclass(frozen=True)
class StagingSource:
    """A landing source as a staging asset: its :class:`SourceSpec` plus what the asset needs besides
    the files.

    ``suite``: the data-quality suite of its staging table (the checks are built beside the asset);
    ``summarize(conn, days)``: source-specific materialisation metadata (e.g. MWh totals), computed over
    the days' stored rows (:func:`from_frame` adapts a function of a frame);
    ``validated_with``: other staging tables the validation reads for the same day (name -> table), and
    ``make_validator(day, inputs)`` the per-file validator built from their rows (e.g. metering points
    known to the day's contracts).
    """

    spec: SourceSpec
    suite: Suite | None = None
    summarize: Summary | None = None
    validated_with: Mapping[str, TableSpec] = field(default_factory=dict)
    make_validator: Callable[[date, Mapping[str, pd.DataFrame]], Validator] | None = None

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey(["staging", self.spec.name])


def record_rejections(conn: duckdb.DuckDBPyConnection, source: str, day: date, rejected: list[Rejection]) -> None:
    """Replace the rejected-file rows of (source, day) with this load's rejections."""
    seen_at = datetime.now(UTC).replace(tzinfo=None)
    rows = [(pd.Timestamp(day), source, r.file, r.row, r.rule, r.reason, seen_at) for r in rejected]
    frame = REJECTED_FILES.conform(pd.DataFrame(rows, columns=REJECTED_FILES.column_names))
    replace_partitions(conn, REJECTED_FILES, [day], frame, where={"source": source})


def _file_list(names: list[str], limit: int = 50) -> dg.MetadataValue:
    more = f"\n- … and {len(names) - limit} more" if len(names) > limit else ""
    return dg.MetadataValue.md("\n".join(f"- `{n}`" for n in names[:limit]) + more)


def load_metadata(
    files_used: list[str], rejected: list[Rejection], duplicates: list[tuple[str, str]], superseded: int, carried: int
) -> dict:
    md: dict = {
        "files_used": len(set(files_used)),
        "files_rejected": len({r.file for r in rejected}),
        "duplicate_files_ignored": len(set(duplicates)),
        "superseded_files": superseded,
        "carried_forward_rows": carried,
    }
    if files_used:
        md["files"] = _file_list(sorted(set(files_used)))
    if rejected:
        md["rejected"] = dg.MetadataValue.md(
            "| file | row | rule | reason |\n|---|---|---|---|\n"
            + "\n".join(f"| `{r.file}` | {r.row if r.row is not None else ''} | {r.rule} | {r.reason} |" for r in rejected[:100])
            + (f"\n\n… and {len(rejected) - 100} more (staging.rejected_files)" if len(rejected) > 100 else "")
        )
    if duplicates:
        md["duplicates"] = dg.MetadataValue.md("\n".join(f"- `{a}` = `{b}` (kept)" for a, b in sorted(set(duplicates))[:50]))
    return md


def _load_per_day(
    source: StagingSource, conn: duckdb.DuckDBPyConnection, landing: LandingZone, files, days: list[date]
) -> tuple[dict, list[Rejection]]:
    """``load_day`` for each day, each day's partition replaced atomically."""
    spec = source.spec
    used: list[str] = []
    rejected: list[Rejection] = []
    duplicates: list[tuple[str, str]] = []
    superseded = carried = 0
    for day in days:
        previous = read_partitions(conn, spec.table, [day])
        validator = None
        if source.make_validator is not None:
            inputs = {name: read_partitions(conn, table, [day]) for name, table in source.validated_with.items()}
            validator = source.make_validator(day, {k: v for k, v in inputs.items() if v is not None})
        load: DayLoad = load_day(spec, landing.path, day, previous=previous, validate=validator, files=files, facts=landing.facts())
        replace_partitions(conn, spec.table, [day], load.frame)
        record_rejections(conn, spec.name, day, load.rejected)
        used += load.files_used
        rejected += load.rejected
        duplicates += load.duplicates
        superseded += len(load.superseded)
        carried += load.carried_forward_rows
    return load_metadata(used, rejected, duplicates, superseded, carried), rejected


def _load_incremental(
    source: StagingSource, conn: duckdb.DuckDBPyConnection, landing: LandingZone, files, days: list[date]
) -> tuple[dict, list[Rejection]]:
    r = incremental.load_days(conn, source.spec, files, days, file_facts=landing.facts())
    md = load_metadata(r.files_used, r.rejected, r.duplicates, 0, r.carried_forward_rows)
    md.update({
        "files_read": r.files_read,
        "files_already_loaded": r.files_unchanged,
        "rows_appended": r.rows_inserted,
        "rows_superseded": r.rows_superseded,
        "days_rebuilt": len(r.rebuilt_days),
        "read_seconds": round(r.parse_seconds, 2),
        "sql_seconds": round(r.sql_seconds, 2),
    })
    return md, r.rejected


def remember_loaded(facts: Facts, spec: SourceSpec, files, days: list[date]) -> None:
    """Record, per day, the content digest of the feed just loaded (the files the sensors would request for
    the day): the one memory of what was loaded, whichever run loaded it (sensor, ``make run``, the UI), so a
    sensor never requests a feed that a run already holds (docs/automation.md)."""
    if facts.store is None:
        return
    day_feeds = feeds(spec, files, frozenset(days), [], facts)
    facts.record_loaded(spec.name, {d: (stat_digest(feed), content_digest(feed, facts))
                                    for d in days for feed in [day_feeds.get(d, [])]})


def build_staging_asset(source: StagingSource) -> dg.AssetsDefinition:
    """A daily-partitioned asset ``staging/<name>`` loading the source's files for the day (or a range of
    days in one run)."""
    spec = source.spec
    incremental_load = incremental.supports(spec)
    if incremental_load and source.make_validator is not None:
        raise ValueError(f"{spec.name}: a cross-table validator needs the per-day load (no parse_columns)")

    @dg.asset(
        key=source.key,
        partitions_def=daily_partitions,
        deps=[dg.AssetKey([t.schema, t.name]) for t in source.validated_with.values()],
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=f"staging_{spec.system}",
        tags=DAILY_TAGS,
        kinds={"duckdb", "python"},
        description=spec.description or spec.table.description,
        metadata=table_metadata(spec.table),
        automation_condition=None,
        pool=WAREHOUSE_POOL,
    )
    @limited("staging")
    def _staging(context: dg.AssetExecutionContext, landing: LandingZone, warehouse: Warehouse) -> dg.MaterializeResult:
        days = partition_days(context)
        inventory = scan(landing.path, [spec], settle_seconds=landing.settle_seconds)
        files = inventory.files[spec.name]
        with warehouse.connect(log=context.log.info) as conn:
            load = _load_incremental if incremental_load else _load_per_day
            md, rejected = load(source, conn, landing, files, days)
            for r in rejected:
                context.log.warning(f"rejected {r.file}: {r.reason}")
            md["dagster/partition_row_count" if len(days) == 1 else "rows"] = int(conn.execute(
                f"SELECT count(*) FROM {spec.table.qualified_name} WHERE delivery_day IN (SELECT unnest(?))", [days]
            ).fetchone()[0])
            if source.summarize is not None:
                md.update(source.summarize(conn, days))
        remember_loaded(landing.facts(), spec, files, days)  # after the load's transaction committed
        if inventory.waiting:  # complete files are loaded now; these follow when their writers are done
            md["files_still_being_written"] = len(inventory.waiting)
            context.log.info(f"{len(inventory.waiting)} file(s) still being written, e.g. {inventory.waiting[0]}")
        for name, reason in inventory.refused:
            context.log.warning(f"not read: {name}: {reason}")
        return dg.MaterializeResult(metadata=quantities(md))

    return _staging
