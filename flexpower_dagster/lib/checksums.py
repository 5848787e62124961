"""Checksums of warehouse tables, per column: proof that a refactor or a speed-up left every figure as it was.

:func:`table_checksums` returns, for every table of a schema, its row count and one MD5 per column over
the column's values in a canonical row order. Values are normalised first, so that a change in the
order of a floating-point sum (a different SQL plan) does not count as a change while any change of a
figure does:

* DOUBLE / DECIMAL: rounded to 6 decimals (below a kWh, far below a cent) and printed with a fixed
  format, ``-0`` folded into ``0``;
* everything else: its text form; NULL is ``∅``.

The row order is every compared column's normalised value, in the column order of the *reference*
(``order_by``): a column added later (a new feature) does not change the digests of the others, and it
is reported as new, not as a difference. Columns that carry run metadata (who ran it, when) are left out
(:data:`VOLATILE_COLUMNS`). Pure module: DuckDB only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb

#: Columns whose values differ between two runs of the same data (run ids, wall-clock times, paths).
VOLATILE_COLUMNS = frozenset({"run_id", "checked_at", "seen_at", "gx_result_path", "generated_at", "built_at"})
NULL_TOKEN = "∅"
DECIMALS = 6


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _normalised(column: str, data_type: str) -> str:
    q = _quote(column)
    if data_type in ("DOUBLE", "FLOAT", "REAL") or data_type.startswith("DECIMAL"):
        value = f"printf('%.{DECIMALS}f', round(CAST({q} AS DOUBLE), {DECIMALS}) + 0.0)"
    else:
        value = f"CAST({q} AS VARCHAR)"
    return f"coalesce({value}, '{NULL_TOKEN}')"


def table_columns(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def checksum_table(
    conn: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    order_by: Sequence[str] | None = None,
    exclude: Iterable[str] = VOLATILE_COLUMNS,
) -> dict:
    """``{"rows": n, "columns": {column: md5}}`` of ``schema.table`` (see module docstring)."""
    skip = set(exclude)
    columns = [(c, t) for c, t in table_columns(conn, schema, table) if c not in skip]
    types = dict(columns)
    order = [c for c in (order_by or [c for c, _ in columns]) if c in types]
    order += [c for c, _ in columns if c not in order]
    norm = {c: _normalised(c, t) for c, t in columns}
    order_sql = ", ".join(norm[c] for c in order) or "1"
    parts = ", ".join(f"md5(coalesce(string_agg({norm[c]}, chr(31) ORDER BY {order_sql}), ''))" for c in order)
    row = conn.execute(f"SELECT count(*){', ' + parts if parts else ''} FROM {schema}.{_quote(table)}").fetchone()
    return {"rows": int(row[0]), "columns": dict(zip(order, row[1:], strict=True))}


def schema_checksums(
    conn: duckdb.DuckDBPyConnection,
    schema: str = "marts",
    reference: Mapping[str, dict] | None = None,
    exclude_tables: Iterable[str] = (),
) -> dict[str, dict]:
    """Checksums of every base table of ``schema`` (views are derived and left out).

    With a ``reference`` (an earlier result), each table is ordered by the reference's columns, so the
    two results are comparable column by column.
    """
    skip = set(exclude_tables)
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' "
            "ORDER BY table_name",
            [schema],
        ).fetchall()
        if r[0] not in skip
    ]
    ref = reference or {}
    return {t: checksum_table(conn, schema, t, order_by=list(ref.get(t, {}).get("columns", {})) or None) for t in tables}


@dataclass
class Comparison:
    """Differences between a reference and a new set of checksums."""

    changed: list[str] = field(default_factory=list)  # "table.column" (or "table: rows a -> b")
    missing_tables: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    new_tables: list[str] = field(default_factory=list)
    new_columns: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Every reference table and column is present with the same values (additions allowed)."""
        return not (self.changed or self.missing_tables or self.missing_columns)

    def report(self) -> str:
        lines = []
        for title, items in (
            ("changed", self.changed),
            ("missing tables", self.missing_tables),
            ("missing columns", self.missing_columns),
            ("new tables (not compared)", self.new_tables),
            ("new columns (not compared)", self.new_columns),
        ):
            if items:
                lines.append(f"{title}: {', '.join(items)}")
        return "\n".join(lines) or "identical"


def compare(reference: Mapping[str, dict], current: Mapping[str, dict]) -> Comparison:
    out = Comparison()
    for table, ref in reference.items():
        cur = current.get(table)
        if cur is None:
            out.missing_tables.append(table)
            continue
        if cur["rows"] != ref["rows"]:
            out.changed.append(f"{table}: rows {ref['rows']} -> {cur['rows']}")
        for column, digest in ref["columns"].items():
            if column not in cur["columns"]:
                out.missing_columns.append(f"{table}.{column}")
            elif cur["columns"][column] != digest:
                out.changed.append(f"{table}.{column}")
        out.new_columns += [f"{table}.{c}" for c in cur["columns"] if c not in ref["columns"]]
    out.new_tables = [t for t in current if t not in reference]
    return out
