"""A mart never builds green on missing inputs (issue 29.3): the sample day's forecasts staged while no CRM
contract is staged for the day used to give marts/asset_forecast 0 rows, a successful run and only passing
checks. Now the blocking `completeness` check fails naming the day and both inputs; with the contracts it passes."""

import shutil
from datetime import date

import dagster as dg
import pytest

from flexpower_dagster.definitions import build_definitions
from flexpower_dagster.defs.crm.sources import CRM_CONTRACTS_SOURCE
from flexpower_dagster.defs.forecast.expectations import ASSET_FORECAST_SUITE
from flexpower_dagster.defs.forecast.sql import asset_forecast
from flexpower_dagster.defs.vpp.sources import VPP_FORECASTS_SOURCE
from flexpower_dagster.lib.landing.load import load_day
from flexpower_dagster.lib.quality.suites import run_suite
from flexpower_dagster.lib.quality.views import Refs
from flexpower_dagster.lib.warehouse import connect
from flexpower_dagster.settings import Settings

DAY = date(2025, 6, 8)
ASSETS = ["SOL-DE-001", "SOL-DE-002", "WND-DE-001", "WND-DE-002", "WND-DE-003"]


@pytest.fixture(scope="module")
def staged(sample_dir):
    return load_day(VPP_FORECASTS_SOURCE, sample_dir, DAY).frame, load_day(CRM_CONTRACTS_SOURCE, sample_dir, DAY).frame


def _check(forecasts, contracts):
    mart = asset_forecast(forecasts, contracts, DAY)
    refs = Refs(day=DAY, tables={"contracts": contracts, "staging.vpp_forecasts": forecasts})
    return mart, run_suite(ASSET_FORECAST_SUITE, mart, refs)


def test_forecasts_without_contracts_fail_completeness_naming_day_and_both_inputs(staged):
    forecasts, contracts = staged
    mart, result = _check(forecasts, contracts.iloc[0:0])
    assert len(mart) == 0  # the case of the issue: nothing to forecast ...
    checks = result.checks()
    assert not checks["completeness"].passed and checks["completeness"].severity == "blocking"  # ... is no green run
    assert result["inputs-present"].observation == (
        f"staging.crm_contracts has no contract in force on 2025-06-08 while staging.vpp_forecasts has {len(forecasts)} rows")
    # every other check of the empty mart passes: only the completeness rule sees the gap
    assert {name for name, c in checks.items() if not c.passed} == {"completeness", "missing_inputs"}
    # per asset (warn): each forecast asset without a contract in force is named
    per_asset = result["inputs-per-asset"]
    assert checks["missing_inputs"].severity == "warn" and per_asset.failing_entities == ASSETS
    assert per_asset.entity_observations["WND-DE-003"].startswith(
        "staging.crm_contracts has no contract in force on 2025-06-08 while staging.vpp_forecasts has ")


def test_full_sample_day_passes(staged):
    forecasts, contracts = staged
    mart, result = _check(forecasts, contracts)
    assert len(mart) == 5 * 96
    assert result.checks()["completeness"].passed and result.checks()["missing_inputs"].passed


def test_contracts_without_the_mart_rows_fail(staged):
    """The mart's own rows are expected wherever the day has contracts in force."""
    forecasts, contracts = staged
    refs = Refs(day=DAY, tables={"contracts": contracts, "staging.vpp_forecasts": forecasts})
    result = run_suite(ASSET_FORECAST_SUITE, ASSET_FORECAST_SUITE.table.empty_frame(), refs)
    assert "marts.asset_forecast has no rows on 2025-06-08 while staging.crm_contracts has 5 contracts in force" in (
        result["inputs-present"].observation)


def test_run_without_staged_contracts_fails_naming_both_inputs(tmp_path, sample_dir):
    """Through Dagster: forecasts staged, the day's CRM snapshot absent -> the run is red, the check names both."""
    landing = tmp_path / "landing"
    shutil.copytree(sample_dir, landing)
    shutil.rmtree(landing / "crm")
    (landing / "crm").mkdir()
    settings = Settings(landing_dir=landing, warehouse=tmp_path / "w.duckdb", data_dir=tmp_path / "data")
    defs = build_definitions(settings)
    job = defs.resolve_implicit_global_asset_job_def()
    keys = [dg.AssetKey(k) for k in (["staging", "crm_contracts"], ["staging", "vpp_forecasts"], ["marts", "asset_forecast"])]
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(partition_key=DAY.isoformat(), asset_selection=keys, instance=instance,
                                        raise_on_error=False)
    assert not result.success
    ev = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    check = ev[("marts/asset_forecast", "completeness")]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    with connect(settings.warehouse, read_only=True) as conn:
        n = conn.execute("SELECT count(*) FROM staging.vpp_forecasts WHERE delivery_day = ?", [DAY]).fetchone()[0]
        assert conn.execute("SELECT count(*) FROM marts.asset_forecast").fetchone()[0] == 0
        stored = conn.execute(
            "SELECT passed, severity, failing_rows FROM marts.data_quality_results "
            "WHERE asset_key = 'marts/asset_forecast' AND expectation = 'inputs-present'").fetchone()
    assert n > 0
    assert f"staging.crm_contracts has no contract in force on 2025-06-08 while staging.vpp_forecasts has {n} rows" in (
        check.description)
    assert stored == (False, "blocking", 1)
