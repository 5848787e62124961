"""Scoped snapshots: one read-only DuckDB file per audience holding only what the policy allows (pure: DuckDB, no
Dagster).

:func:`write_audience_snapshot` copies, inside DuckDB and streaming, from a connection to the warehouse into a new
file (:func:`flexpower_dagster.lib.dbfile.new_database_file`: temporary name, atomic rename, ``r--r--r--``):

* every table the audience is granted, with exactly its allowed columns (cast to their declared types; a declared
  column the warehouse lacks yet is NULL, a granted table the warehouse lacks yet is empty: the audience's reports
  always compile) and, for a scoped audience, only the rows its row filter keeps;
* ``everything`` (data-engineering): the whole database (``COPY FROM DATABASE``: every schema, table and view);
* ``snapshot.about`` (audience, scope, when, policy hash) and ``snapshot.tables`` (table, rows, columns, whether
  the warehouse had it).

Identifiers come from the policy (checked against the TableSpecs: plain names) and are quoted; the scope value (a
customer's e-mail) is a bound parameter, never SQL text.

A scope is the set of ``(delivery_day, contract_id, asset_id, email)`` of ``marts.contracts_in_force`` matching the
scoped audience (a customer: the contracts whose e-mail is theirs). Row filters keep a table's rows of the scope:
``asset`` the rows of the scope's assets on the days its contracts were in force, ``contract`` the rows of its
contracts, ``customer`` the rows addressed to its e-mail. Without ``marts.contracts_in_force`` the scope is empty,
so is every filtered table. The row filters are written once (:func:`scope_cte`, :func:`scoped_select`): a snapshot
reads one scope value through them, the customer statements (``defs/statements``) every customer of a month at once
(each row tagged with its customer), so a statement holds exactly what that customer's snapshot would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from flexpower_dagster.defs.crm.tables import CONTRACTS_IN_FORCE
from flexpower_dagster.defs.permissions.policy import ROW_FILTER_COLUMNS, Grant, Grantee, Policy
from flexpower_dagster.lib.dbfile import new_database_file, remove_abandoned
from flexpower_dagster.lib.sql import quote

#: Where a snapshot says what it is (schema of the snapshot file; never a warehouse schema).
META_SCHEMA = "snapshot"
SNAPSHOT_DIR = "snapshots"
_ALIAS = "audience_snapshot"

#: The value a scoped audience is named by, per scope kind, over ``marts.contracts_in_force`` (a customer: the
#: contract's e-mail, compared case-blind and trimmed).
SCOPE_KEYS = {
    "customer": "lower(trim(email))",
    "contract": "contract_id",
    "asset": "asset_id",
}
#: Row filters over the table aliased ``t``: the scope relation's keys (``k``, one row per scope value and key, so a
#: row is kept once per scope value however many contracts of that scope cover it) and the join condition.
_ROW_FILTERS = {
    "asset": ("SELECT DISTINCT scope_value, delivery_day, asset_id FROM scope",
              "k.delivery_day = t.delivery_day AND k.asset_id = t.asset_id"),
    "contract": ("SELECT DISTINCT scope_value, contract_id FROM scope", "k.contract_id = t.contract_id"),
    "customer": ("SELECT DISTINCT scope_value, lower(trim(email)) AS email_key FROM scope",
                 "k.email_key = lower(trim(t.email))"),
}


def snapshot_path(data_dir: str | Path, audience: str) -> Path:
    """``<data dir>/snapshots/<audience>.duckdb`` (internal audiences: their names are plain file names)."""
    return Path(data_dir) / SNAPSHOT_DIR / f"{audience}.duckdb"


@dataclass
class AudienceSnapshot:
    audience: str
    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)  # granted tables the warehouse did not have (written empty)
    bytes: int = 0
    seconds: float = 0.0


def existing_objects(conn: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Qualified table/view name -> its columns, in the database ``conn`` is connected to."""
    out: dict[str, set[str]] = {}
    for schema, table, column in conn.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database()"
    ).fetchall():
        out.setdefault(f"{schema}.{table}", set()).add(column)
    return out


