"""Alerts: what needs a person, one open alert per key, opened and resolved by the data (pure: no Dagster).

A *finding* is something that needs a person now: a late source (:mod:`.deadlines`), a failed run
(``runs.py``), a blocked invoice, a failed data-quality check. Each has a stable ``alert_key`` (kind +
what + which day/month/entity). :func:`reconcile` compares the findings of one evaluation with the stored
alerts (``marts.alerts``, one row per key):

* a new key opens an alert (transition ``opened``);
* a key already open is updated in place (last seen, message) — repeated evaluations never add rows;
* an open key that is no longer found is resolved (``resolved``): the file arrived, the run succeeded, the
  contract was fixed;
* a resolved key found again is reopened (``reopened``, ``occurrences`` + 1).

Transitions are what gets delivered (e-mail to the operations outbox, webhook): one message when an alert
opens and one when it resolves, never one per evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import pandas as pd

from flexpower_dagster.defs.ops.deadlines import DEADLINES, Late
from flexpower_dagster.defs.ops.tables import ALERTS
from flexpower_dagster.lib.warehouse import read_partitions, replace_partitions, table_exists

KINDS = ("late_data", "run_failure", "data_quality", "blocked_invoice")
SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Finding:
    alert_key: str
    kind: str
    severity: str
    entity: str
    source: str
    message: str
    action: str
    delivery_day: date | None = None
    invoice_month: date | None = None
    link: str | None = None
    since: datetime | None = None
    details: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")


@dataclass(frozen=True)
class Transition:
    """An alert that opened, reopened or resolved in one evaluation (what gets delivered)."""

    change: str  # opened, reopened, resolved
    alert: Mapping[str, object]


def reconcile(existing: Sequence[Mapping[str, object]], findings: Iterable[Finding], now: datetime) -> tuple[list[dict], list[Transition]]:
    """The new state of the alerts table and its transitions (see the module docstring)."""
    rows = {str(r["alert_key"]): dict(r) for r in existing}
    seen: set[str] = set()
    transitions: list[Transition] = []
    for f in findings:
        if f.alert_key in seen:
            continue  # one alert per key, whatever produced it twice
        seen.add(f.alert_key)
        fresh = {
            "alert_key": f.alert_key, "kind": f.kind, "severity": f.severity, "delivery_day": f.delivery_day,
            "invoice_month": f.invoice_month, "entity": f.entity, "source": f.source, "message": f.message,
            "action": f.action, "link": f.link, "details": json.dumps(dict(f.details), sort_keys=True, default=str),
            "since": f.since, "last_seen_at": now,
        }
        old = rows.get(f.alert_key)
        if old is None:
            rows[f.alert_key] = {**fresh, "status": "open", "opened_at": now, "resolved_at": None, "occurrences": 1}
            transitions.append(Transition("opened", rows[f.alert_key]))
        elif old.get("status") == "resolved":
            rows[f.alert_key] = {**old, **fresh, "status": "open", "opened_at": now, "resolved_at": None,
                                 "occurrences": int(old.get("occurrences") or 1) + 1}
            transitions.append(Transition("reopened", rows[f.alert_key]))
        else:
            rows[f.alert_key] = {**old, **fresh}
    for key, row in rows.items():
        if key not in seen and row.get("status") == "open":
            row.update(status="resolved", resolved_at=now)
            transitions.append(Transition("resolved", row))
    ordered = sorted(rows.values(), key=lambda r: (r["status"] != "open", str(r["kind"]), str(r["alert_key"])))
    return ordered, transitions


def alerts_frame(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    return ALERTS.conform(pd.DataFrame(list(rows), columns=ALERTS.column_names)) if rows else ALERTS.empty_frame()


# ---- findings from the warehouse ------------------------------------------------------------------------


def late_data_findings(late: Iterable[Late], silent_since: date | None, now: datetime) -> list[Finding]:
    out = []
    for item in late:
        d = item.deadline
        what = f"{d.table} of {item.delivery_day}" + ("" if item.entity == "portfolio" else f" for asset {item.entity}")
        hours = (now - item.due_at).total_seconds() / 3600
        out.append(Finding(
            alert_key=f"late_data:{d.table}:{item.delivery_day}:{item.entity}",
            kind="late_data", severity=d.severity, entity=item.entity, source=f"staging/{d.table}",
            delivery_day=item.delivery_day, since=item.due_at,
            message=f"Late: {what} was due {d.rule} ({item.due_at:%Y-%m-%d %H:%M} UTC), {hours:.0f} h ago; not in the warehouse.",
            action=(f"Ask the {d.system.upper()} side for the file (or check the landing zone and the "
                    f"{d.system}_files_sensor); the alert resolves when the rows are loaded."),
            details={"due_at": item.due_at.isoformat(), "rule": d.rule, "reason": d.reason, "system": d.system},
            link=f"/assets/staging/{d.table}",
        ))
    if silent_since is not None:
        out.append(Finding(
            alert_key="late_data:all:nothing_since", kind="late_data", severity="error", entity="portfolio",
            source="landing zone", since=datetime.combine(silent_since, datetime.min.time()),
            message=(f"Nothing has arrived for any delivery day after {silent_since} (now {now:%Y-%m-%d %H:%M} UTC): "
                     "every source is silent."),
            action="Check the transfers into the landing zone and the sensors (Dagster UI, Automation).",
            details={"newest_day": silent_since.isoformat(), "sources": [d.table for d in DEADLINES]},
        ))
    return out


def blocked_invoice_findings(conn: duckdb.DuckDBPyConnection) -> list[Finding]:
    """One finding per blocked invoice (marts.invoices, status blocked), naming the contract and the reasons."""
    if not table_exists(conn, "marts.invoices"):
        return []
    rows = conn.execute(
        "SELECT invoice_month, invoice_id, contract_id, asset_id, problems FROM marts.invoices "
        "WHERE status = 'blocked' ORDER BY invoice_month, invoice_id"
    ).fetchall()
    return [
        Finding(
            alert_key=f"blocked_invoice:{invoice_id}", kind="blocked_invoice", severity="error",
            entity=str(contract_id), source="marts/invoices", invoice_month=month,
            message=f"Invoice {invoice_id} of contract {contract_id} (asset {asset_id}) is blocked: {problems}.",
            action=f"Fix the contract data in the CRM, then re-run the invoice month {month:%Y-%m}.",
            details={"invoice_id": invoice_id, "contract_id": contract_id, "asset_id": asset_id, "reasons": problems},
            link=f"/assets/marts/invoices?partition={month}",
        )
        for month, invoice_id, contract_id, asset_id, problems in rows
    ]


def data_quality_findings(conn: duckdb.DuckDBPyConnection) -> list[Finding]:
    """One finding per failed data-quality check (per day and asset): blocking ones are errors (the
    dependants did not run), warnings are per-entity findings (e.g. a quarantined asset)."""
    if not table_exists(conn, "marts.data_quality_checks"):
        return []
    rows = conn.execute(
        "SELECT delivery_day, asset_key, check_name, severity, failing_entities, details, run_id, checked_at "
        "FROM marts.data_quality_checks WHERE NOT passed ORDER BY delivery_day, asset_key, check_name"
    ).fetchall()
    out = []
    for day, asset_key, check, severity, entities, details, run_id, checked_at in rows:
        blocking = str(severity).lower().startswith("block")
        out.append(Finding(
            alert_key=f"data_quality:{asset_key}:{check}:{day}", kind="data_quality",
            severity="error" if blocking else "warning", entity=entities or asset_key, source=f"{asset_key} / {check}",
            delivery_day=day, since=checked_at,
            message=(f"Check {check} on {asset_key} failed for {day}"
                     + (f" ({entities})" if entities else "") + (": blocking, its dependants did not run." if blocking
                                                                  else ": the rows concerned are isolated, the rest went on.")),
            action=("Read the check's details in the Dagster UI (asset checks) or marts.data_quality_results; fix the "
                    "input and re-materialise the day." ),
            details={"check": check, "asset_key": asset_key, "failing_entities": entities, "details": details,
                     "run_id": run_id},
            link=f"/assets/{asset_key}?view=checks",
        ))
    return out


def read_alerts(conn: duckdb.DuckDBPyConnection) -> list[dict]:
    frame = read_partitions(conn, ALERTS)
    if frame is None:
        return []
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in frame.to_dict("records")]


def write_alerts(conn: duckdb.DuckDBPyConnection, rows: Sequence[Mapping[str, object]]) -> int:
    """Replace the alerts table with ``rows`` in one transaction."""
    return replace_partitions(conn, ALERTS, None, alerts_frame(rows))
