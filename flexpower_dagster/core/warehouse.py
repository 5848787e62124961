"""Opening the DuckDB warehouse: one place, one configuration.

DuckDB refuses a second connection to the same file in one process when the configuration
differs, so the IO manager and every direct SQL user connect through :func:`connect`.
DuckDB allows one writer process at a time: Dagster runs are executed in-process and the
run queue admits one run at a time (see ``dagster.yaml``), so writers never overlap.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

CONNECTION_CONFIG: dict[str, str] = {"custom_user_agent": "dagster"}


def connect(database: str | Path, read_only: bool = False, retries: int = 20) -> duckdb.DuckDBPyConnection:
    """Connect with the shared configuration, waiting (with backoff) while another process holds the lock."""
    path = Path(database)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    delay = 0.1
    for attempt in range(retries + 1):
        try:
            return duckdb.connect(str(path), read_only=read_only, config=dict(CONNECTION_CONFIG))
        except duckdb.IOException:
            if attempt == retries:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


def table_exists(conn: duckdb.DuckDBPyConnection, qualified_name: str) -> bool:
    schema, name = qualified_name.split(".", 1)
    return bool(
        conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )
