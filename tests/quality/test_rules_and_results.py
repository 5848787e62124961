"""Quarantine rules (pure) and the results table (replace, never duplicate)."""

from datetime import datetime

import pandas as pd
from test_suites import CONTRACTS, DAY, REFS, final_production, with_row

from flexpower_dagster.defs.crm.expectations import CRM_CONTRACTS_SUITE
from flexpower_dagster.defs.crm.quarantine import (
    exclude_quarantined,
    quarantined_final_production,
    quarantined_forecasts,
    quarantined_live_samples,
)
from flexpower_dagster.lib.quality.results import CHECKS_VIEW, DATA_QUALITY_RESULTS, result_rows, write_gx_artefact, write_results
from flexpower_dagster.lib.quality.suites import run_suite
from flexpower_dagster.lib.warehouse import connect


def test_quarantine_final_production_names_asset_and_reason():
    f = final_production()
    assert quarantined_final_production(f, CONTRACTS, DAY).empty
    bad = with_row(f, 100, mw=4.5)  # WND-1, capacity 4 MW
    q = quarantined_final_production(bad, CONTRACTS, DAY)
    assert q["asset_id"].tolist() == ["WND-1"]
    assert "above 1.1 x capacity" in q["reason"].iloc[0] and "4.5" in q["reason"].iloc[0]
    kept = exclude_quarantined(bad, q)
    assert set(kept["asset_id"]) == {"SOL-1"} and len(kept) == 96
    unknown = with_row(f, 0, asset_id="GHOST", metering_point_id="MP-GHOST")
    q = quarantined_final_production(unknown, CONTRACTS, DAY)
    assert q.set_index("asset_id").loc["GHOST", "reason"].startswith("asset unknown to the contracts")
    dup = pd.concat([f, f.iloc[:1]], ignore_index=True)
    assert "duplicate quarter-hours" in quarantined_final_production(dup, CONTRACTS, DAY)["reason"].iloc[0]


def test_quarantine_live_and_forecasts():
    ts = pd.date_range(pd.Timestamp(DAY), periods=10, freq="1min")
    live = pd.DataFrame({"asset_id": "SOL-1", "timestamp": ts, "mw": [-0.05] + [1.0] * 9})
    assert quarantined_live_samples(live, CONTRACTS, DAY).empty  # -0.05 >= -5 % x 2 MW
    live.loc[1, "mw"] = -0.5
    assert quarantined_live_samples(live, CONTRACTS, DAY)["asset_id"].tolist() == ["SOL-1"]
    fc = pd.DataFrame({"asset_id": ["SOL-1", "SOL-1"], "version": [ts[0], ts[1]], "delivery_start": [ts[0], ts[0]], "mw": [1.0, 3.0]})
    assert quarantined_forecasts(fc, CONTRACTS, DAY)["asset_id"].tolist() == ["SOL-1"]


def test_results_replace_rows_of_the_same_day_asset_and_check(tmp_path):
    bad = with_row(CONTRACTS, 0, price_eur_per_mwh=None)
    result = run_suite(CRM_CONTRACTS_SUITE, bad, REFS)
    rows = result_rows(result, day=DAY, partition_key="2025-06-08", run_id="r1", checked_at=datetime(2025, 6, 9), gx_result_path="gx/r1/x.json")
    db = tmp_path / "w.duckdb"
    with connect(db) as conn:
        write_results(conn, rows)
        write_results(conn, rows.assign(run_id="r2"))  # a re-run replaces
        n, runs = conn.execute(f"SELECT count(*), count(DISTINCT run_id) FROM {DATA_QUALITY_RESULTS.qualified_name}").fetchone()
        assert n == len(CRM_CONTRACTS_SUITE.expectations) and runs == 1
        check = conn.execute(
            f"SELECT severity, passed, failing_rows, failing_entities, details FROM {CHECKS_VIEW} WHERE check_name = 'contract_consistency'"
        ).fetchone()
    assert check[:4] == ("warn", False, 1, "C-SOL")
    assert "price_model 'fixed' has a price" in check[4]
    rel = write_gx_artefact(tmp_path, "r1", result, "2025-06-08", datetime(2025, 6, 9))
    assert (tmp_path / rel).is_file() and "expect_column_values_to_not_be_null" in (tmp_path / rel).read_text()
