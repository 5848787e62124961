"""Dagster wiring of the operations layer (rules in :mod:`.deadlines`, :mod:`.alerts`, :mod:`.delivery`).

* ``marts/alerts``: one evaluation of everything that needs a person — late sources, failed runs, failed
  data-quality checks, blocked invoices — reconciled with the stored alerts (one row per cause, listing its
  days), the openings and resolutions delivered to the operations outbox and the optional webhook.
* ``alerts_job`` runs it; ``alerts_sensor`` requests it every 15 minutes (deadlines pass with the clock, not
  with a file), ``run_failure_alert_sensor`` right after any run fails. ``make run`` runs it after the days
  and months and prints the open alerts.
"""


import time
from collections import Counter
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from flexpower_dagster.defs.ops import alerts as al
from flexpower_dagster.defs.ops.deadlines import evaluated_days, late_sources, silent_since
from flexpower_dagster.defs.ops.delivery import payload, post_webhook, write_outbox
from flexpower_dagster.defs.ops.runs import run_failure_findings
from flexpower_dagster.lib.dagster.jobs import ALERTS_JOB, REPORT_JOB, alerts_job
from flexpower_dagster.lib.dagster.lanes import WAREHOUSE_POOL
from flexpower_dagster.lib.dagster.limits import limited
from flexpower_dagster.lib.dagster.metadata import TABLE_NAME_KEY, quantities, table_metadata
from flexpower_dagster.lib.dagster.resources import Alerting, DataDir, Warehouse
from flexpower_dagster.lib.dagster.sensors import FOLLOW_UP_PRIORITY, PRIORITY_TAG
from flexpower_dagster.lib.markdown import md_table

#: How often the deadlines are evaluated when nothing else happens.
EVALUATE_EVERY_SECONDS = 15 * 60


def evaluate(conn, instance: dg.DagsterInstance | None, now: datetime) -> list[al.Finding]:
    """Every current finding: late data, failed runs (from the Dagster instance), data quality, invoices."""
    days = evaluated_days(conn)  # one scan of the staging tables for both questions
    late = late_sources(conn, now, days)
    findings = al.late_data_findings(late, silent_since(conn, now, days), now)
    if instance is not None:
        findings += run_failure_findings(instance, ignore_jobs=(ALERTS_JOB,))
    findings += al.data_quality_findings(conn, late)
    findings += al.blocked_invoice_findings(conn)
    return findings


@dg.asset(
    key=["marts", "alerts"],
    pool=WAREHOUSE_POOL,
    group_name="marts_operations",
    kinds={"duckdb", "python"},
    description=(
        "What needs a person now, one row per cause (marts.alerts) with the days or months it covers: late source "
        "files per source and asset against the arrival deadlines, failed runs per job and step with their run id, "
        "failed data-quality checks per asset and check, blocked invoices per contract. Opens once, takes in new "
        "days in place, resolves itself when the cause is gone; each opening and resolution goes to the operations "
        "outbox (data/outbox/operations/) and the optional webhook. "
        "Deadlines, limits and alerts: docs/operations.md."
    ),
    metadata=table_metadata(al.ALERTS),
)
@limited("operations")
def marts_alerts(context: dg.AssetExecutionContext, warehouse: Warehouse, data_dir: DataDir, alerting: Alerting) -> dg.MaterializeResult:
    now = alerting.clock()
    with warehouse.connect(log=context.log.info) as conn:
        findings = evaluate(conn, context.instance, now)
        rows, changes = al.reconcile(al.read_alerts(conn), findings, now)
        al.write_alerts(conn, rows)
    transitions = [t for t in changes if t.change in al.DELIVERED]  # a new day of an open cause: no message
    written = write_outbox(data_dir.path, transitions, now, to=alerting.email, ui_url=alerting.ui_url)
    webhook_error = None
    if alerting.webhook_url and transitions:
        webhook_error = post_webhook(alerting.webhook_url, payload(transitions, alerting.ui_url))
        if webhook_error:
            context.log.warning(f"alert webhook not delivered ({webhook_error}); the table and the outbox have the alerts")
    open_rows = [r for r in rows if r["status"] == "open"]
    for t in changes:
        log = context.log.warning if t.change in ("opened", "reopened") else context.log.info
        log(f"alert {t.change}: {t.alert['title']}: {t.alert['message']}")
    by_kind = Counter(str(r["kind"]) for r in open_rows)
    frame = pd.DataFrame(open_rows, columns=["severity", "kind", "title", "n_covered"]) if open_rows else None
    return dg.MaterializeResult(
        metadata={
            TABLE_NAME_KEY: al.ALERTS.qualified_name,
            **quantities({
                "open_count": len(open_rows),
                "opened_count": sum(t.change in ("opened", "reopened") for t in transitions),
                "resolved_count": sum(t.change == "resolved" for t in transitions),
                "updated_count": sum(t.change == "updated" for t in changes),
                **{f"open_{k}_count": by_kind.get(k, 0) for k in al.KINDS},
                "outbox_files_count": len(written),
            }),
            "evaluated_at": dg.MetadataValue.text(f"{now:%Y-%m-%d %H:%M} UTC"),
            "webhook": dg.MetadataValue.text(_webhook_status(alerting.webhook_url, len(transitions), webhook_error)),
            "open_alerts": dg.MetadataValue.md(md_table(frame, max_rows=50) if frame is not None else "_none_"),
        }
    )


