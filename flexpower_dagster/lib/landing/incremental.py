"""Set-based, incremental loading of an event source with many small files (pure: no Dagster).

A 1,000-asset delivery day brings ~190,000 forecast files, and a new forecast version (1,000 files)
touches three delivery days. Re-reading every file of a day for each new version, and assembling the
rows in pandas, cost minutes and gigabytes. :func:`load_days` instead

* remembers which file fed which day, with its fingerprint and SHA-256, in ``staging.loaded_files``
  (written in the same transaction as the rows, so the table and its lineage never disagree);
* reads only the files that are new for a day (each file once per run, however many of the requested
  days it feeds), parsing them to numpy columns (``SourceSpec.parse_columns``; in worker processes when
  there are many), and appends their rows with ``INSERT … SELECT``;
* does the set work in SQL inside the warehouse: the cut to the delivery day, the row-key superseding
  (the newest file wins) and the removal of rows whose file became a duplicate.

It keeps every rule of :func:`flexpower_dagster.lib.landing.load.load_day` (which still loads the sources
with few files): byte-identical duplicates are ignored (the newest name kept), a broken file is rejected
with file/row/rule and the others go on, rows sharing the row key come from the newest file, and a
broken re-delivery never deletes what its earlier version stored (carried forward). When a file that
had contributed rows is changed or removed, the day is *rebuilt* from all its files (rare: landing files
are immutable by contract), so rows it had superseded come back. ``tests/landing/test_incremental.py``
proves that the result equals ``load_day``'s on the same files, for every one of these cases.

Only ``events`` sources without a ``supersede_group`` and without a cross-source validator qualify
(forecasts, live samples): see :func:`supports`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from multiprocessing import get_context

import duckdb
import numpy as np
import pandas as pd

from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.landing.files import days_or_empty
from flexpower_dagster.lib.landing.manifest import Manifest
from flexpower_dagster.lib.landing.source import (
    LOADED_FILES,
    REJECTED_FILES,
    LandingFile,
    ParseColumnsFn,
    Rejection,
    SourceSpec,
)
from flexpower_dagster.lib.warehouse import ensure_table

#: Files per parse batch (one batch = one INSERT); bounds the memory of rows in flight.
BATCH_FILES = 2_000
#: Below this many files to read, parsing stays in this process (a worker pool costs ~0.5 s to start).
PARALLEL_FROM_FILES = 4_000


def supports(spec: SourceSpec) -> bool:
    """Whether ``spec`` is loaded by :func:`load_days`: events, no supersede group, a column parser."""
    return spec.kind == "events" and spec.supersede_group is None and spec.parse_columns is not None


@dataclass(frozen=True)
class Known:
    """What ``staging.loaded_files`` remembers about one file for one day."""

    size: int
    mtime_ns: int
    sha256: str
    status: str  # loaded | rejected | duplicate
    rows: int | None
    carried_rows: int
    rule: str | None
    reason: str | None
    row: int | None
    seen_at: datetime
    signature: str | None

    @property
    def has_rows(self) -> bool:
        return self.status == "loaded" or self.carried_rows > 0


@dataclass
class RangeLoad:
    """What :func:`load_days` did for a range of days (counts over the range, per-day detail in the tables)."""

    days: list[date]
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

_DAY_MS = 86_400_000


@dataclass(frozen=True)
class _Task:
    """What a reader needs to know: the parser, the instant column and the row-key columns (for the file's
    key signature), and per file its path, name and the delivery days (epoch days) whose rows are wanted."""

    parse: ParseColumnsFn
    time_column: str
    key_columns: tuple[str, ...]
    files: tuple[tuple[str, str, tuple[int, ...]], ...]


@dataclass
class _Parsed:
    """One parse batch: per file its SHA-256, row count, error and key signature; the wanted rows of all
    its readable files as columns (``delivery_day`` added, ``_file`` = the file's index in the batch)."""

    names: list[str]
    sha256: list[str]
    n_rows: list[int]
    errors: list[tuple[str, str, int | None] | None]  # (rule, reason as SourceFileError.reason, row)
    signatures: list[str | None]
    columns: dict[str, np.ndarray]
    constants: dict[str, list]  # columns that are one value per file: column -> value per file


def _signature(cols: Mapping[str, object], key_columns: Sequence[str]) -> str | None:
    """The file's values of the row-key columns other than the instant, when each is one value for the whole
    file (forecasts: asset and version); None when one varies. Two files can only share a row key when
    their signatures are equal (or one is None): the superseding SQL then looks at those files only."""
    values = []
    for c in key_columns:
        v = cols[c]
        if isinstance(v, np.ndarray):
            if len(v) == 0 or not (v == v[0]).all():
                return None
            v = v[0]
        values.append(str(v))
    return "\x1f".join(values)


def _unreadable(name: str, exc: Exception) -> tuple[str, str, int | None]:
    err = SourceFileError(name, "unreadable", f"{type(exc).__name__}: {exc}")
    return (err.rule, err.reason, None)


def _read_batch(task: _Task) -> _Parsed:
    names, shas, counts, errors, signatures = [], [], [], [], []
    per_file: list[dict[str, object]] = []
    for path, name, wanted_days in task.files:
        names.append(name)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:  # vanished between scan and read: the next run sees it gone
            shas.append("")
            counts.append(0)
            errors.append(_unreadable(name, exc))
            signatures.append(None)
            per_file.append({})
            continue
        shas.append(hashlib.sha256(data).hexdigest())
        try:
            if not data.strip():
                raise SourceFileError(name, "empty-file", "the file is empty (0 bytes)")
            cols = dict(task.parse(data, name))
        except SourceFileError as err:
            cols, error = {}, (err.rule, err.reason, err.row)
        except Exception as exc:  # one broken file must never stop the others
            cols, error = {}, _unreadable(name, exc)
        else:
            error = None
        errors.append(error)
        if error is not None:
            counts.append(0)
            signatures.append(None)
            per_file.append({})
            continue
        t = cols[task.time_column]
        counts.append(len(t))
        signatures.append(_signature(cols, task.key_columns))
        day = t.astype("datetime64[D]")
        keep = np.isin(day.astype("int64"), np.asarray(wanted_days, dtype="int64"))
        cols = {c: (v[keep] if isinstance(v, np.ndarray) else v) for c, v in cols.items()}
        cols["delivery_day"] = day[keep].astype("datetime64[ns]")
        per_file.append(cols)
    columns: dict[str, np.ndarray] = {}
    constants: dict[str, list] = {}
    readable = [k for k, cols in enumerate(per_file) if cols]
    for c in {c for cols in per_file for c in cols}:
        if all(not isinstance(per_file[k][c], np.ndarray) for k in readable):
            constants[c] = [per_file[k].get(c) if per_file[k] else None for k in range(len(names))]
        else:  # an array in some file: every file's value as an array
            n = [len(per_file[k]["delivery_day"]) for k in readable]
            columns[c] = np.concatenate(
                [per_file[k][c] if isinstance(per_file[k][c], np.ndarray) else np.full(m, per_file[k][c], dtype=object)
                 for k, m in zip(readable, n)]
            ) if readable else np.zeros(0)
    columns["_file"] = np.concatenate(
        [np.full(len(per_file[k]["delivery_day"]), k, dtype=np.int32) for k in readable]
    ) if readable else np.zeros(0, dtype=np.int32)
    return _Parsed(names, shas, counts, errors, signatures, columns, constants)


def _read_all(task: _Task, workers: int | None) -> Iterator[_Parsed]:
    """Parse the task's files in batches; in a pool of worker processes when there are many (spawned: the
    caller holds DuckDB threads, which must not be forked)."""
    n = len(task.files)
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if n >= PARALLEL_FROM_FILES else 1
    size = BATCH_FILES if workers <= 1 else max(200, min(BATCH_FILES, -(-n // (workers * 4))))
    tasks = [_Task(task.parse, task.time_column, task.key_columns, task.files[i : i + size]) for i in range(0, n, size)]
    if workers <= 1:
        for t in tasks:
            yield _read_batch(t)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        yield from pool.map(_read_batch, tasks)


# ------------------------------------------------------------------------------------------------
# the load


def _known(conn: duckdb.DuckDBPyConnection, source: str, days: Sequence[date]) -> dict[date, dict[str, Known]]:
    rows = conn.execute(
        "SELECT delivery_day, file, size, mtime_ns, sha256, status, \"rows\", carried_rows, rule, reason, \"row\", seen_at, "
        f"key_signature FROM {LOADED_FILES.qualified_name} WHERE source = ? AND delivery_day IN (SELECT unnest(?))",
        [source, list(days)],
    ).fetchall()
    out: dict[date, dict[str, Known]] = {d: {} for d in days}
    for d, file, size, mtime_ns, sha, status, n_rows, carried, rule, reason, row, seen_at, signature in rows:
        out[d][file] = Known(int(size), int(mtime_ns), sha, status, n_rows, int(carried or 0), rule, reason, row, seen_at, signature)
    return out


def load_days(
    conn: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    files: Iterable[LandingFile],
    days: Sequence[date],
    manifest: Manifest | None = None,
    workers: int | None = None,
) -> RangeLoad:
    """Bring ``spec``'s staging rows of ``days`` up to date with ``files`` (see the module docstring).

    Writes the staging table, ``staging.loaded_files`` and ``staging.rejected_files`` in one transaction.
    ``workers``: parse processes (default: up to 4 when there are thousands of files to read).
    """
    if not supports(spec):
        raise ValueError(f"{spec.name}: load_days needs an events source without supersede group and with parse_columns")
    assert spec.time_column is not None and spec.parse_columns is not None
    days = sorted(set(days))
    result = RangeLoad(days=days)
    table = spec.table
    for t in (table, LOADED_FILES, REJECTED_FILES):
        ensure_table(conn, t)
    wanted = set(days)
    candidates: dict[date, list[LandingFile]] = {d: [] for d in days}
    for f in files:
        for d in days_or_empty(spec, f, manifest) & wanted:
            candidates[d].append(f)
    known = _known(conn, spec.name, days)
    file_time = {f.name: spec.file_time(f.basename) for fs in candidates.values() for f in fs}

    def order_key(f: LandingFile) -> tuple:  # spec.order_key, with each name's time parsed once
        return (file_time[f.name], f.name)

    # per day: which files to read, and whether the day is rebuilt from all its files
    to_read: dict[str, LandingFile] = {}
    read_days: dict[str, list[date]] = {}
    reread_for: dict[date, set[str]] = {}
    rebuild: set[date] = set()
    for d in days:
        present = {f.name: f for f in candidates[d]}
        unchanged = {n for n, k in known[d].items() if n in present and (present[n].size, present[n].mtime_ns) == (k.size, k.mtime_ns)}
        stale = [k for n, k in known[d].items() if n not in unchanged]
        if any(k.has_rows for k in stale):
            rebuild.add(d)
            unchanged = set()
        reread_for[d] = set(present) - unchanged
        result.files_unchanged += len(unchanged)
        for n in reread_for[d]:
            to_read[n] = present[n]
            read_days.setdefault(n, []).append(d)
    result.rebuilt_days = sorted(rebuild)
    epoch = date(1970, 1, 1)
    order = sorted(to_read.values(), key=order_key)
    task = _Task(
        spec.parse_columns,
        spec.time_column,
        tuple(c for c in spec.row_key if c not in ("delivery_day", spec.time_column)),
        tuple((str(f.path), f.name, tuple((d - epoch).days for d in read_days[f.name])) for f in order),
    )

    q = table.qualified_name
    parsed_cols = [c for c in table.column_names if c != "source_file"]
    names_sql = ", ".join(f'"{c}"' for c in table.column_names)
    read_sha: dict[str, str] = {}
    read_rows: dict[str, int] = {}
    read_error: dict[str, tuple[str, str, int | None]] = {}
    signature: dict[str, str | None] = {}
    t0 = time.monotonic()
    conn.execute("BEGIN TRANSACTION")
    try:
        # 1. rows leaving: whole rebuilt days; the rows of their files are set aside, to be carried forward
        #    for files that turn out to be rejected now (a broken re-delivery keeps what was stored)
        conn.execute(f"CREATE OR REPLACE TEMP TABLE _carry AS SELECT * FROM {q} WHERE false")
        for d in sorted(rebuild):
            conn.execute(f"INSERT INTO _carry SELECT * FROM {q} WHERE delivery_day = ?", [d])
            conn.execute(f"DELETE FROM {q} WHERE delivery_day = ?", [d])

        # 2. rows coming: each new file read once, its rows of the wanted days appended
        for batch in _read_all(task, workers):
            for k, name in enumerate(batch.names):
                read_sha[name] = batch.sha256[k]
                read_rows[name] = batch.n_rows[k]
                signature[name] = batch.signatures[k]
                if batch.errors[k] is not None:
                    read_error[name] = batch.errors[k]
            if not len(batch.columns["_file"]):
                continue
            files_frame = pd.DataFrame(
                {"_file": np.arange(len(batch.names), dtype=np.int32), "source_file": batch.names, **batch.constants}
            )
            select = ", ".join(
                f'CAST(r."{c}" AS {table.column(c).type})' if c in batch.columns
                else f'CAST(f."{c}" AS {table.column(c).type})' if c in batch.constants
                else "NULL"
                for c in parsed_cols
            )
            conn.register("_rows", pd.DataFrame(batch.columns))
            conn.register("_files", files_frame)
            try:
                result.rows_inserted += conn.execute(
                    f"INSERT INTO {q} ({names_sql}) SELECT {select}, f.source_file FROM _rows r JOIN _files f USING (_file)"
                ).fetchone()[0]
            finally:
                conn.unregister("_rows")
                conn.unregister("_files")
        result.files_read = len(order)
        result.parse_seconds = time.monotonic() - t0

        # 3. per day: duplicates, statuses, files carried forward
        t1 = time.monotonic()
        seen_at = datetime.now(UTC).replace(tzinfo=None)
        lineage_rows: list[tuple] = []
        rejected_rows: list[tuple] = []
        leave: list[tuple[str, date]] = []  # (file, day) whose rows go: copies that turned out to be duplicates
        carry: list[tuple[str, date]] = []  # (file, day) rejected now whose earlier rows are carried forward
        check: dict[date, set[str]] = {}  # files whose rows may share a row key with another file's
        new_rejections: dict[str, Rejection] = {}
        for d in days:
            present = candidates[d]
            unchanged = {f.name for f in present} - reread_for[d]

            def sha(f: LandingFile, d: date = d, unchanged: set[str] = unchanged) -> str:
                return known[d][f.name].sha256 if f.name in unchanged else read_sha.get(f.name, "")

            groups: dict[tuple[int, str], list[LandingFile]] = {}
            for f in present:
                if f.size and sha(f):
                    groups.setdefault((f.size, sha(f)), []).append(f)
            duplicate_of: dict[str, str] = {}
            for same in groups.values():
                if len(same) > 1:
                    same.sort(key=order_key)
                    for f in same[:-1]:
                        duplicate_of[f.name] = same[-1].name
            signatures: dict[str | None, list[str]] = {}
            for f in sorted(present, key=order_key):
                k = known[d].get(f.name) if f.name in unchanged else None
                prior = known[d].get(f.name)
                carried_rows = k.carried_rows if k is not None else 0
                sig = k.signature if k is not None else signature.get(f.name)
                if f.name in duplicate_of:
                    status, rule, reason, row = "duplicate", None, None, None
                    result.duplicates.append((f.name, duplicate_of[f.name]))
                    if (k is None and f.name not in read_error) or (k is not None and k.has_rows):
                        leave.append((f.name, d))
                    carried_rows = 0
                elif k is not None:  # already loaded (or rejected) for this day, unchanged
                    status, rule, reason, row = k.status, k.rule, k.reason, k.row
                elif f.size == 0:
                    status, rule, reason, row = "rejected", "empty-file", "[empty-file] the file is empty (0 bytes)", None
                elif f.name in read_error:
                    rule, reason, row = read_error[f.name]
                    status = "rejected"
                else:
                    status, rule, reason, row = "loaded", None, None, None
                if status == "rejected" and k is None and d in rebuild and prior is not None and prior.has_rows:
                    carry.append((f.name, d))
                    carried_rows = -1  # the rows of its earlier version stay: counted below
                    sig = None  # their keys are not known here: always checked
                if status == "loaded" or carried_rows:
                    signatures.setdefault(sig, []).append(f.name)
                if status == "rejected":
                    r = Rejection(source=spec.name, file=f.name, rule=rule or "unreadable", reason=reason or "", row=row)
                    if k is None:
                        new_rejections.setdefault(f.name, r)
                    rejected_rows.append((d, spec.name, f.name, row, r.rule, r.reason, k.seen_at if k is not None else seen_at))
                if status == "loaded":
                    result.files_used.append(f.name)
                lineage_rows.append(
                    (d, spec.name, f.name, f.size, f.mtime_ns, sha(f), file_time[f.name], status,
                     read_rows.get(f.name, 0) if k is None else k.rows, carried_rows, rule, reason, row,
                     duplicate_of.get(f.name), sig, k.seen_at if k is not None else seen_at)
                )
            check[d] = {n for sig, members in signatures.items() if sig is None or len(members) > 1 for n in members}
        result.rejected = list(new_rejections.values())
        lineage = pd.DataFrame(lineage_rows, columns=LOADED_FILES.column_names)

        if carry:
            conn.register("_carried", pd.DataFrame(carry, columns=["source_file", "delivery_day"]).astype({"delivery_day": "datetime64[ns]"}))
            conn.execute(
                f"INSERT INTO {q} SELECT c.* FROM _carry c JOIN _carried x "
                "ON c.source_file = x.source_file AND c.delivery_day = CAST(x.delivery_day AS DATE)"
            )
            conn.unregister("_carried")
        conn.execute("DROP TABLE _carry")
        if leave:
            conn.register("_leave", pd.DataFrame(leave, columns=["source_file", "delivery_day"]).astype({"delivery_day": "datetime64[ns]"}))
            conn.execute(f"DELETE FROM {q} t USING _leave x WHERE t.source_file = x.source_file AND t.delivery_day = CAST(x.delivery_day AS DATE)")
            conn.unregister("_leave")

        # 4. rows sharing a row key: the newest file's row stays (only files that can share keys are looked at)
        key = [c for c in spec.row_key if c != "delivery_day"]
        pairs = [(n, d) for d, names in check.items() for n in names]
        if key and pairs:
            k_cols = ", ".join(f't."{c}"' for c in ["delivery_day", *key])
            conn.register("_check", lineage.loc[:, ["delivery_day", "file", "file_time"]].merge(
                pd.DataFrame(pairs, columns=["file", "delivery_day"]).astype({"delivery_day": lineage["delivery_day"].dtype})))
            result.rows_superseded = conn.execute(
                f"DELETE FROM {q} WHERE rowid IN (SELECT rid FROM (SELECT t.rowid AS rid, row_number() OVER "
                f"(PARTITION BY {k_cols} ORDER BY c.file_time DESC, t.source_file DESC) AS rn FROM {q} t "
                "JOIN _check c ON c.file = t.source_file AND CAST(c.delivery_day AS DATE) = t.delivery_day) WHERE rn > 1)"
            ).fetchone()[0]
            conn.unregister("_check")

        # 5. lineage (with the rows carried forward) and rejections of the days
        for d in days:
            carried = pd.to_datetime(lineage["delivery_day"]).dt.date.eq(d) & lineage["carried_rows"].eq(-1)
            if carried.any():
                counts = dict(conn.execute(
                    f"SELECT source_file, count(*) FROM {q} WHERE delivery_day = ? AND list_contains(?, source_file) GROUP BY 1",
                    [d, lineage.loc[carried, "file"].tolist()],
                ).fetchall())
                lineage.loc[carried, "carried_rows"] = lineage.loc[carried, "file"].map(counts).fillna(0).astype(int)
                result.carried_forward_rows += int(sum(counts.values()))
        _replace(conn, LOADED_FILES, spec.name, days, LOADED_FILES.conform(lineage))
        _replace(conn, REJECTED_FILES, spec.name, days, REJECTED_FILES.conform(pd.DataFrame(rejected_rows, columns=REJECTED_FILES.column_names)))
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # a failed ROLLBACK must not hide why the write failed
            conn.execute("ROLLBACK")
        raise
    result.sql_seconds = time.monotonic() - t1

    if manifest is not None:  # share what was learnt (hash, rows, outcome) with the sensors
        by_name = {f.name: f for fs in candidates.values() for f in fs}
        manifest.put_many(
            [(by_name[n], spec.name, {"sha256": read_sha[n], "n_rows": read_rows.get(n, 0),
                                      "status": "rejected" if n in read_error else "loaded",
                                      "rule": read_error[n][0] if n in read_error else "",
                                      "reason": read_error[n][1] if n in read_error else ""})
             for n in to_read if read_sha.get(n)]
        )
    return result


def _replace(conn: duckdb.DuckDBPyConnection, spec, source: str, days: Sequence[date], frame: pd.DataFrame) -> None:
    """Replace ``spec``'s rows of (source, days) with ``frame`` (inside the caller's transaction)."""
    conn.execute(f"DELETE FROM {spec.qualified_name} WHERE source = ? AND delivery_day IN (SELECT unnest(?))", [source, list(days)])
    if len(frame):
        conn.register("_frame", frame)
        names = ", ".join(f'"{c}"' for c in spec.column_names)
        conn.execute(f"INSERT INTO {spec.qualified_name} ({names}) SELECT {names} FROM _frame")
        conn.unregister("_frame")


def stored_rows(conn: duckdb.DuckDBPyConnection, spec: SourceSpec, days: Sequence[date]) -> Mapping[date, int]:
    """Rows stored per day (for metadata)."""
    return dict(conn.execute(
        f"SELECT delivery_day, count(*) FROM {spec.table.qualified_name} WHERE delivery_day IN (SELECT unnest(?)) GROUP BY 1",
        [list(days)],
    ).fetchall())
