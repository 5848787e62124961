"""Alerts: what needs a person, one open alert per *cause*, opened and resolved by the data (pure: no Dagster).

A *finding* is one cause that needs a person now, with every day (or month) it covers: a source late for an
asset (:mod:`.deadlines`), a job step that failed (``runs.py``), a contract whose invoices are blocked, a
data-quality check failing on an asset. Its ``alert_key`` names the cause, never a day (kind + what + entity;
monthly checks add their month): ``late_data:<table>:<asset|all-assets|portfolio>``,
``run_failure:<job>:<step>``, ``blocked_invoice:<contract>``, ``data_quality:<asset>:<check>[:<YYYY-MM>]``.
The days it covers are a column (``covers``: ``2025-06-02..06-05, 06-09``). :func:`reconcile` compares the
findings of one evaluation with the stored alerts (``marts.alerts``, one row per key):

* a new key opens an alert (transition ``opened``);
* a key already open is updated in place (last seen, message, the days covered): a new day of a known cause
  adds a day to the open alert (transition ``updated``, recorded, not delivered) — never a new alert;
* an open key that is no longer found is resolved (``resolved``): the files arrived, the run succeeded, the
  contract was fixed — for every day it covered;
* a resolved key found again is reopened (``reopened``, ``occurrences`` + 1).

Openings, reopenings and resolutions are delivered (e-mail to the operations outbox, webhook): one message
when a cause appears and one when it is gone, never one per day or per evaluation (:data:`DELIVERED`).

Findings that only restate another one are folded into it instead of alerted twice: a staging completeness
check failing for exactly the assets whose file is late that day (the late_data alert says it), an invoice
check failing only for contracts whose invoice is blocked (the blocked_invoice alert says it), the same check
failing for the same entities on the same days on a mart as on its staging table (one alert, both assets
named). Marts' ``freshness`` warnings (a daily mart built on fallback or estimated inputs) are consequences
of the late or incomplete sources: one ``info`` alert lists the marts and days.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from flexpower_dagster.defs.invoicing.expectations import INVOICE_LINES_SUITE, INVOICES_SUITE
from flexpower_dagster.defs.ops.deadlines import DEADLINES, Late
from flexpower_dagster.defs.ops.tables import ALERTS
from flexpower_dagster.lib.warehouse import read_partitions, replace_partitions, table_exists

KINDS = ("late_data", "run_failure", "data_quality", "blocked_invoice")
SEVERITIES = ("info", "warning", "error")
#: Transitions delivered by e-mail and webhook; ``updated`` (the cause covers other days now) is only stored.
DELIVERED = ("opened", "reopened", "resolved")
#: Entity of a per-asset source late for every asset in force on a day: the source's delivery, not an asset.
ALL_ASSETS = "all assets"
#: Assets checked per month (results stored under the month's first day): their alerts belong to the month.
MONTHLY_ASSETS = frozenset("/".join(s.asset) for s in (INVOICES_SUITE, INVOICE_LINES_SUITE)
                           if s.table.partition_column != "delivery_day")

_KIND_ORDER = {"late_data": 0, "run_failure": 1, "blocked_invoice": 2, "data_quality": 3}
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def priority(kind: str, severity: str) -> int:
    """Sort order of open alerts, 1 first: late files, failed runs, blocked invoices, data quality; within a
    kind errors before warnings before info."""
    return 1 + 3 * _KIND_ORDER[kind] + _SEVERITY_ORDER[severity]


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
    #: the days (YYYY-MM-DD), months (YYYY-MM) or run partitions the cause covers
    covered: tuple[str, ...] = ()
    #: the cause in a line (the e-mail subject): check or source, entity, days
    title: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")


@dataclass(frozen=True)
class Transition:
    """An alert that opened, reopened, resolved or covers other days now (``updated``) in one evaluation."""

    change: str  # opened, reopened, resolved, updated
    alert: Mapping[str, object]


# ---- days covered, compactly -----------------------------------------------------------------------------


def _parse_key(key: str) -> tuple[date | None, str | None]:
    try:
        if len(key) == 10:
            return date.fromisoformat(key), "day"
        if len(key) == 7:
            return date.fromisoformat(f"{key}-01"), "month"
    except ValueError:
        pass
    return None, None


def _next(d: date, unit: str) -> date:
    return d + timedelta(days=1) if unit == "day" else (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def compact(keys: Iterable[str], limit: int | None = None) -> str:
    """Days as compact ranges, ``2025-06-02..06-05, 06-09`` (the year only where it changes); months likewise
    (``2025-04..06, 09``); anything else (run partition ranges) listed. ``limit``: at most that many ranges,
    then ``+N more``."""
    keys = sorted(set(keys))
    if not keys:
        return ""
    parsed = [_parse_key(k) for k in keys]
    units = {u for _, u in parsed}
    if len(units) != 1 or None in units:
        parts, counts = keys, [1] * len(keys)
    else:
        unit = units.pop()
        full, short = ("%Y-%m-%d", "%m-%d") if unit == "day" else ("%Y-%m", "%m")
        runs: list[list[date]] = []
        for d, _ in parsed:
            if runs and _next(runs[-1][-1], unit) == d:
                runs[-1].append(d)
            else:
                runs.append([d])
        parts, counts, prev = [], [], None
        for run in runs:
            a, b = run[0], run[-1]
            first = a.strftime(full if prev is None or prev.year != a.year else short)
            parts.append(first if a == b else f"{first}..{b.strftime(short if b.year == a.year else full)}")
            counts.append(len(run))
            prev = b
    if limit is not None and len(parts) > limit:
        more = sum(counts[limit:])
        return ", ".join(parts[:limit]) + f", +{more} more"
    return ", ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def reconcile(existing: Sequence[Mapping[str, object]], findings: Iterable[Finding], now: datetime) -> tuple[list[dict], list[Transition]]:
    """The new state of the alerts table and its transitions (see the module docstring).

    Rows stored before alerts were grouped by cause (no ``priority``: one row per day) are dropped without a
    transition: their causes are found again under the new keys and open once each."""
    rows = {str(r["alert_key"]): dict(r) for r in existing if r.get("priority") is not None}
    seen: set[str] = set()
    transitions: list[Transition] = []
    for f in findings:
        if f.alert_key in seen:
            continue  # one alert per key, whatever produced it twice
        seen.add(f.alert_key)
        covered = sorted(set(f.covered))
        fresh = {
            "alert_key": f.alert_key, "kind": f.kind, "severity": f.severity, "delivery_day": f.delivery_day,
            "invoice_month": f.invoice_month, "entity": f.entity, "source": f.source, "message": f.message,
            "action": f.action, "link": f.link, "details": json.dumps(dict(f.details), sort_keys=True, default=str),
            "since": f.since, "last_seen_at": now,
            "title": f.title or " ".join(x for x in (f.kind, f.entity, compact(covered, limit=4)) if x),
            "covers": compact(covered), "covered_keys": ",".join(covered), "n_covered": len(covered),
            "priority": priority(f.kind, f.severity),
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
            changed = (old.get("covered_keys") or "") != fresh["covered_keys"] or old.get("severity") != f.severity
            rows[f.alert_key] = {**old, **fresh}
            if changed:
                transitions.append(Transition("updated", rows[f.alert_key]))
    for key, row in rows.items():
        if key not in seen and row.get("status") == "open":
            row.update(status="resolved", resolved_at=now)
            transitions.append(Transition("resolved", row))
    ordered = sorted(rows.values(), key=lambda r: (r["status"] != "open", int(r["priority"]), str(r["alert_key"])))
    return ordered, transitions


def alerts_frame(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    return ALERTS.conform(pd.DataFrame(list(rows), columns=ALERTS.column_names)) if rows else ALERTS.empty_frame()


# ---- findings from the warehouse ------------------------------------------------------------------------


def late_data_findings(late: Iterable[Late], silent_since: date | None, now: datetime) -> list[Finding]:
    """One finding per source and asset (``portfolio`` for portfolio sources), with every late day. A per-asset
    source late for *every* asset in force on a day is one cause for that day: the source's delivery
    (entity :data:`ALL_ASSETS`), not one alert per asset."""
    late = list(late)
    per_day = Counter((item.deadline.table, item.delivery_day) for item in late)
    groups: dict[tuple[str, str], list[Late]] = {}
    for item in late:
        d = item.deadline
        whole = d.per == "asset" and item.expected > 1 and per_day[(d.table, item.delivery_day)] == item.expected
        groups.setdefault((d.table, ALL_ASSETS if whole else item.entity), []).append(item)
    out = []
    for (table, entity), items in sorted(groups.items()):
        d = items[0].deadline
        days = sorted({i.delivery_day for i in items})
        covered = tuple(day.isoformat() for day in days)
        first_due = min(i.due_at for i in items)
        hours = (now - first_due).total_seconds() / 3600
        who = {"portfolio": "", ALL_ASSETS: " for every asset in force"}.get(entity, f" for asset {entity}")
        when = (f"({first_due:%Y-%m-%d %H:%M} UTC), {hours:.0f} h ago" if len(days) == 1 else
                f"(the oldest {first_due:%Y-%m-%d %H:%M} UTC, {hours:.0f} h ago)")
        out.append(Finding(
            alert_key=f"late_data:{table}:{entity.replace(' ', '-')}",
            kind="late_data", severity=d.severity, entity=entity, source=f"staging/{table}",
            delivery_day=days[-1], since=first_due, covered=covered,
            title=f"late {table} {entity} {compact(covered, limit=4)}",
            message=(f"Late: {table} of {compact(covered)}{who}"
                     + (f" ({_plural(len(days), 'day')})" if len(days) > 1 else "")
                     + f" was due {d.rule} {when}; not in the warehouse."),
            action=(f"Ask the {d.system.upper()} side for the file{'s' if len(days) > 1 else ''} (or check the "
                    f"landing zone and the {d.system}_files_sensor); each day drops out of the alert when its rows "
                    "are loaded, the alert resolves with the last one."),
            details={"due_at": first_due.isoformat(), "rule": d.rule, "reason": d.reason, "system": d.system,
                     "days": list(covered), "expected_assets": items[0].expected if entity == ALL_ASSETS else None},
            link=f"/assets/staging/{table}",
        ))
    if silent_since is not None:
        out.append(Finding(
            alert_key="late_data:all:nothing_since", kind="late_data", severity="error", entity="portfolio",
            source="landing zone", since=datetime.combine(silent_since, datetime.min.time()),
            title=f"nothing arrived after {silent_since}",
            message=(f"Nothing has arrived for any delivery day after {silent_since} (now {now:%Y-%m-%d %H:%M} UTC): "
                     "every source is silent."),
            action="Check the transfers into the landing zone and the sensors (Dagster UI, Automation).",
            details={"newest_day": silent_since.isoformat(), "sources": [d.table for d in DEADLINES]},
        ))
    return out


def _blocked_contracts(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    if not table_exists(conn, "marts.invoices"):
        return []
    return conn.execute(
        "SELECT invoice_month, invoice_id, contract_id, asset_id, problems FROM marts.invoices "
        "WHERE status = 'blocked' ORDER BY contract_id, invoice_month, invoice_id"
    ).fetchall()


def blocked_invoice_findings(conn: duckdb.DuckDBPyConnection) -> list[Finding]:
    """One finding per contract with blocked invoices (marts.invoices, status blocked), listing the months and
    naming the reasons (of the newest month)."""
    by_contract: dict[str, list[tuple]] = {}
    for row in _blocked_contracts(conn):
        by_contract.setdefault(str(row[2]), []).append(row)
    out = []
    for contract_id, rows in by_contract.items():
        months = tuple(sorted({f"{r[0]:%Y-%m}" for r in rows}))
        newest_month, invoice_id, _, asset_id, problems = rows[-1]
        ids = ", ".join(str(r[1]) for r in rows)
        out.append(Finding(
            alert_key=f"blocked_invoice:{contract_id}", kind="blocked_invoice", severity="error",
            entity=contract_id, source="marts/invoices", invoice_month=newest_month, covered=months,
            title=f"blocked invoice {contract_id} {compact(months, limit=4)}",
            message=(f"Invoice{'s' if len(rows) > 1 else ''} {ids} of contract {contract_id} (asset {asset_id}) "
                     f"{'are' if len(rows) > 1 else 'is'} blocked ({compact(months)}): {problems}."),
            action=(f"Fix the contract data in the CRM, then re-run the invoice month{'s' if len(months) > 1 else ''} "
                    f"{compact(months)}."),
            details={"invoice_ids": [r[1] for r in rows], "invoice_id": invoice_id, "contract_id": contract_id,
                     "asset_id": asset_id, "reasons": problems, "months": list(months)},
            link=f"/assets/marts/invoices?partition={newest_month}",
        ))
    return out


def _entities(text: object) -> list[str]:
    return [e.strip() for e in str(text or "").split(",") if e.strip()]


#: Staging tables whose rows mean a day was delivered (traded and metered), not only forecast.
DELIVERED_BY = ("staging.exchange_private_trades", "staging.dso_final_production")


def delivered_days(conn: duckdb.DuckDBPyConnection) -> set[date] | None:
    """Days with a private trade export or final DSO data. The other days with data (the running day, tomorrow:
    forecasts only) raise no data-quality warning alert: their trades and meter data are not due yet, and a late
    source is the late-data alert's business, by its deadline (docs/operations.md). None: no such table yet."""
    tables = [t for t in DELIVERED_BY if table_exists(conn, t)]
    if not tables:
        return None
    return {d for t in tables for (d,) in conn.execute(f"SELECT DISTINCT delivery_day FROM {t}").fetchall()}