def scope_cte(scope: str, existing: dict[str, set[str]], *, every: bool = False, window: bool = False) -> str:
    """The ``scope`` CTE (``delivery_day, contract_id, asset_id, email, scope_value``): the rows of
    ``marts.contracts_in_force`` of one scope value (the bound ``$scope``) or, ``every``, of every scope value at once
    (each row tagged with its own; rows without a key belong to nobody); ``window``: only the days in
    [``$first_day``, ``$end_day``). Without ``marts.contracts_in_force`` the scope is empty."""
    source = CONTRACTS_IN_FORCE.qualified_name
    if source not in existing:
        return ("scope AS (SELECT CAST(NULL AS DATE) AS delivery_day, CAST(NULL AS VARCHAR) AS contract_id, "
                "CAST(NULL AS VARCHAR) AS asset_id, CAST(NULL AS VARCHAR) AS email, "
                "CAST(NULL AS VARCHAR) AS scope_value WHERE false)")
    key = SCOPE_KEYS[scope]
    where = [f"{key} IS NOT NULL AND {key} <> ''" if every else f"{key} = $scope"]
    if window:
        where.append("delivery_day >= $first_day AND delivery_day < $end_day")
    return (f"scope AS (SELECT DISTINCT delivery_day, contract_id, asset_id, email, {key} AS scope_value FROM {source} "
            f"WHERE {' AND '.join(where)})")


def _select(grant: Grant, policy: Policy, have: set[str]) -> str:
    """The allowed columns, cast to their declared types; a declared column the warehouse lacks yet is NULL."""
    spec = policy.tables[grant.table]
    return ", ".join(
        f"CAST({'t.' + quote(name) if name in have else 'NULL'} AS {spec.column(name).type}) AS {quote(name)}"
        for name in grant.columns
    )


def scoped_select(grant: Grant, policy: Policy, existing: dict[str, set[str]], *, keyed: bool = False) -> str:
    """``SELECT`` of the granted table's allowed columns and, through its row filter, only the rows of the ``scope``
    CTE (:func:`scope_cte`, which the caller puts in front); ``keyed``: the first column is ``scope_value``, the
    scope value a row belongs to (a row of two scope values comes twice). A granted table the warehouse lacks yet is
    an empty relation of the declared types. The one implementation of the row filters: the snapshots and the
    customer statements both read through it."""
    spec = policy.tables[grant.table]
    key = "k.scope_value AS scope_value, " if keyed else ""
    if grant.table not in existing:
        nulls = ", ".join(f"CAST(NULL AS {spec.column(c).type}) AS {quote(c)}" for c in grant.columns)
        return f"SELECT {'CAST(NULL AS VARCHAR) AS scope_value, ' if keyed else ''}{nulls} WHERE false"
    have = existing[grant.table]
    if grant.rows is None:
        raise ValueError(f"{grant.table} has no row filter: it cannot be read for a scope")
    # a row filter's columns must be in the warehouse table: a filter over NULLs would keep nothing, but an absent
    # filter column is a schema the policy was not written for: refuse
    lacking = [c for c in ROW_FILTER_COLUMNS[grant.rows] if c not in have]
    if lacking:
        raise ValueError(f"{grant.table} in the warehouse has no {lacking}: cannot filter its rows by {grant.rows}")
    keys, on = _ROW_FILTERS[grant.rows]
    return (f"SELECT {key}{_select(grant, policy, have)} FROM {quote(grant.schema)}.{quote(grant.name)} AS t "
            f"JOIN ({keys}) AS k ON {on}")


def _copy_table(conn, alias: str, grant: Grant, grantee: Grantee, policy: Policy, existing) -> bool:
    """Create the granted table in the snapshot; False when the warehouse lacks it (then it is created empty)."""
    target = f"{alias}.{quote(grant.schema)}.{quote(grant.name)}"
    if grant.table not in existing:
        spec = policy.tables[grant.table]
        cols = ", ".join(f"{quote(c)} {spec.column(c).type}" for c in grant.columns)
        conn.execute(f"CREATE TABLE {target} ({cols})")
        return False
    if grantee.scope is None:
        sql = f"SELECT {_select(grant, policy, existing[grant.table])} FROM {quote(grant.schema)}.{quote(grant.name)} AS t"
        conn.execute(f"CREATE TABLE {target} AS {sql}")
        return True
    sql = f"WITH {scope_cte(grantee.scope, existing)} {scoped_select(grant, policy, existing)}"
    conn.execute(f"CREATE TABLE {target} AS {sql}", {"scope": grantee.scope_value})
    return True


