"""The read-only snapshot of the warehouse that people and BI tools use (pure: DuckDB only, no Dagster).

DuckDB allows one writer *or* many readers of a file, never both: a person's query on the live warehouse
would stop the pipeline (or wait behind it). So nobody but the pipeline opens the live file. After each
batch of updates the pipeline copies the whole warehouse into ``<warehouse dir>/snapshot.duckdb``
(``COPY FROM DATABASE`` into a new file, then an atomic rename: a reader sees the old or the new snapshot,
never half of one); ``make sql`` and BI tools open that copy read-only, as long as they like.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flexpower_dagster.lib.sql import quote, sql_string

SNAPSHOT_NAME = "snapshot.duckdb"


def snapshot_path(warehouse: str | Path) -> Path:
    return Path(warehouse).with_name(SNAPSHOT_NAME)


@dataclass(frozen=True)
class Snapshot:
    path: Path
    tables: int
    bytes: int
    seconds: float


def write_snapshot(conn: duckdb.DuckDBPyConnection, target: str | Path) -> Snapshot:
    """Copy every schema, table and view of the database ``conn`` is connected to into ``target``."""
    started = time.monotonic()
    target = Path(target)
    tmp = target.with_name(target.name + ".tmp")
    for p in (tmp, tmp.with_name(tmp.name + ".wal")):
        p.unlink(missing_ok=True)
    source = conn.execute("SELECT current_database()").fetchone()[0]
    conn.execute(f"ATTACH {sql_string(tmp)} AS __snapshot")  # ATTACH takes no parameter: one quoting helper
    try:
        conn.execute(f"COPY FROM DATABASE {quote(source)} TO __snapshot")  # the name comes from the file name
        tables = conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = '__snapshot'"
        ).fetchone()[0]
    finally:
        conn.execute("DETACH __snapshot")
    os.replace(tmp, target)
    return Snapshot(target, int(tables), target.stat().st_size, time.monotonic() - started)
