"""DuckDB files the pipeline hands to readers (pure: DuckDB only, no Dagster, no domain).

A file people, BI tools or a report build open must never be seen half-written: :func:`new_database_file`
attaches a fresh file under a temporary name to a connection (typically a read-only connection to the
warehouse, so the copy is done inside DuckDB, streaming), lets the caller fill it, detaches it (DuckDB
checkpoints on detach) and only then renames it over the target in one ``os.replace``. A reader keeps the
old file or opens the new one; a failure leaves the old file in place and removes the temporary one.

The file is written with :data:`STORAGE_VERSION`, pinned: the Evidence DuckDB connector of ``reports/``
(``@duckdb/node-bindings`` 1.4.x) must read it whatever Python DuckDB wrote it, and a newer library's default
storage format would not open there.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb

from flexpower_dagster.lib.sql import quote, sql_string
from flexpower_dagster.lib.warehouse import LOCK_WAIT_SECONDS, connect

#: Storage format of files read by the report site's DuckDB (Evidence's connector is DuckDB 1.4).
STORAGE_VERSION = "v1.4.0"
#: Permissions of a finished file handed out to readers: read-only for everyone (the directory decides who).
READ_ONLY_MODE = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


def open_reader(
    database: str | Path, wait_seconds: float = LOCK_WAIT_SECONDS, log: Callable[[str], None] | None = None
) -> duckdb.DuckDBPyConnection:
    """A connection that only reads ``database``: read-only, or — when this process already holds the file open
    read-write (DuckDB refuses a second configuration in one process) — a connection to that instance."""
    try:
        return connect(database, read_only=True, wait_seconds=wait_seconds, log=log)
    except duckdb.ConnectionException:
        return connect(database, read_only=False, wait_seconds=wait_seconds, log=log)


def _tmp_name(target: Path, pid: int) -> Path:
    return target.with_name(f".{target.name}.{pid}.tmp")


def remove_abandoned(directory: str | Path) -> list[Path]:
    """Delete the temporary files of :func:`new_database_file` in ``directory`` left by processes that died while
    writing (their process id no longer runs); returns them. A live writer's file is left alone."""
    removed = []
    for tmp in sorted(Path(directory).glob(".*.*.tmp")):
        pid = tmp.name.rsplit(".", 2)[-2]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        _discard(tmp)
        removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _discard(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            p.chmod(stat.S_IRUSR | stat.S_IWUSR)
        p.unlink(missing_ok=True)


@contextlib.contextmanager
def new_database_file(
    conn: duckdb.DuckDBPyConnection, target: str | Path, alias: str, read_only: bool = True
) -> Iterator[str]:
    """Attach a new DuckDB file as ``alias`` to ``conn``; on leaving the block detach it and atomically replace
    ``target`` with it (mode ``r--r--r--`` when ``read_only``). Yields the quoted alias for SQL text."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(target, os.getpid())
    _discard(tmp)
    quoted = quote(alias)
    # ATTACH takes no parameter: the path through the one quoting helper, the alias an identifier; READ_WRITE
    # because ``conn`` is usually a read-only connection to the warehouse
    conn.execute(f"ATTACH {sql_string(tmp)} AS {quoted} (READ_WRITE, STORAGE_VERSION '{STORAGE_VERSION}')")
    attached = True
    try:
        yield quoted
        conn.execute(f"DETACH {quoted}")
        attached = False
        if read_only:
            tmp.chmod(READ_ONLY_MODE)
        os.replace(tmp, target)
    finally:
        if attached:
            with contextlib.suppress(duckdb.Error):
                conn.execute(f"DETACH {quoted}")
        _discard(tmp)