def write_audience_snapshot(
    conn: duckdb.DuckDBPyConnection, policy: Policy, audience: str, target: str | Path, taken_at: datetime | None = None
) -> AudienceSnapshot:
    """Write the snapshot of ``audience`` (``trading``, ``customer:<e-mail>`` ...) from the warehouse ``conn`` reads
    into ``target`` (atomically replaced, read-only)."""
    started = time.monotonic()
    grantee = policy.resolve(audience)
    taken_at = taken_at or datetime.now(UTC).replace(tzinfo=None)
    result = AudienceSnapshot(grantee.name, Path(target))
    existing = existing_objects(conn)
    source = conn.execute("SELECT current_database()").fetchone()[0]
    with new_database_file(conn, target, _ALIAS) as alias:
        if grantee.audience.everything:
            conn.execute(f"COPY FROM DATABASE {quote(source)} TO {alias}")
            tables = sorted(existing)
        else:
            for schema in sorted({g.schema for g in grantee.audience.grants.values()}):
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {alias}.{quote(schema)}")
            tables = sorted(grantee.audience.grants)
            for table in tables:
                if not _copy_table(conn, alias, grantee.audience.grants[table], grantee, policy, existing):
                    result.absent.append(table)
        for table in tables:
            schema, name = table.split(".", 1)
            result.rows[table] = conn.execute(f"SELECT count(*) FROM {alias}.{quote(schema)}.{quote(name)}").fetchone()[0]
        _write_meta(conn, alias, grantee, policy, taken_at, result, existing)
    result.bytes = result.path.stat().st_size
    result.seconds = time.monotonic() - started
    return result


def _write_meta(conn, alias: str, grantee: Grantee, policy: Policy, taken_at: datetime, result: AudienceSnapshot,
                existing: dict[str, set[str]]) -> None:
    meta = f"{alias}.{quote(META_SCHEMA)}"
    conn.execute(f"CREATE SCHEMA {meta}")
    conn.execute(
        f"CREATE TABLE {meta}.about AS SELECT CAST($audience AS VARCHAR) AS audience, CAST($scope AS VARCHAR) AS scope, "
        "CAST($value AS VARCHAR) AS scope_value, CAST($taken AS TIMESTAMP) AS taken_at_utc, "
        "CAST($sha AS VARCHAR) AS policy_sha256",
        {"audience": grantee.name, "scope": grantee.scope, "value": grantee.scope_value, "taken": taken_at,
         "sha": policy.sha256},
    )
    tables = list(result.rows)
    frame = pd.DataFrame({
        "table_name": pd.Series(tables, dtype="object"),
        "n_rows": pd.Series([result.rows[t] for t in tables], dtype="int64"),
        "in_warehouse": pd.Series([t in existing for t in tables], dtype="bool"),
    })
    conn.register("__snapshot_tables", frame)
    try:
        conn.execute(f"CREATE TABLE {meta}.tables AS SELECT * FROM __snapshot_tables ORDER BY table_name")
    finally:
        conn.unregister("__snapshot_tables")


def write_internal_snapshots(
    conn: duckdb.DuckDBPyConnection, policy: Policy, data_dir: str | Path, taken_at: datetime | None = None
) -> list[AudienceSnapshot]:
    """``<data dir>/snapshots/<audience>.duckdb`` for every internal audience of the policy (one consistent
    ``taken_at``); files of audiences the policy no longer has, and temporary files of a writer that died, are
    removed (never left readable)."""
    taken_at = taken_at or datetime.now(UTC).replace(tzinfo=None)
    remove_abandoned(Path(data_dir) / SNAPSHOT_DIR)  # a killed run's half-written copies (of the whole warehouse, too)
    out = [write_audience_snapshot(conn, policy, a.name, snapshot_path(data_dir, a.name), taken_at)
           for a in policy.internal_audiences()]
    keep = {s.path.name for s in out}
    for stale in sorted((Path(data_dir) / SNAPSHOT_DIR).glob("*.duckdb")):
        if stale.name not in keep:
            stale.unlink()
    return out
