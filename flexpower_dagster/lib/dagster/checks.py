"""Data-quality gates: one ``multi_asset_check`` per staging asset and per mart (see docs/quality.md).

Each domain builds its assets' checks beside them (``build_suite_checks(SUITE)``). A check op reads the
asset's partition from the warehouse (and the partitions of the reference tables its suite declares),
runs the asset's GX suite once (see ``defs/<domain>/expectations.py``) and reports one Dagster asset
check per check group of the suite:
``blocking=True`` groups fail with severity ERROR (dependants in the same run are not executed),
``warn`` groups with severity WARN. Every expectation result is written to
``marts.data_quality_results`` and GX's validation JSON to ``<data_dir>/gx/<run id>/``.

Great Expectations is only imported when a check runs (``gx_runner.gx_context``), never when the
definitions are loaded.
"""

import warnings
from datetime import date

import dagster as dg
import pandas as pd

from flexpower_dagster.lib.dagster.lanes import WAREHOUSE_POOL
from flexpower_dagster.lib.dagster.partitions import daily_partitions, monthly_partitions
from flexpower_dagster.lib.dagster.resources import DataDir, Warehouse
from flexpower_dagster.lib.markdown import md_escape
from flexpower_dagster.lib.quality.gx_runner import BLOCKING, ExpectationResult, jsonable
from flexpower_dagster.lib.quality.results import result_rows, utc_now, write_gx_artefact, write_results
from flexpower_dagster.lib.quality.suites import Suite, SuiteResult, run_suite
from flexpower_dagster.lib.quality.views import Refs
from flexpower_dagster.lib.warehouse import ensure_table, read_partitions

_MAX_MD_ROWS = 25


def _partitions(suite: Suite):
    return monthly_partitions if suite.partition_column == "invoice_month" else daily_partitions


def _detail(suite: Suite, frame: pd.DataFrame) -> dict[str, str]:
    """Entity -> the suite's explaining column (e.g. contracts_in_force.problems), where it has one."""
    if suite.detail_column and suite.entity and suite.detail_column in frame.columns and suite.entity in frame.columns:
        return {k: v for k, v in zip(frame[suite.entity].astype(str), frame[suite.detail_column]) if v}
    return {}


def _whole_table(entities: dict) -> bool:
    """A coverage view over the whole table names its one entity ``all``: no entity to name."""
    return set(entities) <= {"all"}


def observations(suite: Suite, outcome, frame: pd.DataFrame) -> tuple[dict[str, list[str]], list[str]]:
    """What the check's failed expectations observed: per entity (asset, contract, ...) and for the whole table.

    An entity with an explaining column (``Suite.detail_column``) is described by it; otherwise by every
    failed expectation's observation of that entity's rows (lib/quality/observations.py)."""
    detail = _detail(suite, frame)
    per_entity: dict[str, list[str]] = {}
    whole: list[str] = []
    for r in outcome.failed:
        seen = r.entity_observations
        if seen and not _whole_table(seen):
            for ent, text in seen.items():
                per_entity.setdefault(ent, []).append(text)
        else:
            whole.append(r.observation or r.summary())
    for ent in per_entity:
        if ent in detail:
            per_entity[ent] = [str(detail[ent])]
    return per_entity, whole


def _description(suite: Suite, outcome, frame: pd.DataFrame) -> str:
    """The check result in words: a pass says so; a failure says what was observed against the limit,
    per entity (``SOL-DE-001: 10 of 96 QHs (10.4 %) ...; limit 5 %``), never only the rule."""
    if outcome.passed:
        return f"Passed: all {len(outcome.results)} expectations hold ({len(frame)} rows checked)."
    per_entity, whole = observations(suite, outcome, frame)
    parts = [f"{ent}: {'; '.join(texts)}" for ent, texts in sorted(per_entity.items())[:10]]
    if len(per_entity) > 10:
        parts.append(f"… and {len(per_entity) - 10} more {suite.entity or 'entities'}")
    return " | ".join(parts + whole)[:2000]