def data_quality_findings(conn: duckdb.DuckDBPyConnection, late: Iterable[Late] = ()) -> list[Finding]:
    """One finding per asset and failed check (monthly assets: per month) with the days it failed and the
    entities concerned: blocking ones are errors (the dependants did not run), warnings isolate the entities
    concerned (a quarantined asset, an invalid contract). Restatements are folded (module docstring):
    ``late`` are the late files of this evaluation."""
    if not table_exists(conn, "marts.data_quality_checks"):
        return []
    rows = conn.execute(
        "SELECT delivery_day, asset_key, check_name, severity, failing_entities, details, run_id, checked_at "
        "FROM marts.data_quality_checks WHERE NOT passed ORDER BY delivery_day, asset_key, check_name"
    ).fetchall()
    late_set = {(f"staging/{i.deadline.table}", i.delivery_day, i.entity) for i in late}
    blocked = {(month, str(contract)) for month, _, contract, _, _ in _blocked_contracts(conn)}
    delivered = delivered_days(conn)
    groups: dict[str, dict] = {}
    for day, asset_key, check, severity, entities, details, run_id, checked_at in rows:
        blocking = str(severity).lower().startswith("block")
        names = _entities(entities)
        monthly = asset_key in MONTHLY_ASSETS
        if not blocking and not monthly and delivered is not None and day not in delivered:
            continue  # a day still being traded (forecasts only) is judged once delivered; its late files by deadline
        if not blocking and names:
            if asset_key.startswith("staging/") and all(
                    (asset_key, day, "portfolio" if e == "all" else e) in late_set for e in names):
                continue  # the late_data alert of the same files says it
            if monthly and all((day, e) in blocked for e in names):
                continue  # the blocked_invoice alert of the same contracts says it
        consequence = check == "freshness" and asset_key.startswith("marts/") and not monthly and not blocking
        scope = "marts" if consequence else asset_key
        key = f"data_quality:{scope}:{check}" + (f":{day:%Y-%m}" if monthly else "")
        g = groups.setdefault(key, {"check": check, "scope": scope, "monthly": monthly, "consequence": consequence,
                                    "assets": [], "by_day": {}, "blocking": False, "rows": []})
        if asset_key not in g["assets"]:
            g["assets"].append(asset_key)
        g["by_day"].setdefault(day, set()).update(names)
        g["blocking"] |= blocking
        g["rows"].append((day, asset_key, details, run_id, checked_at))
    _merge_identical(groups)
    return [_dq_finding(key, g) for key, g in groups.items()]


