"""One open alert per cause: opened, updated in place (new days), resolved, reopened (defs/ops/alerts.py)."""

import json
from datetime import date, datetime

import duckdb

from flexpower_dagster.defs.ops import alerts as al
from flexpower_dagster.defs.ops.deadlines import DEADLINES, Late

T0 = datetime(2025, 6, 9, 19, 0)
T1 = datetime(2025, 6, 9, 19, 15)
T2 = datetime(2025, 6, 9, 19, 30)


def finding(key="late_data:x:A1", message="late", days=("2025-06-08",)):
    return al.Finding(alert_key=key, kind="late_data", severity="warning", entity="A1", source="staging/x",
                      message=message, action="ask", delivery_day=date.fromisoformat(days[-1]), covered=tuple(days))


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
    assert f.alert_key == "late_data:dso_final_production:WND-DE-001" and f.covered == ("2025-06-08",)
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
    assert f.alert_key == "blocked_invoice:C3" and f.entity == "C3" and f.severity == "error" and f.covered == ("2025-06",)
    assert "C3" in f.message and "no price" in f.message and "2025-06" in f.action


def test_the_table_round_trips(tmp_path):
    rows, _ = al.reconcile([], [finding(), finding("late_data:y:A2")], T0)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as c:
        assert al.write_alerts(c, rows) == 2
        back = al.read_alerts(c)
        rows2, changes = al.reconcile(back, [finding()], T1)
        al.write_alerts(c, rows2)
        stored = c.execute("SELECT alert_key, status, occurrences FROM marts.alerts ORDER BY 1").fetchall()
    assert [c.change for c in changes] == ["resolved"]
    assert stored == [("late_data:x:A1", "open", 1), ("late_data:y:A2", "resolved", 1)]
    assert json.loads(back[0]["details"]) == {}


# ---- one alert per cause, with the days it covers -----------------------------------------------------------


def test_days_and_months_are_listed_as_compact_ranges():
    days = ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05", "2025-06-09"]
    assert al.compact(days) == "2025-06-02..06-05, 06-09"
    assert al.compact(["2024-12-31", "2025-01-01", "2025-01-03"]) == "2024-12-31..2025-01-01, 01-03"
    assert al.compact(["2025-04", "2025-05", "2025-06", "2025-09"]) == "2025-04..06, 09"
    assert al.compact(["2025-06-01", "2025-06-03", "2025-06-05", "2025-06-07"], limit=2) == "2025-06-01, 06-03, +2 more"
    assert al.compact(["2025-06-01..2025-06-03"]) == "2025-06-01..2025-06-03"  # a run's partition range as is
    assert al.compact([]) == ""


def test_a_new_day_of_an_open_cause_updates_the_alert_without_a_message(tmp_path):
    from flexpower_dagster.defs.ops.delivery import payload, write_outbox

    rows, changes = al.reconcile([], [finding(days=("2025-06-08",))], T0)
    assert len(write_outbox(tmp_path, changes, T0)) == 1
    rows, changes = al.reconcile(rows, [finding(days=("2025-06-08", "2025-06-09"))], T1)
    assert [c.change for c in changes] == ["updated"] and len(rows) == 1
    (row,) = rows
    assert row["covers"] == "2025-06-08..06-09" and row["n_covered"] == 2 and row["opened_at"] == T0
    assert row["covered_keys"] == "2025-06-08,2025-06-09"
    assert write_outbox(tmp_path, changes, T1) == [] and payload(changes)["alerts"] == []  # no mail, no webhook
    rows, changes = al.reconcile(rows, [finding(days=("2025-06-08", "2025-06-09"))], T2)
    assert changes == []  # the same days again: nothing changed


def test_alerts_stored_per_day_before_grouping_are_replaced_silently():
    legacy = [{"alert_key": f"late_data:x:2025-06-0{d}:A1", "kind": "late_data", "severity": "warning",
               "status": "open", "priority": None} for d in (8, 9)]
    rows, changes = al.reconcile(legacy, [finding(days=("2025-06-08", "2025-06-09"))], T0)
    assert [r["alert_key"] for r in rows] == ["late_data:x:A1"]
    assert [c.change for c in changes] == ["opened"]  # one opening, no resolution of the old per-day rows


