"""Generic derived frames ("views") that data-quality suites validate besides a partition's rows (pure
pandas: no Dagster, no GX).

A view is a function ``(frame, refs) -> DataFrame``: ``frame`` is the checked partition, ``refs`` the
partition's key and the reference tables the suite asked for (:class:`Refs`). Domain-specific views
(e.g. a row's contract capacity) live in their domain; these know nothing of any domain.

Tables that grow with assets x versions (a 1,000-asset day holds ~14 million forecast rows) are never
pulled into pandas: their suites set ``suite(..., load_partition=False)`` and use *SQL views*
(:class:`SqlView`) that the warehouse reduces to one row per entity (asset) before GX sees them, and
failing-rows rules (``structure_sql``); ``refs.conn`` is then the warehouse connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from flexpower_dagster.lib.sql import day_params


@dataclass(frozen=True)
class Refs:
    """What a suite's views may use besides the partition: its day, the partitions of the reference
    tables the suite declares (``Suite.reference_tables``), e.g. ``tables["contracts"]``, and — for SQL
    views — a connection to the warehouse (or to an in-memory copy holding the same tables, in tests)."""

    day: date | None = None
    tables: Mapping[str, pd.DataFrame | None] = field(default_factory=dict)
    conn: Any = None  # duckdb.DuckDBPyConnection

    def table(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    def query(self, sql: str) -> pd.DataFrame:
        """``sql`` in the warehouse with the day's parameters (``$day``, ``$day_start``, ``$day_end``; those
        the statement does not use are left out)."""
        if self.conn is None or self.day is None:
            raise ValueError("a SQL view needs the warehouse connection and the day")
        params = {k: v for k, v in day_params(self.day).items() if f"${k}" in sql}
        return self.conn.execute(sql, params).fetchdf()


@dataclass(frozen=True)
class SqlView:
    """A view computed in the warehouse: ``sql`` (parameters ``$day``, ``$day_start``, ``$day_end``) reduces
    the day's rows to a small frame, e.g. one row per asset with its extremes and counts. ``tables``: the
    tables it reads besides the suite's own and its reference tables (the check op makes sure they exist; a
    test without a warehouse gets them, from ``Refs.tables`` by qualified name or empty, in memory)."""

    sql: str
    tables: tuple = ()  # TableSpec

    def __call__(self, frame: pd.DataFrame, refs: Refs) -> pd.DataFrame:
        return refs.query(self.sql)


def _type_family(s: pd.Series) -> str:
    """The DuckDB type family a pandas column holds: DATE/TIMESTAMP, DOUBLE, BIGINT, BOOLEAN, VARCHAR or other."""
    dt = s.dtype
    if isinstance(dt, pd.BooleanDtype) or dt.kind == "b":
        return "BOOLEAN"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "TIMESTAMP"
    if pd.api.types.is_integer_dtype(dt):
        return "BIGINT"
    if pd.api.types.is_float_dtype(dt):
        return "DOUBLE"
    if isinstance(dt, pd.StringDtype):
        return "VARCHAR"
    if dt.kind == "O":
        kinds = set(s.dropna().map(type).unique())
        if not kinds or kinds <= {str}:
            return "VARCHAR"
        if kinds <= {bool, np.bool_}:
            return "BOOLEAN"
        return "object(" + ",".join(sorted(k.__name__ for k in kinds)) + ")"
    return str(dt)


_FAMILY = {"DATE": "TIMESTAMP", "TIMESTAMP": "TIMESTAMP", "DOUBLE": "DOUBLE", "BIGINT": "BIGINT", "INTEGER": "BIGINT",
           "BOOLEAN": "BOOLEAN", "VARCHAR": "VARCHAR"}


def column_types(frame: pd.DataFrame, refs: Refs, *, table) -> pd.DataFrame:
    """One row per declared column: ``column``, ``declared``, ``observed`` family, ``_type_ok``.

    A declared column missing from the frame is not a type error (the column-set expectation reports
    it); an all-NULL object column counts as any type. DATE is stored as a midnight timestamp.
    """
    rows = []
    for c in table.columns:
        if c.name not in frame.columns:
            continue
        s = frame[c.name]
        observed = _type_family(s)
        ok = observed == _FAMILY[c.type] or (s.dtype.kind == "O" and s.isna().all())
        if ok and c.type == "DATE" and len(s.dropna()):
            ok = bool(pd.to_datetime(s.dropna()).eq(pd.to_datetime(s.dropna()).dt.normalize()).all())
            observed = observed if ok else "TIMESTAMP (not at midnight)"
        rows.append({"column": c.name, "declared": c.type, "observed": observed, "_type_ok": bool(ok)})
    return pd.DataFrame(rows, columns=["column", "declared", "observed", "_type_ok"])


def qh_coverage(
    frame: pd.DataFrame,
    refs: Refs,
    *,
    entity: str | None = "asset_id",
    time_column: str = "delivery_start",
    expected: Callable[[Refs], set[str] | None] | None = None,
    add_missing: bool = True,
) -> pd.DataFrame:
    """One row per entity with the number of distinct quarter-hours it has on the day.

    ``expected(refs)`` names the entities that belong to the day (e.g. the portfolio of the day; None
    when that is unknown). With ``add_missing`` an expected entity without any row shows up with
    ``n_qh = 0``; otherwise only entities in the frame are listed. ``entity=None``: a single row for
    the whole table (``scope`` = ``'all'``). Columns: entity, ``n_qh``, ``in_expected``, ``n_rows``.
    """
    name = entity or "scope"
    if entity is None:
        n = frame[time_column].nunique() if time_column in frame else 0
        return pd.DataFrame({name: ["all"], "n_qh": [int(n)], "in_expected": [True], "n_rows": [len(frame)]})
    if len(frame):
        t = pd.to_datetime(frame[time_column]).dt.floor("15min")
        counts = (
            frame.assign(_qh=t).groupby(entity, dropna=False).agg(n_qh=("_qh", "nunique"), n_rows=("_qh", "size")).reset_index()
        )
    else:
        counts = pd.DataFrame({entity: pd.Series([], dtype="object"), "n_qh": pd.Series([], dtype="int64"), "n_rows": pd.Series([], dtype="int64")})
    wanted = (expected(refs) if expected is not None else None) or set()
    if add_missing and wanted:
        missing = sorted(wanted - set(counts[entity].dropna()))
        counts = pd.concat(
            [counts, pd.DataFrame({entity: missing, "n_qh": [0] * len(missing), "n_rows": [0] * len(missing)})], ignore_index=True
        )
    counts["in_expected"] = counts[entity].isin(wanted)
    counts["n_qh"] = counts["n_qh"].astype("int64")
    counts["n_rows"] = counts["n_rows"].astype("int64")
    return counts.sort_values(entity, kind="stable").reset_index(drop=True)


def snapshot_age(frame: pd.DataFrame, refs: Refs, *, column: str = "snapshot_created_at") -> pd.DataFrame:
    """One row per snapshot file: its age in days at the start of the delivery day (negative = newer)."""
    if not len(frame) or column not in frame:
        return pd.DataFrame({"source_file": pd.Series([], dtype="object"), "_age_days": pd.Series([], dtype="float64")})
    g = frame.groupby("source_file", dropna=False)[column].max().reset_index()
    day = pd.Timestamp(refs.day) if refs.day is not None else pd.to_datetime(frame["delivery_day"]).max()
    g["_age_days"] = (day - pd.to_datetime(g[column])).dt.total_seconds() / 86400.0
    return g
