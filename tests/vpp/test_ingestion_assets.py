"""Materialising the CRM and VPP staging assets and contracts_in_force on a temporary warehouse."""

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from flexpower_dagster.defs.crm.assets import contracts_in_force
from flexpower_dagster.lib.warehouse import connect

from support import SAMPLE_DAY, resources_for, source_spec, staging_asset

crm_contracts, vpp_technical_data, vpp_forecasts, vpp_live_samples = (
    staging_asset(n) for n in ("crm_contracts", "vpp_technical_data", "vpp_forecasts", "vpp_live_samples")
)
ASSETS = [crm_contracts, contracts_in_force, vpp_technical_data, vpp_forecasts, vpp_live_samples]
TABLES = [
    "staging.crm_contracts",
    "staging.vpp_technical_data",
    "staging.vpp_forecasts",
    "staging.vpp_live_samples",
    "marts.contracts_in_force",
]
EXPECTED = {
    "staging.crm_contracts": 5,
    "staging.vpp_technical_data": 5,
    "staging.vpp_forecasts": 69360,
    "staging.vpp_live_samples": 5269,
    "marts.contracts_in_force": 5,
}


def _counts(warehouse: Path) -> dict[str, int]:
    with connect(warehouse, read_only=True) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _metadata(result: dg.ExecuteInProcessResult, key: str) -> dict:
    for ev in result.get_asset_materialization_events():
        if ev.materialization.asset_key.to_user_string() == key:
            return {k: v.value for k, v in ev.materialization.metadata.items()}
    raise KeyError(key)


