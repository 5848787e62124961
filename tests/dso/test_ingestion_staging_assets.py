"""Materialise the DSO, exchange and imbalance-price staging assets (with the CRM staging asset they
need) for the sample day on a temporary DuckDB file: row counts, idempotent re-runs, rejections."""

import shutil
from pathlib import Path

import dagster as dg

from flexpower_dagster.lib.warehouse import connect

from support import SAMPLE_DAY, resources_for, staging_asset

EXPECTED = {
    "dso_final_production": 384,  # 4 metering points x 96 QHs (MP-WND-001 has no final file)
    "dso_redispatch_flags": 4,
    "dso_redispatch_compensation": 96,
    "exchange_private_trades": 3349,
    "exchange_public_trades": 53776,
    "imbalance_price_estimates": 96,
    "imbalance_price_final": 86,  # the final file lacks 10 QHs
}


def crm_staging_asset() -> dg.AssetsDefinition:
    return staging_asset("crm_contracts")


def our_assets() -> list[dg.AssetsDefinition]:
    return [staging_asset(name) for name in EXPECTED]


def counts(warehouse: Path) -> dict[str, int]:
    with connect(warehouse, read_only=True) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM staging.{t}").fetchone()[0] for t in EXPECTED}


def materialize(landing: Path, warehouse: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [crm_staging_asset(), *our_assets()], partition_key=SAMPLE_DAY, resources=resources_for(landing, warehouse)
    )


def test_sample_day_row_counts_and_rerun(sample_dir, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    result = materialize(sample_dir, warehouse)
    assert result.success
    assert counts(warehouse) == EXPECTED
    with connect(warehouse, read_only=True) as conn:
        assets = dict(conn.execute("SELECT metering_point_id, any_value(asset_id) FROM staging.dso_final_production GROUP BY 1").fetchall())
        flagged = conn.execute("SELECT DISTINCT asset_id FROM staging.dso_redispatch_flags").fetchall()
        rejected = conn.execute("SELECT count(*) FROM staging.rejected_files").fetchone()[0]
    assert assets == {"MP-SOL-001": "SOL-DE-001", "MP-SOL-002": "SOL-DE-002", "MP-WND-002": "WND-DE-002", "MP-WND-003": "WND-DE-003"}
    assert flagged == [("WND-DE-003",)] and rejected == 0
    md = {
        e.materialization.asset_key.path[-1]: e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert md["imbalance_price_final"]["QHs missing (count)"].value == 10
    assert md["exchange_public_trades"]["trades (count)"].value == 53776
    assert 41 < md["exchange_public_trades"]["VWAP (EUR/MWh)"].value < 43

    assert materialize(sample_dir, warehouse).success  # re-running replaces the partition
    assert counts(warehouse) == EXPECTED


def test_unknown_metering_point_is_recorded_and_others_load(sample_dir, tmp_path):
    landing = tmp_path / "landing"
    for folder in ("crm", "distribution_system_operator", "exchange", "imbalance"):
        shutil.copytree(sample_dir / folder, landing / folder)
    bad = "distribution_system_operator/final_production_MP-XYZ-999_20250609.csv"
    (landing / bad).write_text("delivery_start__utc_,MP-XYZ-999__kw_\n2025-06-08 00:00:00.000000 UTC,5\n", encoding="utf-8")
    warehouse = tmp_path / "warehouse.duckdb"
    assert materialize(landing, warehouse).success
    assert counts(warehouse) == EXPECTED
    with connect(warehouse, read_only=True) as conn:
        rows = conn.execute("SELECT source, file, row, rule FROM staging.rejected_files").fetchall()
    assert rows == [("dso_final_production", bad, 1, "unknown-metering-point")]