def _merge_identical(groups: dict[str, dict]) -> None:
    """The same daily check failing for the same entities on the same days on several assets (a contract in
    staging and in the mart built from it) is one cause: the staging asset's alert names the others."""
    owners: dict[tuple, str] = {}
    order = sorted(groups, key=lambda k: (not groups[k]["scope"].startswith("staging/"), k))
    for key in order:
        g = groups[key]
        if g["monthly"] or g["consequence"] or not all(g["by_day"].values()):
            continue
        footprint = (g["check"], frozenset((d, frozenset(e)) for d, e in g["by_day"].items()))
        owner = owners.setdefault(footprint, key)
        if owner != key:
            groups[owner]["assets"] += [a for a in g["assets"] if a not in groups[owner]["assets"]]
            groups[owner]["rows"] += g["rows"]
            del groups[key]


def _entities_by_days(by_day: Mapping[date, set[str]]) -> str:
    """``WND-DE-003``, or ``SOL-DE-001, WND-DE-003 on 06-01; WND-DE-003 on 06-02..06-14`` when they differ."""
    days_of: dict[frozenset[str], list[str]] = {}
    for d, e in sorted(by_day.items()):
        if e:
            days_of.setdefault(frozenset(e), []).append(d.isoformat())
    if len(days_of) == 1:
        return ", ".join(sorted(next(iter(days_of))))
    return "; ".join(f"{', '.join(sorted(e))} on {compact(ds, limit=6)}" for e, ds in days_of.items())