def test_materialize_sample_day_twice(sample_dir, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    resources = resources_for(sample_dir, warehouse)
    first = dg.materialize(ASSETS, partition_key=SAMPLE_DAY, resources=resources)
    assert first.success
    assert _counts(warehouse) == EXPECTED
    with connect(warehouse, read_only=True) as conn:
        rows = conn.execute(
            "SELECT contract_id, valid, problems FROM marts.contracts_in_force ORDER BY contract_id"
        ).fetchall()
        rejected = conn.execute("SELECT count(*) FROM staging.rejected_files").fetchone()[0]
        keys = conn.execute(
            "SELECT count(*), count(DISTINCT (asset_id, version, delivery_start)) FROM staging.vpp_forecasts"
        ).fetchone()
    assert [r[0] for r in rows if not r[1]] == ["CON1_WND-DE-003"]
    problems = next(r[2] for r in rows if not r[1])
    assert "without price" in problems and "without fee" in problems
    assert rejected == 0 and keys[0] == keys[1]
    md = _metadata(first, "marts/contracts_in_force")
    assert md["contracts (count)"] == 5 and md["invalid contracts (count)"] == 1
    assert _metadata(first, "staging/vpp_live_samples")["assets (count)"] == 4
    assert _metadata(first, "staging/crm_contracts")["snapshot_file"] == "crm/asset_contracts_20250608_043831.csv"

    second = dg.materialize(ASSETS, partition_key=SAMPLE_DAY, resources=resources)
    assert second.success
    assert _counts(warehouse) == EXPECTED  # re-running replaces the partition, never duplicates


def _small_landing(sample_dir: Path, root: Path) -> Path:
    """CRM + live files of the sample (no forecasts: keeps the test fast)."""
    for sub in ("crm", "vpp/live_measured_infeed"):
        shutil.copytree(sample_dir / sub, root / sub)
        for p in (root / sub).iterdir():
            p.chmod(0o644)
    return root


def test_broken_redelivery_keeps_earlier_rows_and_is_listed(sample_dir, tmp_path):
    landing = _small_landing(sample_dir, tmp_path / "landing")
    warehouse = tmp_path / "warehouse.duckdb"
    resources = resources_for(landing, warehouse)
    assets = [crm_contracts, contracts_in_force, vpp_live_samples]
    assert dg.materialize(assets, partition_key=SAMPLE_DAY, resources=resources).success
    with connect(warehouse, read_only=True) as conn:
        before = conn.execute("SELECT * FROM staging.vpp_live_samples ORDER BY asset_id, timestamp").fetchdf()
        crm_before = conn.execute("SELECT contract_id, source_file FROM staging.crm_contracts ORDER BY 1").fetchall()

    # the VPP re-delivers WND01 cut off mid-transfer, the CRM re-delivers the newest snapshot broken
    live = landing / "vpp/live_measured_infeed/WND01_20250608.json"
    live.write_text(live.read_text()[:5000])
    crm = landing / "crm/asset_contracts_20250608_043831.csv"
    crm.write_text(crm.read_text().replace("capacity,", "capacity_kw,"))

    result = dg.materialize(assets, partition_key=SAMPLE_DAY, resources=resources)
    assert result.success  # a broken file never fails the load of the others
    with connect(warehouse, read_only=True) as conn:
        after = conn.execute("SELECT * FROM staging.vpp_live_samples ORDER BY asset_id, timestamp").fetchdf()
        crm_after = conn.execute("SELECT contract_id, source_file FROM staging.crm_contracts ORDER BY 1").fetchall()
        rejected = conn.execute(
            "SELECT source, file, rule, reason FROM staging.rejected_files ORDER BY source"
        ).fetchall()
        n_in_force = conn.execute("SELECT count(*) FROM marts.contracts_in_force").fetchone()[0]
    assert len(after) == len(before) == 5269
    assert after["source_file"].tolist() == before["source_file"].tolist()
    assert crm_after == crm_before  # carried forward: rows of the broken snapshot win over the older one
    assert n_in_force == 5
    assert [(r[0], r[1], r[2]) for r in rejected] == [
        ("crm_contracts", "crm/asset_contracts_20250608_043831.csv", "missing-columns"),
        ("vpp_live_samples", "vpp/live_measured_infeed/WND01_20250608.json", "truncated-json"),
    ]
    md = _metadata(result, "staging/vpp_live_samples")
    assert md["files rejected (count)"] == 1 and md["carried forward rows (count)"] == 1316


def test_duplicate_delivery_of_the_same_file_is_ignored(sample_dir, tmp_path):
    landing = _small_landing(sample_dir, tmp_path / "landing")
    src = landing / "vpp/live_measured_infeed/WND01_20250608.json"
    shutil.copy(src, landing / "vpp/live_measured_infeed/WND1-copy_20250608.json")
    warehouse = tmp_path / "warehouse.duckdb"
    result = dg.materialize([vpp_live_samples], partition_key=SAMPLE_DAY, resources=resources_for(landing, warehouse))
    assert result.success
    assert _metadata(result, "staging/vpp_live_samples")["duplicate files ignored (count)"] == 1
    with connect(warehouse, read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM staging.vpp_live_samples").fetchone()[0] == 5269


def test_same_asset_under_two_short_codes_is_not_duplicated(sample_dir, tmp_path):
    """Two files for the same asset under different short codes: rows are keyed by (asset, timestamp)."""
    landing = _small_landing(sample_dir, tmp_path / "landing")
    doc = json.loads((landing / "vpp/live_measured_infeed/WND01_20250608.json").read_text())
    doc["values"][1] = [v + 1000 for v in doc["values"][1]]  # a corrected re-delivery under another code
    (landing / "vpp/live_measured_infeed/WNDX1_20250608.json").write_text(json.dumps(doc))
    warehouse = tmp_path / "warehouse.duckdb"
    assert dg.materialize([vpp_live_samples], partition_key=SAMPLE_DAY, resources=resources_for(landing, warehouse)).success
    with connect(warehouse, read_only=True) as conn:
        n, n_keys = conn.execute(
            "SELECT count(*), count(DISTINCT (asset_id, timestamp)) FROM staging.vpp_live_samples"
        ).fetchone()
    assert n == n_keys == 5269


@pytest.mark.parametrize("name", ["crm_contracts", "vpp_technical_data", "vpp_forecasts", "vpp_live_samples"])
def test_staging_source_names_equal_table_names(name):
    spec = source_spec(name)
    assert spec.table.name == name and spec.table.schema == "staging"
