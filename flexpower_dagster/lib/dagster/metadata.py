"""Asset metadata shared by every warehouse table: declared column schema, table name, partition column."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pandas as pd

from flexpower_dagster.lib.markdown import md_table
from flexpower_dagster.lib.tables import TableSpec


def column_schema(table: TableSpec) -> dg.TableSchema:
    """The table's declared columns; key and non-nullable columns are declared NOT NULL."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.type,
                description=c.description or None,
                constraints=dg.TableColumnConstraints(nullable=c.nullable and c.name not in table.key),
            )
            for c in table.columns
        ]
    )


def table_metadata(table: TableSpec) -> dict:
    """Definition metadata of an asset stored as ``table``: columns, ``schema.table``, partition column."""
    md: dict = {"dagster/column_schema": column_schema(table), "dagster/table_name": table.qualified_name}
    if table.partition_column:
        md["partition_expr"] = table.partition_column
    return md


def partition_days(context: dg.AssetExecutionContext) -> list[date]:
    """The delivery days (or months) of the run: one, or a range in a single-run backfill."""
    if context.has_partition_key_range:
        return [date.fromisoformat(k) for k in context.partition_keys]
    return [date.fromisoformat(context.partition_key)]


def partition_day(context: dg.AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


def md(df: pd.DataFrame | None, **kwargs) -> dg.MetadataValue:
    """A frame as markdown metadata (see :func:`flexpower_dagster.lib.markdown.md_table`)."""
    return dg.MetadataValue.md(md_table(df, **kwargs))
