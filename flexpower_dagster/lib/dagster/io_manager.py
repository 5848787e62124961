"""The warehouse IO manager: DuckDB, declared schemas and atomic partitions, on Dagster's public API.

Assets that compute pandas frames (staging, contracts in force, invoices) return them and this IO
manager stores them; the SQL marts write in the warehouse themselves and only *depend* on their inputs.

``WarehouseIOManager`` is configured like ``dagster_duckdb_pandas.DuckDBPandasIOManager`` (``database``,
``schema``) and its factory creates :class:`WarehouseFrameIOManager`, which writes through the one table
writer (:func:`flexpower_dagster.lib.warehouse.replace_partitions`) and therefore:

* creates each table from the asset's declared column schema (``dagster/column_schema``, built from its
  ``TableSpec``), so an empty first partition never creates a table with guessed types;
* casts every frame to the declared types and inserts by column name (column order does not matter);
* adds a column declared later (``ALTER TABLE ... ADD COLUMN``); a changed type is an error naming it;
* replaces the partition (or a range of partitions, for single-run backfills) in one transaction.
  On the DuckLake backend (``FLEXPOWER_WAREHOUSE=*.ducklake.toml``, :mod:`flexpower_dagster.lib.lake`) that
  transaction is a DuckLake transaction: runs writing other partitions of the same table commit beside it.

Loading selects the partitions of the input (all rows for an unpartitioned asset); a table that does not
exist yet is an error that says to materialise it first.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import pandas as pd
from dagster_duckdb_pandas import DuckDBPandasIOManager

from flexpower_dagster.lib.dagster.metadata import TABLE_NAME_KEY
from flexpower_dagster.lib.tables import Column, TableSpec
from flexpower_dagster.lib.warehouse import LOCK_WAIT_SECONDS, connect, read_partitions, replace_partitions, table_exists

COLUMN_SCHEMA_KEY = "dagster/column_schema"


def _spec_of(key: dg.AssetKey, metadata: dict | None, partition_expr: str | None) -> TableSpec:
    """The asset's table, rebuilt from its definition metadata (column schema and table name)."""
    md = metadata or {}
    schema = md.get(COLUMN_SCHEMA_KEY)
    if not isinstance(schema, dg.TableSchema):
        raise ValueError(f"{key.to_user_string()}: asset has no declared {COLUMN_SCHEMA_KEY}")
    table = str(md.get(TABLE_NAME_KEY) or "/".join(key.path)).replace("/", ".")
    schema_name, name = table.split(".", 1)
    columns = tuple(Column(c.name, c.type, c.description or "", nullable=c.constraints.nullable) for c in schema.columns)
    return TableSpec(schema=schema_name, name=name, columns=columns, key=(), partition_column=partition_expr)


def _partition_days(context: dg.OutputContext | dg.InputContext, spec: TableSpec) -> list[date] | None:
    if not spec.partition_column or not context.has_asset_partitions:
        return None
    return [date.fromisoformat(k) for k in context.asset_partition_keys]


class WarehouseFrameIOManager(dg.IOManager):
    """Stores and loads pandas frames in the DuckDB warehouse (see module docstring)."""

    def __init__(self, database: str, lock_wait_seconds: float = LOCK_WAIT_SECONDS):
        self.database = database
        self.lock_wait_seconds = lock_wait_seconds

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        if obj is None:
            return
        md = context.definition_metadata or {}
        spec = _spec_of(context.asset_key, md, md.get("partition_expr"))
        days = _partition_days(context, spec)
        with connect(self.database, wait_seconds=self.lock_wait_seconds, log=context.log.info) as conn:
            n = replace_partitions(conn, spec, days, obj)
        rows_key = "dagster/partition_row_count" if context.has_asset_partitions else "dagster/row_count"
        context.add_output_metadata({rows_key: n, TABLE_NAME_KEY: spec.qualified_name})  # as declared, never a path

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        md = context.upstream_output.definition_metadata if context.upstream_output else {}
        spec = _spec_of(context.asset_key, md, (md or {}).get("partition_expr"))
        days = _partition_days(context, spec)
        with connect(self.database, wait_seconds=self.lock_wait_seconds, log=context.log.info) as conn:
            if not table_exists(conn, spec.qualified_name):
                raise ValueError(f"table {spec.qualified_name} does not exist yet: materialise {context.asset_key.to_user_string()} first")
            return read_partitions(conn, spec, days)


class WarehouseIOManager(DuckDBPandasIOManager):
    """DuckDB IO manager for the tables written from pandas frames (see module docstring)."""

    lock_wait_seconds: float = LOCK_WAIT_SECONDS

    def create_io_manager(self, context) -> WarehouseFrameIOManager:  # type: ignore[override]
        return WarehouseFrameIOManager(database=self.database, lock_wait_seconds=self.lock_wait_seconds)
