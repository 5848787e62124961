"""Set-based, incremental loading of an event source with many small files (pure: no Dagster).

A 1,000-asset delivery day brings ~190,000 forecast files, and a new forecast version (1,000 files) touches three
delivery days: re-reading every file of a day for each version, rows assembled in pandas, cost minutes and
gigabytes. :func:`load_days` remembers which file fed which day (fingerprint, SHA-256, outcome) in
``staging.loaded_files``, written in the same transaction as the rows; reads only the files new for a day, each
once per run however many days it feeds, to numpy columns (``SourceSpec.parse_columns``; in worker processes when
there are many); appends their rows with ``INSERT … SELECT``; and applies the outcomes of
:func:`flexpower_dagster.lib.landing.rules.classify` (the rules every load shares) in SQL: rows carried forward,
duplicates' rows removed, rows sharing a row key left to the newest file. Only ``events`` sources without a
``supersede_group`` and without a cross-source validator qualify (forecasts, live samples): :func:`supports`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from multiprocessing import get_context

import duckdb
import numpy as np
import pandas as pd

from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.landing import facts as landing_facts
from flexpower_dagster.lib.landing.rules import DayPlan, Facts, Known, changes, classify
from flexpower_dagster.lib.landing.source import (
    LOADED_FILES,
    REJECTED_FILES,
    LandingFile,
    ParseColumnsFn,
    Rejection,
    SourceSpec,
)
from flexpower_dagster.lib.tables import TableSpec
from flexpower_dagster.lib.warehouse import ensure_table, replace_partitions, transaction

#: Files per parse batch (one batch = one INSERT); bounds the memory of rows in flight.
BATCH_FILES = 2_000
#: Below this many files to read, parsing stays in this process (a worker pool costs ~0.5 s to start).
PARALLEL_FROM_FILES = 4_000


def supports(spec: SourceSpec) -> bool:
    """Whether ``spec`` is loaded by :func:`load_days`: events, no supersede group, a column parser."""
    return spec.kind == "events" and spec.supersede_group is None and spec.parse_columns is not None


@dataclass
class RangeLoad:
    """What :func:`load_days` did for a range of days (counts over the range, per-day detail in the tables)."""

    files_read: int = 0  # parsed in this run (new or changed files)
    files_unchanged: int = 0  # (file, day) pairs already loaded, not read again
    files_used: list[str] = field(default_factory=list)  # files whose rows the days now hold
    rejected: list[Rejection] = field(default_factory=list)  # rejections found by this run
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (ignored copy, kept file)
    rebuilt_days: list[date] = field(default_factory=list)
    carried_forward_rows: int = 0
    rows_inserted: int = 0  # rows appended (the wanted days' rows of the files read)
    rows_superseded: int = 0
    parse_seconds: float = 0.0
    sql_seconds: float = 0.0


# ------------------------------------------------------------------------------------------------
# reading files (runs in worker processes too: module-level, picklable)

@dataclass(frozen=True)
class _Task:
    """What a reader needs to know: the source, the parser, the instant column and the row-key columns (for the
    file's key signature), and per file its path, name and the delivery days (epoch days) whose rows are wanted."""

    source: str
    parse: ParseColumnsFn
    time_column: str
    key_columns: tuple[str, ...]
    files: tuple[tuple[str, str, tuple[int, ...]], ...]


@dataclass
class _Parsed:
    """One parse batch: what reading each file taught (in the batch's order), and the wanted rows of its readable
    files as columns (``delivery_day`` added, ``_file`` = the file's index in the batch)."""

    facts: dict[str, Facts]
    columns: dict[str, np.ndarray]
    constants: dict[str, list]  # columns that are one value per file: column -> value per file


def _signature(cols: Mapping[str, object], key_columns: Sequence[str]) -> str | None:
    """The file's values of the row-key columns other than the instant, when each is one value for the whole
    file (forecasts: asset and version); None when one varies (see ``DayPlan.key_check``)."""
    values = []
    for c in key_columns:
        v = cols[c]
        if isinstance(v, np.ndarray):
            if len(v) == 0 or not (v == v[0]).all():
                return None
            v = v[0]
        values.append(str(v))
    return "\x1f".join(values)


def _read_file(task: _Task, path: str, name: str, wanted_days: tuple[int, ...]) -> tuple[Facts, dict[str, object]]:
    """What reading one file taught, and its rows of the wanted days as columns (none when it is broken)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:  # vanished between scan and read: the next run sees it gone
        return Facts("", True, error=_unreadable(task.source, name, exc)), {}
    sha = hashlib.sha256(data).hexdigest()
    try:
        if not data.strip():
            raise SourceFileError(name, "empty-file", "the file is empty (0 bytes)")
        cols = dict(task.parse(data, name))
    except SourceFileError as err:
        return Facts(sha, True, error=Rejection.from_error(task.source, err)), {}
    except Exception as exc:  # one broken file must never stop the others
        return Facts(sha, True, error=_unreadable(task.source, name, exc)), {}
    day = cols[task.time_column].astype("datetime64[D]")
    keep = np.isin(day.astype("int64"), np.asarray(wanted_days, dtype="int64"))
    rows = {c: (v[keep] if isinstance(v, np.ndarray) else v) for c, v in cols.items()}
    rows["delivery_day"] = day[keep].astype("datetime64[ns]")
    return Facts(sha, True, len(day), signature=_signature(cols, task.key_columns)), rows


def _unreadable(source: str, name: str, exc: Exception) -> Rejection:
    return Rejection.from_error(source, SourceFileError(name, "unreadable", f"{type(exc).__name__}: {exc}"))


def _read_batch(task: _Task) -> _Parsed:
    read = [_read_file(task, *f) for f in task.files]
    per_file = [rows for _, rows in read]
    columns: dict[str, np.ndarray] = {}
    constants: dict[str, list] = {}
    readable = [k for k, cols in enumerate(per_file) if cols]
    for c in {c for cols in per_file for c in cols}:
        if all(not isinstance(per_file[k][c], np.ndarray) for k in readable):
            constants[c] = [cols.get(c) if cols else None for cols in per_file]
        else:  # an array in some file: every file's value as an array
            n = [len(per_file[k]["delivery_day"]) for k in readable]
            columns[c] = np.concatenate(
                [per_file[k][c] if isinstance(per_file[k][c], np.ndarray) else np.full(m, per_file[k][c], dtype=object)
                 for k, m in zip(readable, n)]
            ) if readable else np.zeros(0)
    columns["_file"] = np.concatenate(
        [np.full(len(per_file[k]["delivery_day"]), k, dtype=np.int32) for k in readable]
    ) if readable else np.zeros(0, dtype=np.int32)
    return _Parsed({name: facts for (_, name, _), (facts, _) in zip(task.files, read)}, columns, constants)


def _read_all(task: _Task, workers: int | None) -> Iterator[_Parsed]:
    """Parse the task's files in batches; in a pool of worker processes when there are many (spawned: the
    caller holds DuckDB threads, which must not be forked)."""
    n = len(task.files)
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if n >= PARALLEL_FROM_FILES else 1
    size = BATCH_FILES if workers <= 1 else max(200, min(BATCH_FILES, -(-n // (workers * 4))))
    tasks = [replace(task, files=task.files[i : i + size]) for i in range(0, n, size)]
    if workers <= 1:
        for t in tasks:
            yield _read_batch(t)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        yield from pool.map(_read_batch, tasks)


# ------------------------------------------------------------------------------------------------
# the load


def _known(conn: duckdb.DuckDBPyConnection, source: str, days: Sequence[date]) -> dict[date, dict[str, Known]]:
    out: dict[date, dict[str, Known]] = {d: {} for d in days}
    for d, file, size, mtime_ns, sha, status, n_rows, carried, rule, reason, row, seen_at, signature, of in conn.execute(
        "SELECT delivery_day, file, size, mtime_ns, sha256, status, \"rows\", carried_rows, rule, reason, \"row\", seen_at, "
        f"key_signature, duplicate_of FROM {LOADED_FILES.qualified_name} WHERE source = ? AND delivery_day IN (SELECT unnest(?))",
        [source, list(days)],
    ).fetchall():
        error = Rejection(source, file, rule or "unreadable", reason or "", row) if status == "rejected" else None
        out[d][file] = Known(sha or "", True, n_rows, error, signature, size, mtime_ns, status, carried or 0, seen_at, of)
    return out


def load_days(
    conn: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    files: Iterable[LandingFile],
    days: Sequence[date],
    file_facts: landing_facts.Facts = landing_facts.IN_MEMORY,
    workers: int | None = None,
) -> RangeLoad:
    """Bring ``spec``'s staging rows of ``days`` up to date with ``files`` (see the module docstring).

    Writes the staging table, ``staging.loaded_files`` and ``staging.rejected_files`` in one transaction.
    ``workers``: parse processes (default: up to 4 when there are thousands of files to read). ``file_facts``: what
    is known about the files (their days), and where this load records what it learnt (hash, rows, outcome).
    """
    if not supports(spec):
        raise ValueError(f"{spec.name}: load_days needs an events source without supersede group and with parse_columns")
    assert spec.time_column is not None and spec.parse_columns is not None
    days = sorted(set(days))
    result = RangeLoad()
    for t in (spec.table, LOADED_FILES, REJECTED_FILES):
        ensure_table(conn, t)
    wanted = set(days)
    candidates: dict[date, list[LandingFile]] = {d: [] for d in days}
    times = {}  # file times, parsed once
    for f in files:
        for d in file_facts.days_or_empty(spec, f) & wanted:
            candidates[d].append(f)
            times[f.name] = times.get(f.name) or spec.file_time(f.basename)
    known = _known(conn, spec.name, days)
    # what to read: per day the files not known unchanged (all of them when the day is rebuilt), each file once
    read_days: dict[LandingFile, list[date]] = {}
    for d in days:
        rebuild, unchanged = changes(candidates[d], known[d])
        result.files_unchanged += len(unchanged)
        if rebuild:
            result.rebuilt_days.append(d)
        for f in candidates[d]:
            if f.name not in unchanged:
                read_days.setdefault(f, []).append(d)
    epoch = date(1970, 1, 1)
    task = _Task(
        spec.name,
        spec.parse_columns,
        spec.time_column,
        tuple(c for c in spec.row_key if c not in ("delivery_day", spec.time_column)),
        tuple((str(f.path), f.name, tuple((d - epoch).days for d in ds))
              for f, ds in sorted(read_days.items(), key=lambda item: (times[item[0].name], item[0].name))),
    )
    q = spec.table.qualified_name
    facts: dict[str, Facts] = {}
    t0 = time.monotonic()
    with transaction(conn):
        # 1. rows leaving: whole rebuilt days, set aside to be carried forward for files rejected now
        conn.execute(f"CREATE OR REPLACE TEMP TABLE _carry AS SELECT * FROM {q} WHERE false")
        for d in result.rebuilt_days:
            conn.execute(f"INSERT INTO _carry SELECT * FROM {q} WHERE delivery_day = ?", [d])
            conn.execute(f"DELETE FROM {q} WHERE delivery_day = ?", [d])
        # 2. rows coming: each new file read once, its rows of the wanted days appended
        for batch in _read_all(task, workers):
            facts.update(batch.facts)
            result.rows_inserted += _append(conn, spec.table, batch)
        result.files_read = len(read_days)
        result.parse_seconds = time.monotonic() - t0
        t1 = time.monotonic()
        # 3. the rules, applied: carried rows back, duplicates' rows out, rows sharing a key to the newest file
        plans = [classify(spec, d, candidates[d], known[d], facts, times) for d in days]
        assert all(p.complete for p in plans), f"{spec.name}: files were classified before being read"
        carry = [(n, p.day) for p in plans for n in p.carried]
        _rows_of(conn, q, "INSERT INTO {q} SELECT c.* FROM _carry c JOIN {pairs} x USING (source_file, delivery_day)", carry)
        conn.execute("DROP TABLE _carry")
        _rows_of(conn, q, "DELETE FROM {q} t USING {pairs} x WHERE t.source_file = x.source_file AND t.delivery_day = x.delivery_day",
                 [(o.file.name, p.day) for p in plans for o in p.having("duplicate")
                  if (o.known.has_rows if o.known is not None else facts[o.file.name].error is None)])
        result.rows_superseded = _supersede(conn, spec, plans)
        # 4. lineage (with the rows carried forward, counted now that they are stored) and rejections of the days
        carried = {(n, d): c for n, d, c in _rows_of(
            conn, q, "SELECT source_file, delivery_day, count(*) FROM {q} JOIN {pairs} x USING (source_file, delivery_day) GROUP BY ALL", carry)}
        seen_at = datetime.now(UTC).replace(tzinfo=None)
        lineage = LOADED_FILES.conform(pd.DataFrame(
            [o.lineage(p.day, spec, carried.get((o.file.name, p.day), 0), seen_at) for p in plans for o in p.outcomes],
            columns=LOADED_FILES.column_names,
        ))
        rejected = lineage.loc[lineage["status"].eq("rejected"), list(REJECTED_FILES.column_names)]
        for t, frame in ((LOADED_FILES, lineage), (REJECTED_FILES, REJECTED_FILES.conform(rejected.reset_index(drop=True)))):
            replace_partitions(conn, t, days, frame, where={"source": spec.name}, in_transaction=True)
    result.sql_seconds = time.monotonic() - t1
    result.carried_forward_rows = sum(carried.values())
    for p in plans:
        result.files_used += p.used
        result.duplicates += p.duplicates
    result.rejected = list({o.file.name: o.rejection for p in plans for o in p.having("rejected")
                            if o.known is None and o.rejection is not None}.values())
    file_facts.record_many(  # share what was learnt (hash, rows, outcome) with the sensors
        [(f, spec.name, {"sha256": fa.sha256, "n_rows": fa.rows, "status": "rejected" if fa.error else "loaded",
                         "rule": fa.error.rule if fa.error else "", "reason": fa.error.reason if fa.error else ""})
         for f in read_days if (fa := facts[f.name]).sha256]
    )
    return result


def _append(conn: duckdb.DuckDBPyConnection, table: TableSpec, batch: _Parsed) -> int:
    """Insert the rows of one parse batch (each file's constant columns joined on), cast to the declared types."""
    if not len(batch.columns["_file"]):
        return 0
    names = list(batch.facts)
    files_frame = pd.DataFrame({"_file": np.arange(len(names), dtype=np.int32), "source_file": names, **batch.constants})
    parsed_cols = [c for c in table.column_names if c != "source_file"]
    select = ", ".join(
        f'CAST(r."{c}" AS {table.column(c).type})' if c in batch.columns
        else f'CAST(f."{c}" AS {table.column(c).type})' if c in batch.constants
        else "NULL"
        for c in parsed_cols
    )
    names = ", ".join(f'"{c}"' for c in table.column_names)
    conn.register("_rows", pd.DataFrame(batch.columns))
    conn.register("_files", files_frame)
    try:
        return conn.execute(
            f"INSERT INTO {table.qualified_name} ({names}) SELECT {select}, f.source_file FROM _rows r JOIN _files f USING (_file)"
        ).fetchone()[0]
    finally:
        conn.unregister("_rows")
        conn.unregister("_files")


def _rows_of(conn: duckdb.DuckDBPyConnection, q: str, statement: str, pairs: list[tuple]) -> list[tuple]:
    """Run ``statement`` (``{q}``: the staging table; ``{pairs}``: the ``(source_file, delivery_day[, file_time])``
    of ``pairs``) when there are pairs; its result rows."""
    if not pairs:
        return []
    columns = ["source_file", "delivery_day", "file_time"][: len(pairs[0])]
    conn.register("_pairs", pd.DataFrame(pairs, columns=columns).astype({"delivery_day": "datetime64[ns]"}))
    try:
        extra = ", file_time" if "file_time" in columns else ""
        pairs_sql = f"(SELECT source_file, CAST(delivery_day AS DATE) AS delivery_day{extra} FROM _pairs)"
        return conn.execute(statement.format(q=q, pairs=pairs_sql)).fetchall()
    finally:
        conn.unregister("_pairs")


def _supersede(conn: duckdb.DuckDBPyConnection, spec: SourceSpec, plans: list[DayPlan]) -> int:
    """Rows sharing a row key: the newest file's row stays (only the files that can share keys are looked at)."""
    key = ", ".join(f't."{c}"' for c in spec.row_key if c != "delivery_day")
    check = [(o.file.name, p.day, o.time) for p in plans for o in p.outcomes if o.file.name in p.key_check]
    deleted = key and _rows_of(conn, spec.table.qualified_name, (
        "DELETE FROM {q} WHERE rowid IN (SELECT rid FROM (SELECT t.rowid AS rid, row_number() OVER (PARTITION BY "
        f"t.delivery_day, {key} ORDER BY x.file_time DESC, t.source_file DESC) AS rn "
        "FROM {q} t JOIN {pairs} x USING (source_file, delivery_day)) WHERE rn > 1)"), check)
    return deleted[0][0] if deleted else 0