def _dq_finding(key: str, g: dict) -> Finding:
    check, assets, days = g["check"], g["assets"], sorted(g["by_day"])
    entities = sorted(set().union(*g["by_day"].values()))
    newest = max(g["rows"], key=lambda r: (r[0], r[4] or datetime.min))
    on = ", ".join(assets)
    if g["monthly"]:
        month = f"{days[-1]:%Y-%m}"
        covered, covers, when = (month,), month, f"the month {month}"
    else:
        covered = tuple(d.isoformat() for d in days)
        covers = compact(covered)
        when = f"{covers}" + (f" ({_plural(len(days), 'day')})" if len(days) > 1 else "")
    if g["consequence"]:
        severity = "info"
        short = [a.split("/", 1)[-1] for a in assets]
        title = f"{check} {_plural(len(assets), 'mart')} {compact(covered, limit=4)}"
        message = (f"{_plural(len(assets), 'mart')} built on incomplete or estimated inputs ({check} failed) on "
                   f"{when}: {', '.join(short)}. The causes are the late or incomplete sources alerted above; "
                   "these days' figures say so in their completeness columns.")
        action = ("Nothing of its own: resolve the late-data and completeness alerts, then re-materialise these "
                  "days; the alert resolves when the checks pass.")
    else:
        severity = "error" if g["blocking"] else "warning"
        named = [e for e in entities if e not in ("all", g["scope"])]
        subject = ", ".join(named) if 0 < len(named) <= 2 else g["scope"]
        title = f"{check} {subject} {compact(covered, limit=4)}"
        entity_text = f" ({_entities_by_days(g['by_day'])})" if named else ""
        message = (f"Check {check} on {on} failed for {when}{entity_text}"
                   + (": blocking, its dependants did not run." if g["blocking"]
                      else ": the rows concerned are isolated, the rest went on."))
        redo = f"re-materialise the month {covers}" if g["monthly"] else (
            f"re-materialise the day {covers}" if len(days) == 1 else f"re-materialise the days {covers}")
        action = ("Read the check's details in the Dagster UI (asset checks) or marts.data_quality_results; fix the "
                  f"input and {redo}.")
    month_date = days[-1].replace(day=1) if g["monthly"] else None
    return Finding(
        alert_key=key, kind="data_quality", severity=severity, entity=", ".join(entities) or g["scope"],
        source=f"{on} / {check}", delivery_day=None if g["monthly"] else days[-1], invoice_month=month_date,
        since=min((r[4] for r in g["rows"] if r[4] is not None), default=None), covered=covered, title=title,
        message=message, action=action,
        details={"check": check, "assets": assets, "failing_entities": ", ".join(entities),
                 "by_day": {d.isoformat(): sorted(e) for d, e in sorted(g["by_day"].items())},
                 "details": str(newest[2] or "")[:2000], "run_id": newest[3]},
        link=f"/assets/{assets[0]}?view=checks",
    )


def read_alerts(conn: duckdb.DuckDBPyConnection) -> list[dict]:
    frame = read_partitions(conn, ALERTS)
    if frame is None:
        return []
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in frame.to_dict("records")]


def write_alerts(conn: duckdb.DuckDBPyConnection, rows: Sequence[Mapping[str, object]]) -> int:
    """Replace the alerts table with ``rows`` in one transaction."""
    return replace_partitions(conn, ALERTS, None, alerts_frame(rows))