def test_late_files_are_one_alert_per_source_and_asset_listing_the_days():
    dso = next(d for d in DEADLINES if d.table == "dso_final_production")
    fc = next(d for d in DEADLINES if d.table == "vpp_forecasts")
    days = [date(2025, 6, 2), date(2025, 6, 3), date(2025, 6, 4), date(2025, 6, 5), date(2025, 6, 9)]
    late = [Late(dso, d, "SOL-DE-001", dso.due_at(d), 3) for d in days]
    late += [Late(dso, date(2025, 6, 9), "WND-DE-002", dso.due_at(date(2025, 6, 9)), 3)]
    late += [Late(fc, date(2025, 6, 1), a, fc.due_at(date(2025, 6, 1)), 3) for a in ("A1", "A2", "A3")]  # every asset
    late += [Late(fc, date(2025, 6, 3), "A2", fc.due_at(date(2025, 6, 3)), 3)]  # one of three
    found = {f.alert_key: f for f in al.late_data_findings(late, None, datetime(2025, 6, 20))}
    assert sorted(found) == ["late_data:dso_final_production:SOL-DE-001", "late_data:dso_final_production:WND-DE-002",
                             "late_data:vpp_forecasts:A2", "late_data:vpp_forecasts:all-assets"]
    sol = found["late_data:dso_final_production:SOL-DE-001"]
    assert sol.title == "late dso_final_production SOL-DE-001 2025-06-02..06-05, 06-09"
    assert "2025-06-02..06-05, 06-09 for asset SOL-DE-001 (5 days)" in sol.message
    assert sol.delivery_day == date(2025, 6, 9) and sol.since == dso.due_at(date(2025, 6, 2))
    everyone = found["late_data:vpp_forecasts:all-assets"]
    assert everyone.entity == al.ALL_ASSETS and everyone.covered == ("2025-06-01",)
    assert found["late_data:vpp_forecasts:A2"].covered == ("2025-06-03",)


def test_late_files_and_failed_runs_sort_before_data_quality():
    order = sorted(((k, s) for k in al.KINDS for s in al.SEVERITIES), key=lambda ks: al.priority(*ks))
    assert order[0] == ("late_data", "error") and order[1] == ("late_data", "warning")
    assert order[-1] == ("data_quality", "info")
    assert al.priority("late_data", "warning") < al.priority("run_failure", "error") < al.priority("data_quality", "error")


def _checks(conn, rows):
    conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
    conn.execute("CREATE TABLE marts.data_quality_checks (delivery_day DATE, asset_key VARCHAR, check_name VARCHAR, "
                 "severity VARCHAR, passed BOOLEAN, failing_entities VARCHAR, details VARCHAR, run_id VARCHAR, "
                 "checked_at TIMESTAMP)")
    conn.executemany("INSERT INTO marts.data_quality_checks VALUES (?, ?, ?, ?, false, ?, 'd', 'r', '2025-06-20')", rows)


def test_data_quality_is_one_alert_per_asset_and_check_listing_the_days():
    rows = [(f"2025-06-{d:02d}", "staging/crm_contracts", "contract_consistency", "warn", "CON3") for d in range(1, 15)]
    rows += [(f"2025-06-{d:02d}", "marts/contracts_in_force", "contract_consistency", "warn", "CON3") for d in range(1, 15)]
    rows += [("2025-06-02", "staging/vpp_live_samples", "completeness", "warn", "A1, A2"),
             ("2025-06-05", "staging/vpp_live_samples", "completeness", "warn", "A2"),
             ("2025-06-02", "marts/trading_qh", "values", "blocking", "")]
    with duckdb.connect() as c:
        _checks(c, rows)
        found = {f.alert_key: f for f in al.data_quality_findings(c)}
    assert sorted(found) == ["data_quality:marts/trading_qh:values", "data_quality:staging/crm_contracts:contract_consistency",
                             "data_quality:staging/vpp_live_samples:completeness"]
    contract = found["data_quality:staging/crm_contracts:contract_consistency"]  # staging and mart: one cause
    assert contract.title == "contract_consistency CON3 2025-06-01..06-14" and contract.entity == "CON3"
    assert "staging/crm_contracts, marts/contracts_in_force" in contract.message and len(contract.covered) == 14
    assert "re-materialise the days 2025-06-01..06-14" in contract.action
    live = found["data_quality:staging/vpp_live_samples:completeness"]
    assert live.covered == ("2025-06-02", "2025-06-05") and "A1, A2 on 2025-06-02; A2 on 2025-06-05" in live.message
    assert found["data_quality:marts/trading_qh:values"].severity == "error"


