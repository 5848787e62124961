"""One open alert per key: opened, updated in place, resolved, reopened (defs/ops/alerts.py)."""

import json
from datetime import date, datetime

import duckdb

from flexpower_dagster.defs.ops import alerts as al
from flexpower_dagster.defs.ops.deadlines import DEADLINES, Late

T0 = datetime(2025, 6, 9, 19, 0)
T1 = datetime(2025, 6, 9, 19, 15)
T2 = datetime(2025, 6, 9, 19, 30)


def finding(key="late_data:x:2025-06-08:A1", message="late"):
    return al.Finding(alert_key=key, kind="late_data", severity="warning", entity="A1", source="staging/x",
                      message=message, action="ask", delivery_day=date(2025, 6, 8))


def test_opened_once_updated_in_place_then_resolved_and_reopened():
    rows, changes = al.reconcile([], [finding()], T0)
    assert [c.change for c in changes] == ["opened"] and rows[0]["status"] == "open" and rows[0]["opened_at"] == T0
    # the next evaluation still finds it: one row, no new message, last_seen moves
    rows, changes = al.reconcile(rows, [finding(message="still late")], T1)
    assert changes == [] and len(rows) == 1
    assert rows[0]["opened_at"] == T0 and rows[0]["last_seen_at"] == T1 and rows[0]["message"] == "still late"
    # the cause is gone
    rows, changes = al.reconcile(rows, [], T2)
    assert [c.change for c in changes] == ["resolved"] and rows[0]["resolved_at"] == T2 and rows[0]["status"] == "resolved"
    rows, changes = al.reconcile(rows, [], T2)
    assert changes == []  # a resolved alert stays resolved, silently
    rows, changes = al.reconcile(rows, [finding()], T2)
    assert [c.change for c in changes] == ["reopened"] and rows[0]["occurrences"] == 2 and rows[0]["resolved_at"] is None


def test_the_same_key_twice_in_one_evaluation_is_one_alert():
    rows, changes = al.reconcile([], [finding(), finding()], T0)
    assert len(rows) == 1 and len(changes) == 1


def test_late_finding_names_source_day_asset_deadline_and_action():
    dso = next(d for d in DEADLINES if d.table == "dso_final_production")
    late = Late(dso, date(2025, 6, 8), "WND-DE-001", dso.due_at(date(2025, 6, 8)))
    (f,) = al.late_data_findings([late], None, datetime(2025, 6, 10, 18, 0))
    assert f.alert_key == "late_data:dso_final_production:2025-06-08:WND-DE-001"
    assert "WND-DE-001" in f.message and "2025-06-08" in f.message and "D+1 working day 18:00 UTC" in f.message
    assert "24 h ago" in f.message and "DSO" in f.action
    assert f.since == datetime(2025, 6, 9, 18, 0)


def test_blocked_invoice_names_the_contract_and_the_reasons():
    with duckdb.connect() as c:
        c.execute("CREATE SCHEMA marts")
        c.execute("CREATE TABLE marts.invoices (invoice_month DATE, invoice_id VARCHAR, contract_id VARCHAR, "
                  "asset_id VARCHAR, status VARCHAR, problems VARCHAR)")
        c.execute("INSERT INTO marts.invoices VALUES ('2025-06-01', '2025-06-C3', 'C3', 'A3', 'blocked', 'no price'), "
                  "('2025-06-01', '2025-06-C1', 'C1', 'A1', 'final', NULL)")
        (f,) = al.blocked_invoice_findings(c)
    assert f.alert_key == "blocked_invoice:2025-06-C3" and f.entity == "C3" and f.severity == "error"
    assert "C3" in f.message and "no price" in f.message and "2025-06" in f.action


def test_the_table_round_trips(tmp_path):
    rows, _ = al.reconcile([], [finding(), finding("late_data:y:2025-06-08:A2")], T0)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as c:
        assert al.write_alerts(c, rows) == 2
        back = al.read_alerts(c)
        rows2, changes = al.reconcile(back, [finding()], T1)
        al.write_alerts(c, rows2)
        stored = c.execute("SELECT alert_key, status, occurrences FROM marts.alerts ORDER BY 1").fetchall()
    assert [c.change for c in changes] == ["resolved"]
    assert stored == [("late_data:x:2025-06-08:A1", "open", 1), ("late_data:y:2025-06-08:A2", "resolved", 1)]
    assert json.loads(back[0]["details"]) == {}
