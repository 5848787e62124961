"""One asset's out-of-range final production: a WARN on staging/dso_final_production naming the asset,
and best_of_infeed drops that asset's final rows (falls back to live/forecast) while the others keep 'final'."""

import shutil

import dagster as dg

from flexpower_dagster.definitions import build_definitions
from flexpower_dagster.lib.warehouse import connect
from flexpower_dagster.settings import Settings

DAY = "2025-06-08"
KEYS = [["staging", "crm_contracts"], ["staging", "dso_final_production"], ["staging", "dso_redispatch_flags"],
        ["staging", "vpp_live_samples"], ["staging", "vpp_forecasts"], ["marts", "live_infeed"],
        ["marts", "asset_forecast"], ["marts", "best_of_infeed"]]


def test_out_of_range_final_production_is_quarantined(tmp_path, sample_dir):
    landing = tmp_path / "landing"
    shutil.copytree(sample_dir, landing)
    f = landing / "distribution_system_operator" / "final_production_MP-WND-003_20250609.csv"
    lines = f.read_text().splitlines()
    head, _rest = lines[1].split(",")
    lines[1] = f"{head},9000.0"  # 9 MW > 1.1 x 5.6 MW
    f.write_text("\n".join(lines) + "\n")
    settings = Settings(landing_dir=landing, warehouse=tmp_path / "w.duckdb", data_dir=tmp_path / "data")
    defs = build_definitions(settings)
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(partition_key=DAY, asset_selection=[dg.AssetKey(k) for k in KEYS],
                                        instance=instance, raise_on_error=False)
    ev = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    q = ev[("staging/dso_final_production", "quarantine")]
    assert not q.passed and q.severity == dg.AssetCheckSeverity.WARN and "WND-DE-003" in q.description
    assert "marts/best_of_infeed" in {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    with connect(settings.warehouse, read_only=True) as conn:
        src = dict(conn.execute(
            "SELECT asset_id, string_agg(DISTINCT source, ',' ORDER BY source) FROM marts.best_of_infeed GROUP BY 1").fetchall())
    assert "final" not in src["WND-DE-003"].split(",")
    assert src["WND-DE-002"] == "final" and src["SOL-DE-001"] == "final"