def _webhook_status(url: str | None, n_transitions: int, error: str | None) -> str:
    if not url:
        return "not configured"
    if not n_transitions:
        return "nothing to send"
    return error or f"delivered {n_transitions}"


#: Runs that do not change what the alerts read (the alert evaluation itself, the report site).
_NOT_DATA_JOBS = frozenset({ALERTS_JOB, REPORT_JOB})
_NOT_DATA_ASSETS = frozenset({"report_site", "warehouse_snapshot", "marts/alerts"})


def alerts_due(*, evaluated_at: float | None, last_data_run_at: float | None, clock_moves: bool, slot_passed: bool) -> str | None:
    """Why the alerts should be evaluated now, or None when nothing they read can have changed (pure).

    Data changed (a run of the marts or staging finished after the last evaluation), or the clock moved past a
    15-minute slot (arrival deadlines pass with the clock); a replay with a fixed clock (``FLEXPOWER_NOW``) only
    on data changes. So a quiet platform, e.g. `make dev` after `make run`, requests no run."""
    if evaluated_at is None:
        return "never evaluated"
    if last_data_run_at is not None and last_data_run_at > evaluated_at:
        return "data changed since the last evaluation"
    if clock_moves and slot_passed:
        return "a new 15-minute slot: deadlines pass with the clock"
    return None


def _last_data_run_end(instance: dg.DagsterInstance) -> float | None:
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]), limit=50
    )
    for r in records:
        run = r.dagster_run
        if run.job_name in _NOT_DATA_JOBS:
            continue
        selected = {k.to_user_string() for k in run.asset_selection or ()}
        if selected and selected <= _NOT_DATA_ASSETS:
            continue
        return r.end_time
    return None


@dg.sensor(
    name="alerts_sensor",
    job=alerts_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Evaluates the alerts (marts/alerts) when data changed since the last evaluation or the clock passed a "
        "15-minute slot (arrival deadlines pass with the clock, not with a file); nothing while the platform is "
        "quiet. Queued behind people's runs."
    ),
)
def alerts_sensor(context: dg.SensorEvaluationContext, alerting: Alerting) -> dg.RunRequest | dg.SkipReason:
    slot = int(time.time() // EVALUATE_EVERY_SECONDS)
    latest = context.instance.get_latest_materialization_event(dg.AssetKey(["marts", "alerts"]))
    why = alerts_due(
        evaluated_at=latest.timestamp if latest is not None else None,
        last_data_run_at=_last_data_run_end(context.instance),
        clock_moves=alerting.now is None,
        slot_passed=context.cursor != str(slot),
    )
    context.update_cursor(str(slot))
    if why is None:
        return dg.SkipReason("nothing changed since the last alert evaluation")
    started = datetime.fromtimestamp(slot * EVALUATE_EVERY_SECONDS, UTC)
    return dg.RunRequest(
        run_key=f"alerts-{slot}-{int(time.time())}",
        tags={"flexpower/origin": "sensor", "flexpower/slot": f"{started:%Y-%m-%dT%H:%MZ}", "flexpower/why": why,
              PRIORITY_TAG: FOLLOW_UP_PRIORITY},
    )


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    request_job=alerts_job,
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When a run fails, evaluates the alerts at once: one run_failure alert names the run and the failing step.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> dg.RunRequest | dg.SkipReason:
    run = context.dagster_run
    if run.job_name == ALERTS_JOB:
        return dg.SkipReason("the alert evaluation itself failed: see its run (no alert loop)")
    return dg.RunRequest(run_key=f"alerts-after-{run.run_id}", tags={"flexpower/origin": "sensor", "flexpower/failed_run": run.run_id})
