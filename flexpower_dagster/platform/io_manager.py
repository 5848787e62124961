"""The warehouse IO manager: ``DuckDBPandasIOManager`` with declared schemas and atomic partitions.

Differences from the stock IO manager, each for a reason we hit:

* Tables are created from the asset's declared column schema (``dagster/column_schema``, built
  from a :class:`~flexpower_dagster.core.tables.TableSpec`), and every frame is cast to it on
  insert. The stock handler creates the table from the first frame it sees, so an empty first
  partition produced ``INTEGER`` text columns, and it skips empty frames entirely (downstream
  reads then failed on a missing table).
* Rows are inserted ``BY NAME``, so column order in a frame does not matter.
* A column declared later is added with ``ALTER TABLE ... ADD COLUMN`` (the stock manager has no
  schema evolution); a changed type is an error naming the column.
* Delete-and-insert of a partition runs in one transaction: a failing write leaves the previous
  rows of the partition in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import pandas as pd
from dagster import InputContext, OutputContext, TableSchema
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasIOManager

from flexpower_dagster.core.warehouse import connect

COLUMN_SCHEMA_KEY = "dagster/column_schema"


class _AtomicDuckDbClient(DuckDbClient):
    @staticmethod
    @contextmanager
    def connect(context, _):
        conn = connect(context.resource_config["database"])
        try:
            conn.execute("BEGIN TRANSACTION")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()


class DeclaredSchemaPandasTypeHandler(DbTypeHandler[pd.DataFrame]):
    def handle_output(self, context: OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection):
        table = f"{table_slice.schema}.{table_slice.table}"
        schema = (context.definition_metadata or {}).get(COLUMN_SCHEMA_KEY)
        if not isinstance(schema, TableSchema):
            raise ValueError(f"{context.asset_key.to_user_string()}: asset has no declared {COLUMN_SCHEMA_KEY}")
        declared = [(c.name, c.type) for c in schema.columns]
        names = [n for n, _ in declared]
        missing = [n for n in names if n not in obj.columns]
        extra = [c for c in obj.columns if c not in names]
        if missing or extra:
            raise ValueError(f"{table}: output frame does not match declared columns (missing {missing}, undeclared {extra})")
        cols = ", ".join(f'"{n}" {t}' for n, t in declared)
        connection.execute(f"CREATE TABLE IF NOT EXISTS {table} ({cols})")
        existing = {
            r[0]: r[1]
            for r in connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                [table_slice.schema, table_slice.table],
            ).fetchall()
        }
        for name, typ in declared:
            if name not in existing:
                connection.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {typ}')
            elif existing[name] != typ:
                raise ValueError(
                    f"{table}.{name} is {existing[name]} in the warehouse but declared {typ}: "
                    "migrate or drop the table (make reset) before writing"
                )
        frame = obj.loc[:, names]  # noqa: F841  (scanned by DuckDB below)
        select = ", ".join(f'CAST("{n}" AS {t}) AS "{n}"' for n, t in declared)
        connection.execute(f"INSERT INTO {table} BY NAME SELECT {select} FROM frame")
        context.add_output_metadata({"dagster/partition_row_count" if context.has_partition_key else "dagster/row_count": len(obj)})

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> pd.DataFrame:
        if table_slice.partition_dimensions and len(context.asset_partition_keys) == 0:
            return pd.DataFrame()
        exists = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [table_slice.schema, table_slice.table],
        ).fetchone()[0]
        if not exists:
            raise ValueError(f"table {table_slice.schema}.{table_slice.table} does not exist yet: materialise it first")
        return connection.execute(DuckDbClient.get_select_statement(table_slice)).fetchdf()

    @property
    def supported_types(self):
        return [pd.DataFrame]


class WarehouseIOManager(DuckDBPandasIOManager):
    """DuckDB IO manager for every staging and mart table (see module docstring)."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [DeclaredSchemaPandasTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        return DbIOManager(
            db_client=_AtomicDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=pd.DataFrame,
            io_manager_name="WarehouseIOManager",
        )
