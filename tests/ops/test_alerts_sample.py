"""Alerts on the real sample day (daily 2025-06-08, then the month 2025-06): the late DSO file of WND-DE-001
opens one late_data alert after its deadline and resolves when the file arrives; the blocked invoice of
CON1_WND-DE-003 is one blocked_invoice alert naming the contract and the reasons."""

import shutil
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from flexpower_dagster.defs.ops.assets import marts_alerts
from flexpower_dagster.lib.dagster.resources import Alerting
from flexpower_dagster.settings import Settings

from support import resources_for

KEY_LATE = "late_data:dso_final_production:WND-DE-001"
KEY_INVOICE = "blocked_invoice:CON1_WND-DE-003"


@pytest.fixture(scope="module")
def month_warehouse(sample_month, tmp_path_factory) -> Settings:
    """A copy of the session's sample day with its month (tests/conftest.py), on a copy of the landing zone: the
    tests evaluate alerts into it and deliver a late file."""
    root = tmp_path_factory.mktemp("alerts_sample")
    landing = root / "landing"
    shutil.copytree(sample_month.settings.landing_dir, landing)
    return sample_month.copy(root, landing=landing, data=True)


def evaluate(settings: Settings, now: str, instance=None) -> dg.ExecuteInProcessResult:
    resources = resources_for(settings.landing_dir, settings.warehouse, settings.data_dir)
    resources["alerting"] = Alerting(now=now)
    return dg.materialize([marts_alerts], resources=resources, instance=instance)


def alerts(settings: Settings) -> dict[str, tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        rows = conn.execute("SELECT alert_key, status, kind, severity, entity, message, delivery_day, resolved_at "
                            "FROM marts.alerts").fetchall()
    return {r[0]: r[1:] for r in rows}


def outbox(settings: Settings) -> list[Path]:
    return sorted((settings.data_dir / "outbox" / "operations").rglob("*.eml"))


def test_late_dso_file_opens_after_its_deadline_once_and_resolves_when_it_arrives(month_warehouse):
    s = month_warehouse
    evaluate(s, "2025-06-09T17:00:00")  # before D+1 working day 18:00 UTC
    assert KEY_LATE not in alerts(s)
    evaluate(s, "2025-06-09T18:30:00")
    got = alerts(s)
    status, kind, _severity, entity, message, day, _ = got[KEY_LATE]
    assert (status, kind, entity, str(day)) == ("open", "late_data", "WND-DE-001", "2025-06-08")
    assert "dso_final_production of 2025-06-08 for asset WND-DE-001" in message
    late_mails = [p for p in outbox(s) if "dso_final_production" in p.name and "WND-DE-001" in p.name]
    assert len(late_mails) == 1 and "-opened-" in late_mails[0].name
    # later evaluations: still one alert, no second mail
    evaluate(s, "2025-06-10T09:00:00")
    assert sum(k == KEY_LATE for k in alerts(s)) == 1
    assert len([p for p in outbox(s) if "WND-DE-001" in p.name and "dso_final" in p.name]) == 1
    # the file arrives (WND-DE-002's curve, halved, under WND-DE-001's metering point) and staging loads it
    src = s.landing_dir / "distribution_system_operator" / "final_production_MP-WND-002_20250609.csv"
    lines = src.read_text().splitlines()
    body = [f"{ts},{float(kw) / 2:.3f}" for ts, kw in (line.split(",") for line in lines[1:])]
    (src.parent / "final_production_MP-WND-001_20250609.csv").write_text(
        "\n".join(["delivery_start__utc_,MP-WND-001__kw_", *body]) + "\n")
    from flexpower_dagster.definitions import build_definitions

    defs = build_definitions(s)
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        assert job.execute_in_process(partition_key="2025-06-08", instance=instance,
                                      asset_selection=[dg.AssetKey(["staging", "dso_final_production"])]).success
    evaluate(s, "2025-06-10T10:00:00")
    status, *_, resolved_at = alerts(s)[KEY_LATE]
    assert status == "resolved" and resolved_at == datetime(2025, 6, 10, 10, 0)
    resolved = [p for p in outbox(s) if "WND-DE-001" in p.name and "-resolved-" in p.name]
    assert len(resolved) == 1
    msg = message_from_bytes(resolved[0].read_bytes(), policy=policy.SMTP)
    assert msg["X-FlexPower-Alert-Change"] == "resolved"


def test_blocked_invoice_is_one_alert_naming_the_contract_and_reasons(month_warehouse):
    evaluate(month_warehouse, "2025-07-02T08:00:00")
    status, kind, severity, entity, message, _, _ = alerts(month_warehouse)[KEY_INVOICE]
    assert (status, kind, severity, entity) == ("open", "blocked_invoice", "error", "CON1_WND-DE-003")
    assert "price_model 'fixed' without price" in message
