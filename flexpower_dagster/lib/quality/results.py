"""Where check results go (pure: DuckDB and files, no Dagster, no GX).

* ``marts.data_quality_results`` — one row per (delivery_day, asset, check, expectation) of the
  latest run; a re-run replaces the rows of the same (delivery_day, asset, check). Monthly assets
  use the month's first day as ``delivery_day``.
* ``marts.data_quality_checks`` — a view with one row per (delivery_day, asset, check): what the
  Dagster check reported.
* ``<data_dir>/gx/<run id>/<schema>.<table>/<partition>.json`` — GX's own validation results
  (trimmed lists) for a data engineer to open.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from flexpower_dagster.lib.quality.gx_runner import jsonable, results_json
from flexpower_dagster.lib.tables import Column, TableSpec

DATA_QUALITY_RESULTS = TableSpec(
    schema="marts",
    name="data_quality_results",
    description=(
        "Every data-quality expectation evaluated by the asset checks, per delivery day, asset and check "
        "(latest run; re-runs replace). Monthly assets use the month's first day as delivery_day."
    ),
    columns=(
        Column("delivery_day", "DATE", "Delivery day checked (first day of the month for monthly assets)", nullable=False),
        Column("partition_key", "VARCHAR", "Dagster partition key checked"),
        Column("asset_key", "VARCHAR", "Asset checked, e.g. staging/crm_contracts", nullable=False),
        Column("check_name", "VARCHAR", "Dagster asset check, e.g. contract_consistency", nullable=False),
        Column("expectation", "VARCHAR", "Expectation id within the suite", nullable=False),
        Column("expectation_type", "VARCHAR", "GX expectation class"),
        Column("severity", "VARCHAR", "blocking (stops dependants in the run) or warn"),
        Column("passed", "BOOLEAN", "The expectation passed"),
        Column("check_passed", "BOOLEAN", "The whole check passed (all its expectations)"),
        Column("failing_rows", "BIGINT", "Rows (or entities of a derived view) that failed; 1 for a failed table-level expectation"),
        Column("rows_checked", "BIGINT", "Rows of the asset's partition"),
        Column("failing_entities", "VARCHAR", "Failing asset / contract / trade ids (', '-separated, first 50)"),
        Column("description", "VARCHAR", "What the expectation demands"),
        Column("details", "VARCHAR", "Readable result: counts, entities, examples, errors"),
        Column("run_id", "VARCHAR", "Dagster run that evaluated it"),
        Column("checked_at", "TIMESTAMP", "When (UTC)"),
        Column("gx_result_path", "VARCHAR", "GX validation result JSON, relative to the data directory"),
    ),
    key=("delivery_day", "asset_key", "check_name", "expectation"),
)

CHECKS_VIEW = "marts.data_quality_checks"
_CHECKS_VIEW_SQL = f"""
CREATE OR REPLACE VIEW {CHECKS_VIEW} AS
SELECT delivery_day, partition_key, asset_key, check_name, any_value(severity) AS severity,
       bool_and(passed) AS passed, sum(failing_rows) FILTER (WHERE NOT passed) AS failing_rows,
       max(rows_checked) AS rows_checked,
       string_agg(DISTINCT failing_entities, ', ') FILTER (WHERE NOT passed AND failing_entities <> '') AS failing_entities,
       string_agg(details, ' | ' ORDER BY expectation) FILTER (WHERE NOT passed) AS details,
       count(*) AS expectations, count(*) FILTER (WHERE NOT passed) AS failed_expectations,
       any_value(run_id) AS run_id, max(checked_at) AS checked_at, any_value(gx_result_path) AS gx_result_path
FROM {DATA_QUALITY_RESULTS.qualified_name}
GROUP BY ALL
"""
#: Marks the view's definition (its comment): the view is replaced only when missing or defined otherwise, so a
#: check's write changes no catalog entry (on DuckLake, several runs writing results at once would conflict over
#: a view each of them drops and creates).
_CHECKS_VIEW_VERSION = hashlib.sha256(_CHECKS_VIEW_SQL.encode()).hexdigest()[:16]


def ensure_checks_view(conn: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace an outdated) :data:`CHECKS_VIEW`."""
    schema, name = CHECKS_VIEW.split(".")
    row = conn.execute(
        "SELECT comment FROM duckdb_views() WHERE database_name = current_database() AND schema_name = ? AND view_name = ?",
        [schema, name],
    ).fetchone()
    if row is None or row[0] != _CHECKS_VIEW_VERSION:
        conn.execute(_CHECKS_VIEW_SQL)
        conn.execute(f"COMMENT ON VIEW {CHECKS_VIEW} IS '{_CHECKS_VIEW_VERSION}'")  # hex digits: a constant


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def result_rows(suite_result, *, day: date, partition_key: str, run_id: str, checked_at: datetime,
                gx_result_path: str | None) -> pd.DataFrame:
    """The ``marts.data_quality_results`` rows of one suite result (one row per expectation)."""
    check_passed = {name: c.passed for name, c in suite_result.checks().items()}
    rs = suite_result.results
    frame = pd.DataFrame(
        {
            "delivery_day": [pd.Timestamp(day)] * len(rs),
            "partition_key": [partition_key] * len(rs),
            "asset_key": ["/".join(suite_result.suite.asset)] * len(rs),
            "check_name": [r.check for r in rs],
            "expectation": [r.id for r in rs],
            "expectation_type": [r.type for r in rs],
            "severity": [r.severity for r in rs],
            "passed": [r.passed for r in rs],
            "check_passed": [check_passed[r.check] for r in rs],
            "failing_rows": [r.failing_rows for r in rs],
            "rows_checked": [suite_result.row_count] * len(rs),
            "failing_entities": [", ".join(r.failing_entities) for r in rs],
            "description": [r.description for r in rs],
            "details": [r.summary() for r in rs],
            "run_id": [run_id] * len(rs),
            "checked_at": [checked_at] * len(rs),
            "gx_result_path": [gx_result_path] * len(rs),
        }
    )
    return DATA_QUALITY_RESULTS.conform(frame)


def write_results(conn: duckdb.DuckDBPyConnection, rows: pd.DataFrame, checks: Sequence[str] | None = None) -> None:
    """Replace the rows of the same (delivery_day, asset_key, check_name) with ``rows`` in one transaction.

    ``checks`` lists the checks evaluated (default: those in ``rows``), so a check whose expectations
    changed never leaves stale rows behind.
    """
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {DATA_QUALITY_RESULTS.schema}")
    conn.execute(DATA_QUALITY_RESULTS.ddl())
    ensure_checks_view(conn)
    if not len(rows):
        return
    keys = rows.loc[:, ["delivery_day", "asset_key"]].drop_duplicates()
    names = list(checks) if checks is not None else sorted(rows["check_name"].unique())
    frame = rows  # noqa: F841  (scanned by DuckDB)
    conn.execute("BEGIN TRANSACTION")
    try:
        for day, asset in keys.itertuples(index=False):  # one (day, asset) per suite run: a handful at most
            conn.execute(
                f"DELETE FROM {DATA_QUALITY_RESULTS.qualified_name} WHERE delivery_day = ? AND asset_key = ? "
                "AND list_contains(?, check_name)",
                [pd.Timestamp(day).date(), asset, names],
            )
        conn.execute(f"INSERT INTO {DATA_QUALITY_RESULTS.qualified_name} BY NAME SELECT * FROM frame")
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # a failed ROLLBACK must not hide why the write failed
            conn.execute("ROLLBACK")
        raise


def write_gx_artefact(data_dir: Path, run_id: str, suite_result, partition_key: str, checked_at: datetime) -> Path:
    """Write GX's validation results of one suite run as JSON; returns the path relative to ``data_dir``."""
    suite = suite_result.suite
    rel = Path("gx") / (run_id or "no-run") / suite.name / f"{partition_key}.json"
    path = Path(data_dir) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    stats = {
        "evaluated_expectations": len(suite_result.results),
        "successful_expectations": sum(r.passed for r in suite_result.results),
        "unsuccessful_expectations": sum(not r.passed for r in suite_result.results),
    }
    doc = {
        "suite": suite.name,
        "partition_key": partition_key,
        "run_id": run_id,
        "checked_at": checked_at.isoformat(),
        "rows_checked": suite_result.row_count,
        "success": suite_result.passed,
        "statistics": stats,
        "checks": {n: {"severity": c.severity, "passed": c.passed} for n, c in suite_result.checks().items()},
        "summary": [r.to_dict() for r in suite_result.results],
        "results": results_json(suite_result.results),
    }
    path.write_text(json.dumps(jsonable(doc), indent=1, default=str))
    return rel
