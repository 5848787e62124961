"""The DuckDB warehouse: opening it (one place, one configuration) and writing a table's partitions.

DuckDB refuses a second connection to the same file in one process when the configuration differs,
so the IO manager and every direct SQL user connect through :func:`connect`. DuckDB allows one writer
process at a time: Dagster runs execute in-process and the run queue admits one run at a time
(``dagster.yaml``), so writers never overlap.

:func:`replace_partitions` is the one table writer, used by the IO manager (pandas frames) and by the
SQL marts (a ``SELECT`` over the warehouse): the table is created from its declared
:class:`~flexpower_dagster.lib.tables.TableSpec`, newly declared columns are added, every value is cast
to its declared type and inserted by name, and the delete of the partitions and the insert happen in one
transaction, so a failing write leaves the rows stored before in place.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from flexpower_dagster.lib import lake
from flexpower_dagster.lib.tables import TableSpec

CONNECTION_CONFIG: dict[str, str] = {"custom_user_agent": "dagster"}
#: How long a connection waits for another process's lock on the warehouse: long enough for a person's
#: query (minutes); the settings can change it (FLEXPOWER_LOCK_WAIT_SECONDS).
LOCK_WAIT_SECONDS = 600.0
#: How often a waiting connection says so in the log.
LOCK_LOG_EVERY_SECONDS = 30.0
_HOLDER = re.compile(r"Conflicting lock is held in (?P<holder>.+?)(?:\. See also|$)", re.S)


class WarehouseLocked(RuntimeError):
    """Another process held the warehouse for longer than this connection may wait."""


def lock_holder(error: Exception) -> str:
    """The process DuckDB names as holding the lock ("/usr/bin/python3 (PID 123) by user x"), if it says."""
    m = _HOLDER.search(str(error))
    return m.group("holder").strip() if m else "another process (DuckDB did not name it)"


def connect(
    database: str | Path,
    read_only: bool = False,
    wait_seconds: float = LOCK_WAIT_SECONDS,
    log: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Connect with the shared configuration. While another process holds the lock (a writer, or a person's
    read-only connection to the live file), wait with backoff up to ``wait_seconds``, saying so through
    ``log`` every 30 s; then fail with :class:`WarehouseLocked` naming the holder.

    A DuckLake descriptor (``*.ducklake.toml``, :mod:`flexpower_dagster.lib.lake`) opens the lake instead: no
    lock to wait for (several writers; each transaction sees one snapshot); a ``read_only`` connection is a DuckDB
    instance of its own (the readers export snapshot files), the others share one per process."""
    if lake.is_lake(database):
        return lake.connect(database, private=read_only)
    path = Path(database)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    last_log = started
    delay = 0.1
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=dict(CONNECTION_CONFIG))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            waited = time.monotonic() - started
            if waited >= wait_seconds:
                raise WarehouseLocked(
                    f"the warehouse {path} was held by {lock_holder(exc)} for {waited:.0f} s (the limit is "
                    f"{wait_seconds:.0f} s). People and BI tools must use the read-only snapshot (make sql), "
                    "never the live file; close the holder or raise FLEXPOWER_LOCK_WAIT_SECONDS."
                ) from exc
            if log is not None and time.monotonic() - last_log >= LOCK_LOG_EVERY_SECONDS:
                log(f"waiting for the warehouse lock held by {lock_holder(exc)} ({waited:.0f} s of at most {wait_seconds:.0f} s)")
                last_log = time.monotonic()
            time.sleep(min(delay, max(0.0, wait_seconds - waited)))
            delay = min(delay * 2, 2.0)


def table_exists(conn: duckdb.DuckDBPyConnection, qualified_name: str) -> bool:
    schema, name = qualified_name.split(".", 1)
    return bool(
        conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def ensure_table(conn: duckdb.DuckDBPyConnection, spec: TableSpec) -> None:
    """Create ``spec``'s table if missing and add columns declared since; a changed type is an error."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {spec.schema}")
    conn.execute(spec.ddl())
    existing = dict(
        conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [spec.schema, spec.name],
        ).fetchall()
    )
    for c in spec.columns:
        if c.name not in existing:
            conn.execute(f'ALTER TABLE {spec.qualified_name} ADD COLUMN "{c.name}" {c.type}')
        elif existing[c.name] != c.type:
            raise ValueError(
                f"{spec.qualified_name}.{c.name} is {existing[c.name]} in the warehouse but declared {c.type}: "
                "migrate or drop the table (make reset) before writing"
            )


@contextlib.contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # a failed ROLLBACK must not hide why the write failed
            conn.execute("ROLLBACK")
        raise


def replace_partitions(
    conn: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    partitions: Sequence[date] | None,
    source: str | pd.DataFrame,
    params: dict | None = None,
    where: Mapping[str, object] | None = None,
    in_transaction: bool = False,
) -> int:
    """Replace ``spec``'s rows of ``partitions`` (values of its partition column; None = the whole
    table) with the rows of ``source`` in one transaction; returns the number of rows written.
    ``where`` narrows the rows replaced further (column = value, e.g. one source's rejected files);
    ``in_transaction``: the caller's transaction is open, the write joins it (and commits with it).

    ``source`` is a ``SELECT`` statement (may use ``params``) or a pandas frame. Its columns must be
    exactly the declared ones (a missing or undeclared column is an error naming it).
    """
    frame_name = "__replace_source"
    if isinstance(source, pd.DataFrame):
        conn.register(frame_name, source)
        select, params = f"SELECT * FROM {frame_name}", None
    else:
        select = source
    try:
        have = [r[0] for r in conn.execute(f"DESCRIBE ({select})", params or {}).fetchall()]
        names = spec.column_names
        missing, extra = [n for n in names if n not in have], [n for n in have if n not in names]
        if missing or extra:
            raise ValueError(
                f"{spec.qualified_name}: rows to write do not match the declared columns (missing {missing}, undeclared {extra})"
            )
        ensure_table(conn, spec)
        cast = ", ".join(f'CAST("{c.name}" AS {c.type}) AS "{c.name}"' for c in spec.columns)
        conditions, values = [], []
        if partitions is not None and spec.partition_column:
            conditions.append(f'"{spec.partition_column}" IN (SELECT unnest(?))')
            values.append(list(partitions))
        for column, value in (where or {}).items():
            conditions.append(f'"{column}" = ?')
            values.append(value)
        with contextlib.nullcontext() if in_transaction else transaction(conn):
            conn.execute(f"DELETE FROM {spec.qualified_name}" + (f" WHERE {' AND '.join(conditions)}" if conditions else ""), values)
            n = conn.execute(f"INSERT INTO {spec.qualified_name} BY NAME SELECT {cast} FROM ({select})", params or {}).fetchone()[0]
        return int(n)
    finally:
        if isinstance(source, pd.DataFrame):
            conn.unregister(frame_name)


def read_partitions(
    conn: duckdb.DuckDBPyConnection, spec: TableSpec, partitions: Sequence[date] | None = None
) -> pd.DataFrame | None:
    """Rows of ``spec``'s table for ``partitions`` (None = all); None when the table does not exist."""
    if not table_exists(conn, spec.qualified_name):
        return None
    if partitions is None or not spec.partition_column:
        return conn.execute(f"SELECT * FROM {spec.qualified_name}").fetchdf()
    return conn.execute(
        f'SELECT * FROM {spec.qualified_name} WHERE "{spec.partition_column}" IN (SELECT unnest(?))', [list(partitions)]
    ).fetchdf()