def test_a_monthly_check_belongs_to_the_month():
    with duckdb.connect() as c:
        _checks(c, [("2025-06-01", "marts/invoices", "freshness", "warn", "C1, C2")])
        (f,) = al.data_quality_findings(c)
    assert f.alert_key == "data_quality:marts/invoices:freshness:2025-06" and f.covered == ("2025-06",)
    assert f.delivery_day is None and f.invoice_month == date(2025, 6, 1)
    assert "the month 2025-06" in f.message and "re-materialise the month 2025-06" in f.action
    assert "the day" not in f.action and "2025-06-01" not in f.title


def test_restatements_are_folded_into_the_alert_that_says_it():
    dso = next(d for d in DEADLINES if d.table == "dso_final_production")
    late = [Late(dso, date(2025, 6, 2), "A1", dso.due_at(date(2025, 6, 2)), 2)]
    rows = [("2025-06-02", "staging/dso_final_production", "completeness", "warn", "A1"),  # = the late file
            ("2025-06-03", "staging/dso_final_production", "completeness", "warn", "A2"),  # not late: kept
            ("2025-06-01", "marts/invoices", "blocked_contracts", "warn", "C3"),  # = the blocked invoice
            ("2025-06-02", "marts/imbalance", "freshness", "warn", "A1"),
            ("2025-06-03", "marts/portfolio_imbalance", "freshness", "warn", "")]
    with duckdb.connect() as c:
        _checks(c, rows)
        c.execute("CREATE TABLE marts.invoices (invoice_month DATE, invoice_id VARCHAR, contract_id VARCHAR, "
                  "asset_id VARCHAR, status VARCHAR, problems VARCHAR)")
        c.execute("INSERT INTO marts.invoices VALUES ('2025-06-01', '2025-06-C3', 'C3', 'A3', 'blocked', 'no price')")
        found = {f.alert_key: f for f in al.data_quality_findings(c, late)}
    assert sorted(found) == ["data_quality:marts:freshness", "data_quality:staging/dso_final_production:completeness"]
    assert found["data_quality:staging/dso_final_production:completeness"].covered == ("2025-06-03",)
    marts = found["data_quality:marts:freshness"]  # consequences of the sources: one info alert
    assert marts.severity == "info" and marts.covered == ("2025-06-02", "2025-06-03")
    assert "imbalance, portfolio_imbalance" in marts.message


def test_a_day_still_being_traded_raises_no_data_quality_warning():
    """Forecast-only days (the running day, tomorrow) have no trades or meter data yet: their warnings wait until
    the day is delivered (late sources are alerted by deadline); a delivered day's warnings are alerted."""
    rows = [("2025-06-14", "marts/trading_qh", "plausibility", "warn", ""),
            ("2025-06-15", "marts/trading_qh", "plausibility", "warn", ""),
            ("2025-06-15", "staging/exchange_public_trades", "freshness", "warn", ""),
            ("2025-06-15", "marts/trading_qh", "values", "blocking", "")]
    with duckdb.connect() as c:
        _checks(c, rows)
        c.execute("CREATE SCHEMA staging")
        c.execute("CREATE TABLE staging.exchange_private_trades (delivery_day DATE)")
        c.execute("INSERT INTO staging.exchange_private_trades VALUES ('2025-06-14')")
        found = {f.alert_key: f for f in al.data_quality_findings(c)}
    assert sorted(found) == ["data_quality:marts/trading_qh:plausibility", "data_quality:marts/trading_qh:values"]
    assert found["data_quality:marts/trading_qh:plausibility"].covered == ("2025-06-14",)
    assert found["data_quality:marts/trading_qh:values"].covered == ("2025-06-15",)  # blocking: always alerted


def test_the_alerts_are_evaluated_only_when_something_they_read_changed():
    from flexpower_dagster.defs.ops.assets import alerts_due

    assert alerts_due(evaluated_at=None, last_data_run_at=None, clock_moves=True, slot_passed=False) == "never evaluated"
    # make dev after make run: the alerts were evaluated after the last data run, the replay's clock is fixed
    assert alerts_due(evaluated_at=100.0, last_data_run_at=90.0, clock_moves=False, slot_passed=True) is None
    assert alerts_due(evaluated_at=100.0, last_data_run_at=90.0, clock_moves=True, slot_passed=False) is None
    assert alerts_due(evaluated_at=100.0, last_data_run_at=120.0, clock_moves=False, slot_passed=False).startswith("data changed")
    assert "15-minute" in alerts_due(evaluated_at=100.0, last_data_run_at=None, clock_moves=True, slot_passed=True)