def _check_metadata(suite: Suite, outcome, frame: pd.DataFrame, partition_key: str, rows: int, artefact: str | None):
    failed: list[ExpectationResult] = outcome.failed
    md: dict = {
        "severity": outcome.severity,
        "partition": partition_key,
        "rows_checked": rows,
        "expectations": len(outcome.results),
        "failed_expectations": len(failed),
        "failing_rows": outcome.failing_rows,
    }
    if artefact:
        md["gx_result_file"] = dg.MetadataValue.path(artefact)
    if failed:
        md["failures"] = dg.MetadataValue.md(
            "| expectation | rule | observed | failing rows | entities |\n|---|---|---|---|---|\n"
            + "\n".join(
                f"| `{r.id}` | {md_escape(r.description)} | {md_escape(r.observation or r.summary())} | {r.failing_rows} | "
                f"{md_escape(', '.join(r.failing_entities[:10]))} |"
                for r in failed[:_MAX_MD_ROWS]
            )
        )
        per_entity, _ = observations(suite, outcome, frame)
        if per_entity:
            entity_name = suite.entity or "entity"
            md[f"failing_{entity_name}s"] = dg.MetadataValue.json(sorted(per_entity))
            md["failing_entities"] = dg.MetadataValue.md(
                f"| {entity_name} | observed |\n|---|---|\n"
                + "\n".join(
                    f"| {md_escape(ent)} | {md_escape('; '.join(texts))} |" for ent, texts in sorted(per_entity.items())[:_MAX_MD_ROWS]
                )
            )
        md["gx_validation"] = dg.MetadataValue.json(jsonable([dict(r.gx, id=r.id) for r in failed[:10]]))
    return md


def build_suite_checks(suite: Suite) -> dg.AssetChecksDefinition:
    """One multi-asset check op for ``suite``: one Dagster check per check group of the suite."""
    key = dg.AssetKey(list(suite.asset))
    parts = _partitions(suite)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # partitioned check specs are a Dagster preview feature
        specs = [
            dg.AssetCheckSpec(
                name,
                asset=key,
                blocking=severity == BLOCKING,
                description=suite.check_description(name),
                metadata={"severity": severity, "suite": suite.name},
                partitions_def=parts,
            )
            for name, severity in suite.checks.items()
        ]

    @dg.multi_asset_check(
        specs=specs,
        name=f"gx_{suite.asset[0]}_{suite.asset[1]}",
        description=f"Great Expectations suite of {suite.name}: {suite.description}".strip(),
        pool=WAREHOUSE_POOL,
    )
    def _gx_check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse, data_dir: DataDir):
        keys = context.partition_keys if context.has_partition_key_range else [context.partition_key]
        run_id = context.run.run_id
        checked_at = utc_now()
        per_check: dict[str, list] = {name: [] for name in suite.checks}
        last_frame = pd.DataFrame()
        total_rows = 0
        artefact = None
        for partition_key in keys:
            day = date.fromisoformat(partition_key)
            with warehouse.connect(log=context.log.info) as conn:
                if suite.load_partition:
                    frame = read_partitions(conn, suite.table, [day])
                    tables = {name: read_partitions(conn, spec, [day]) for name, spec in suite.reference_tables.items()}
                    if frame is None:
                        context.log.warning(f"{suite.table.qualified_name} does not exist yet: validating an empty partition")
                        frame = suite.table.empty_frame()
                    conn_for_views = None
                    if suite.needs_warehouse:  # failing-rows rules over other tables run where the data is
                        for spec in (*suite.reference_tables.values(), *suite.sql_tables):
                            ensure_table(conn, spec)
                        conn_for_views = conn
                    result: SuiteResult = run_suite(suite, frame, Refs(day=day, tables=tables, conn=conn_for_views))
                else:  # checked where the data is: the views reduce the day in the warehouse
                    for spec in (suite.table, *suite.reference_tables.values(), *suite.sql_tables):
                        ensure_table(conn, spec)
                    frame = suite.table.empty_frame()
                    result = run_suite(suite, frame, Refs(day=day, conn=conn))
            rel = write_gx_artefact(data_dir.path, run_id, result, partition_key, checked_at)
            artefact = str((data_dir.path / rel).resolve())  # absolute in the UI; relative to data_dir in the table
            rows = result_rows(result, day=day, partition_key=partition_key, run_id=run_id, checked_at=checked_at,
                               gx_result_path=str(rel))
            with warehouse.connect(log=context.log.info) as conn:
                write_results(conn, rows, checks=list(suite.checks))
            for name, outcome in result.checks().items():
                per_check[name].append(outcome)
                if not outcome.passed:
                    log = context.log.error if outcome.severity == BLOCKING else context.log.warning
                    log(f"{suite.name} [{partition_key}] check {name} ({outcome.severity}) failed: {_description(suite, outcome, frame)}")
            last_frame, total_rows = frame, total_rows + result.row_count
        for name, severity in suite.checks.items():
            outcomes = per_check[name]
            passed = all(o.passed for o in outcomes)
            outcome = outcomes[-1] if len(outcomes) == 1 else next((o for o in outcomes if not o.passed), outcomes[-1])
            md = _check_metadata(suite, outcome, last_frame, ",".join(keys) if len(keys) <= 3 else f"{keys[0]}..{keys[-1]}",
                                 total_rows, artefact)
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=name,
                passed=passed,
                severity=dg.AssetCheckSeverity.ERROR if severity == BLOCKING else dg.AssetCheckSeverity.WARN,
                metadata=md,
                description=_description(suite, outcome, last_frame),
            )

    return _gx_check
