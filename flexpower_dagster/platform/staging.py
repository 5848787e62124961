"""Staging asset factory: one partitioned asset per :class:`SourceSpec`.

The asset for delivery day D runs :func:`flexpower_dagster.core.landing.load_day` over the landing
zone, records the files it rejected in ``staging.rejected_files`` (file, row, rule, reason, seen at)
and returns the day's rows; the warehouse IO manager replaces the partition atomically.
"""


from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

import dagster as dg
import pandas as pd

from flexpower_dagster.core.landing import DayLoad, Rejection, SourceSpec, Validator, load_day
from flexpower_dagster.core.tables import Column, TableSpec
from flexpower_dagster.core.warehouse import table_exists
from flexpower_dagster.platform.partitions import DAILY_TAGS, daily_partitions
from flexpower_dagster.platform.resources import LandingZone, Warehouse

REJECTED_FILES = TableSpec(
    schema="staging",
    name="rejected_files",
    description="Landing files a staging asset could not load, per delivery day: which file, which row, which rule.",
    columns=(
        Column("delivery_day", "DATE", "Delivery day whose load rejected the file"),
        Column("source", "VARCHAR", "Staging table / source the file belongs to"),
        Column("file", "VARCHAR", "File path relative to the landing root"),
        Column("row", "BIGINT", "Row (1-based line, header included) or JSON element where known"),
        Column("rule", "VARCHAR", "Name of the rule that was broken"),
        Column("reason", "VARCHAR", "Readable explanation"),
        Column("seen_at", "TIMESTAMP", "When the load saw the file (UTC)"),
    ),
    key=("delivery_day", "source", "file"),
)


def column_schema(table: TableSpec) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=c.name, type=c.type, description=c.description or None) for c in table.columns]
    )


def table_metadata(table: TableSpec, partition_expr: str | None = "delivery_day") -> dict:
    """Asset metadata every warehouse table carries: its declared columns and partition column."""
    md: dict = {"dagster/column_schema": column_schema(table), "dagster/table_name": table.qualified_name}
    if partition_expr:
        md["partition_expr"] = partition_expr
    return md


def partition_day(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


def read_partition(warehouse: Warehouse, table: TableSpec, day: date) -> pd.DataFrame | None:
    """Rows currently stored for ``day`` (None when the table does not exist yet)."""
    with warehouse.connect() as conn:
        if not table_exists(conn, table.qualified_name):
            return None
        return conn.execute(f"SELECT * FROM {table.qualified_name} WHERE delivery_day = ?", [day]).fetchdf()


def record_rejections(warehouse: Warehouse, source: str, day: date, rejected: list[Rejection]) -> None:
    """Replace the rejected-file rows of (source, day) with this load's rejections."""
    seen_at = datetime.now(UTC).replace(tzinfo=None)
    frame = REJECTED_FILES.conform(
        pd.DataFrame(
            {
                "delivery_day": [pd.Timestamp(day)] * len(rejected),
                "source": [source] * len(rejected),
                "file": [r.file for r in rejected],
                "row": [r.row for r in rejected],
                "rule": [r.rule for r in rejected],
                "reason": [r.reason for r in rejected],
                "seen_at": [seen_at] * len(rejected),
            }
        )
    )
    with warehouse.connect() as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS staging")
        conn.execute(REJECTED_FILES.ddl())
        conn.execute("BEGIN TRANSACTION")
        conn.execute(f"DELETE FROM {REJECTED_FILES.qualified_name} WHERE source = ? AND delivery_day = ?", [source, day])
        if len(frame):
            conn.execute(f"INSERT INTO {REJECTED_FILES.qualified_name} BY NAME SELECT * FROM frame")
        conn.execute("COMMIT")


def load_metadata(load: DayLoad) -> dict:
    md: dict = {
        "files_used": len(load.files_used),
        "files_rejected": len(load.rejected),
        "duplicate_files_ignored": len(load.duplicates),
        "superseded_files": len(load.superseded),
        "carried_forward_rows": load.carried_forward_rows,
    }
    if load.files_used:
        md["files"] = dg.MetadataValue.md("\n".join(f"- `{n}`" for n in load.files_used[:50]) + (f"\n- … and {len(load.files_used) - 50} more" if len(load.files_used) > 50 else ""))
    if load.rejected:
        md["rejected"] = dg.MetadataValue.md(
            "| file | row | rule | reason |\n|---|---|---|---|\n"
            + "\n".join(f"| `{r.file}` | {r.row if r.row is not None else ''} | {r.rule} | {r.reason} |" for r in load.rejected)
        )
    if load.duplicates:
        md["duplicates"] = dg.MetadataValue.md("\n".join(f"- `{a}` = `{b}` (kept)" for a, b in load.duplicates))
    return md


def build_staging_asset(
    spec: SourceSpec,
    *,
    ins: Mapping[str, dg.AssetIn] | None = None,
    make_validator: Callable[[date, Mapping[str, pd.DataFrame]], Validator] | None = None,
    summarize: Callable[[pd.DataFrame], dict] | None = None,
) -> dg.AssetsDefinition:
    """A daily-partitioned asset ``staging/<spec.name>`` loading ``spec``'s files for the day.

    ``ins`` are other assets the validation needs (loaded for the same day) and
    ``make_validator(day, inputs)`` returns the per-file validator; ``summarize(frame)`` adds
    source-specific metadata (e.g. MWh totals).
    """

    @dg.asset(
        key=["staging", spec.name],
        partitions_def=daily_partitions,
        ins=dict(ins or {}),
        group_name=f"staging_{spec.system}",
        tags=DAILY_TAGS,
        kinds={"duckdb", "pandas"},
        description=spec.description or spec.table.description,
        metadata=table_metadata(spec.table),
        automation_condition=None,
    )
    def _staging(
        context: dg.AssetExecutionContext, landing: LandingZone, warehouse: Warehouse, **inputs: pd.DataFrame
    ) -> dg.Output[pd.DataFrame]:
        day = partition_day(context)
        previous = read_partition(warehouse, spec.table, day)
        validator = make_validator(day, inputs) if make_validator else None
        load = load_day(spec, landing.path, day, previous=previous, validate=validator)
        record_rejections(warehouse, spec.name, day, load.rejected)
        for r in load.rejected:
            context.log.warning(f"rejected {r.file}: {r.reason}")
        md = load_metadata(load)
        if summarize is not None and len(load.frame):
            md.update(summarize(load.frame))
        return dg.Output(load.frame, metadata=md)

    return _staging
