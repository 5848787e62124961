"""The SQL toolkit of the marts (pure: DuckDB only, no Dagster).

Every mart is one SQL statement over *warehouse* tables (``staging.vpp_forecasts``,
``marts.asset_forecast``, ...) with named parameters (``$day``, ``$day_start``, ``$day_end``):

* in production the statement runs inside the warehouse and its result replaces the mart's partition
  (:func:`flexpower_dagster.lib.warehouse.replace_partitions`): no data leaves DuckDB;
* in tests the same statement runs by :func:`evaluate` on a fresh in-memory DuckDB holding the given
  frames under the same qualified table names, *typed by their TableSpec*: a declared column the frame
  lacks is NULL of the declared type, every column is cast, so hand-made frames with a few columns
  behave exactly like warehouse partitions.

:data:`QH_GRID_CTE` is the day's 96 quarter-hours, written once for every mart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from os import PathLike, fspath

import duckdb
import pandas as pd

from flexpower_dagster.lib.tables import TableSpec

QH = timedelta(minutes=15)
QHS_PER_DAY = 96


def day_window(day: date) -> tuple[datetime, datetime]:
    """``[D 00:00, D+1 00:00)`` as naive UTC datetimes."""
    start = datetime(day.year, day.month, day.day)
    return start, start + timedelta(days=1)


def day_params(day: date) -> dict:
    """The parameters every daily mart statement takes: ``$day``, ``$day_start``, ``$day_end``."""
    start, end = day_window(day)
    return {"day": day, "day_start": start, "day_end": end}


def qh_grid_cte(name: str = "qh_grid", start: str = "$day_start", end: str = "$day_end") -> str:
    """A CTE ``name(delivery_start, delivery_end)``: every quarter-hour in ``[start, end)``."""
    return (
        f"{name} AS (\n"
        f"    SELECT g.delivery_start, g.delivery_start + INTERVAL 15 MINUTE AS delivery_end\n"
        f"    FROM range(CAST({start} AS TIMESTAMP), CAST({end} AS TIMESTAMP), INTERVAL 15 MINUTE) AS g(delivery_start)\n"
        f")"
    )


#: The 96 quarter-hours of ``$day`` (``[$day_start, $day_end)``).
QH_GRID_CTE = qh_grid_cte()


def quote(name: str) -> str:
    """An SQL identifier (table, column, database name) quoted for DuckDB: ``a"b`` -> ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'


def sql_string(value: str | PathLike) -> str:
    """A value (in practice: a file path) as an SQL string literal: ``it's`` -> ``'it''s'``.

    The one way a path enters SQL text where DuckDB cannot bind a parameter (``ATTACH``); bind a parameter
    (``COPY ... TO ?``, ``read_parquet(?)``) wherever it can. DuckDB strings know no backslash escapes, so
    doubling the quote is complete; a NUL character (no file name holds one) is refused.
    """
    text = fspath(value) if isinstance(value, PathLike) else str(value)
    if "\x00" in text:
        raise ValueError(f"an SQL string cannot hold a NUL character: {text!r}")
    return "'" + text.replace("'", "''") + "'"


def typed_select(spec: TableSpec, present: Iterable[str], source: str) -> str:
    """``SELECT`` of ``spec``'s columns from ``source``: present ones cast to the declared type, absent
    ones NULL of the declared type."""
    have = set(present)
    cols = [
        f"CAST({quote(c.name)} AS {c.type}) AS {quote(c.name)}" if c.name in have else f"CAST(NULL AS {c.type}) AS {quote(c.name)}"
        for c in spec.columns
    ]
    return f"SELECT {', '.join(cols)} FROM {source}"


def memory_warehouse(tables: Mapping[TableSpec, pd.DataFrame | None], *, partition_day: date | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB holding each frame as the table ``spec.qualified_name``, typed by its spec.

    ``partition_day``: the frames are the partition of that day, so a frame without the table's
    partition column gets it (hand-made test frames need not repeat the day on every row).
    """
    con = duckdb.connect()
    for i, (spec, frame) in enumerate(tables.items()):
        frame = spec.empty_frame() if frame is None or len(frame.columns) == 0 else frame
        if partition_day is not None and spec.partition_column and spec.partition_column not in frame.columns:
            frame = frame.assign(**{spec.partition_column: pd.Timestamp(partition_day)})
        raw = f"__input_{i}"
        con.register(raw, frame)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema}")
        con.execute(f"CREATE TABLE {spec.qualified_name} AS {typed_select(spec, frame.columns, raw)}")
        con.unregister(raw)
    return con


def evaluate(
    sql: str,
    tables: Mapping[TableSpec, pd.DataFrame | None],
    params: Mapping | None = None,
    *,
    partition_day: date | None = None,
) -> pd.DataFrame:
    """Run ``sql`` on a :func:`memory_warehouse` of ``tables``."""
    con = memory_warehouse(tables, partition_day=partition_day)
    try:
        return con.execute(sql, dict(params or {})).fetchdf()
    finally:
        con.close()
