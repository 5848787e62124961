"""The real sample day with the full definitions: every check runs, the WND-DE-003 contract is a per-contract
*warning* naming both problems (its invoice is blocked by invoicing), the run is green and every dependant of
marts/contracts_in_force runs; marts.data_quality_results is filled. A genuinely broken source (a trade priced
beyond the exchange limits) still fails its run through a blocking check and stops its dependants."""

import shutil
from pathlib import Path

import dagster as dg
import pytest

from flexpower_dagster.lib.warehouse import connect
from flexpower_dagster.settings import Settings

from support import CONTRACTS_PROBE, all_suites, materialize_day

DAY = "2025-06-08"
PROBE = dg.AssetKey(list(CONTRACTS_PROBE))


@pytest.fixture(scope="module")
def sample_run(sample_day):
    """The session's sample day (tests/conftest.py), run with ``contracts_dependant_probe``: a dependant of
    marts/contracts_in_force standing in for anything reading the contracts in the same run (e.g. invoicing)."""
    return sample_day.settings, sample_day.result


def _evaluations(result):
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def test_the_blocked_invoice_leaves_a_margin_warning_naming_the_asset(sample_run):
    _, result = sample_run
    ev = _evaluations(result)[("marts/asset_performance", "margin")]
    assert not ev.passed and ev.severity == dg.AssetCheckSeverity.WARN
    assert ev.metadata["failing_asset_ids"].value == ["WND-DE-003"]
    assert "invoice blocked" in ev.description


def test_contract_problem_is_a_warning_naming_the_contract_and_both_problems(sample_run):
    _, result = sample_run
    ev = _evaluations(result)[("marts/contracts_in_force", "contract_consistency")]
    assert not ev.passed and ev.severity == dg.AssetCheckSeverity.WARN
    assert "CON1_WND-DE-003" in ev.description
    assert "price_model 'fixed' without price" in ev.description and "fee_model 'fixed_as_produced' without fee" in ev.description
    md = ev.metadata
    assert md["failing_contract_ids"].value == ["CON1_WND-DE-003"]
    assert "fixed-price-has-price" in md["failures"].value and "fixed-as-produced-has-fee" in md["failures"].value


def test_the_sample_day_is_green_and_every_dependant_runs(sample_run):
    settings, result = sample_run
    assert result.success
    evaluations = _evaluations(result)
    assert not [k for k, e in evaluations.items() if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert PROBE.to_user_string() in materialized  # a dependant of contracts_in_force is not held back
    for mart in ("asset_forecast", "portfolio_forecast", "live_infeed", "best_of_infeed", "portfolio_best_of_infeed",
                 "trading_qh", "trading_daily", "imbalance", "portfolio_imbalance", "contracts_in_force",
                 "asset_performance"):
        assert f"marts/{mart}" in materialized, mart
    with connect(settings.warehouse, read_only=True) as conn:
        valid = conn.execute("SELECT contract_id, valid FROM marts.contracts_in_force ORDER BY 1").fetchall()
        assert [c for c, v in valid if v] == ["CON1_SOL-DE-001", "CON1_SOL-DE-002", "CON1_WND-DE-001", "CON1_WND-DE-002"]
        per_asset = conn.execute("SELECT asset_id, count(*) FROM marts.best_of_infeed GROUP BY 1 ORDER BY 1").fetchall()
        assert [n for _, n in per_asset] == [96] * 5


@pytest.mark.slow
def test_a_trade_beyond_the_exchange_limits_fails_its_run(tmp_path, sample_dir):
    """A genuinely broken source still makes a red run: the export with a price of 99999 EUR/MWh (beyond the
    EPEX limits) is rejected by its parser (rule out-of-bounds), so the day has no private trades, the
    blocking `completeness` check of the private trades fails and the trading marts are not computed."""
    landing = tmp_path / "landing"
    shutil.copytree(sample_dir, landing)
    trades = next((landing / "exchange").glob("Private_Trades-*.csv"))
    lines = trades.read_text().splitlines(keepends=True)
    fields = lines[2].split(";")
    fields[5] = "99999"  # Price
    lines[2] = ";".join(fields)
    trades.write_text("".join(lines))
    settings = Settings(landing_dir=landing, warehouse=tmp_path / "warehouse.duckdb", data_dir=tmp_path / "data")
    result = materialize_day(settings, DAY, raise_on_error=False)
    assert not result.success
    failed = {k for k, e in _evaluations(result).items() if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR}
    assert failed == {("staging/exchange_private_trades", "completeness")}
    with connect(settings.warehouse, read_only=True) as conn:
        rule = conn.execute("SELECT rule FROM staging.rejected_files WHERE source = 'exchange_private_trades'").fetchall()
    assert rule == [("out-of-bounds",)]
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "marts/trading_qh" not in materialized and "marts/trading_daily" not in materialized
    assert "marts/best_of_infeed" in materialized  # the rest of the day is computed


def test_every_check_ran_and_results_are_stored(sample_run):
    settings, result = sample_run
    evaluations = _evaluations(result)
    daily = [s for s in all_suites() if s.partition_column == "delivery_day"]
    expected = {("/".join(s.asset), c) for s in daily for c in s.checks}
    assert expected <= set(evaluations)
    with connect(settings.warehouse, read_only=True) as conn:
        stored = set(conn.execute("SELECT asset_key, check_name FROM marts.data_quality_checks WHERE delivery_day = ?", [DAY]).fetchall())
        assert stored == expected
        row = conn.execute(
            "SELECT severity, passed, failing_entities, run_id FROM marts.data_quality_checks "
            "WHERE asset_key = 'marts/contracts_in_force' AND check_name = 'contract_consistency'"
        ).fetchone()
        assert row[:3] == ("warn", False, "CON1_WND-DE-003") and row[3] == result.run_id
        warned = {r[0] for r in conn.execute("SELECT asset_key || ':' || check_name FROM marts.data_quality_checks WHERE NOT passed").fetchall()}
        assert "staging/dso_final_production:completeness" in warned  # WND-DE-001 has no final file
        assert "staging/imbalance_price_final:completeness" in warned  # 10 QHs without final reBAP
    gx_dir = Path(settings.data_dir) / "gx" / result.run_id
    assert (gx_dir / "marts.contracts_in_force" / f"{DAY}.json").is_file()


def test_every_mart_has_its_inputs_on_the_sample_day(sample_run):
    """The completeness rules against the inputs (issue 29.3) pass for every daily mart of the full sample day."""
    settings, _ = sample_run
    rules = {("/".join(s.asset), f.id) for s in all_suites() if s.partition_column == "delivery_day"
             for f in s.failing_rows if f.description.startswith("inputs present")}  # lib/quality/completeness.py
    marts = {asset for asset, _ in rules}
    assert len(marts) == 11
    with connect(settings.warehouse, read_only=True) as conn:
        rows = conn.execute(
            "SELECT asset_key, expectation, severity, passed, details FROM marts.data_quality_results "
            "WHERE delivery_day = ? AND expectation_type = 'UnexpectedRowsExpectation'", [DAY]).fetchall()
    rows = [r for r in rows if (r[0], r[1]) in rules]
    assert len(rows) == len(rules) and {r[0] for r in rows if r[2] == "blocking"} == marts
    assert [r for r in rows if not r[3]] == []
