"""Shared fixtures: the real sample landing zone and temporary warehouses."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexpower_dagster.platform.resources import build_resources
from flexpower_dagster.settings import PROJECT_ROOT, Settings

SAMPLE_DIR = (PROJECT_ROOT / ".." / "shared" / "datasets" / "flexpower-2025-06-08").resolve()
SAMPLE_DAY = "2025-06-08"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    if not SAMPLE_DIR.is_dir():
        pytest.fail(f"sample landing zone not found at {SAMPLE_DIR} (../shared must sit beside the project)")
    return SAMPLE_DIR


@pytest.fixture
def tmp_settings(tmp_path: Path):
    """Settings for a temporary landing zone and warehouse (landing dir is created empty)."""
    landing = tmp_path / "landing"
    landing.mkdir()
    return Settings(landing_dir=landing, warehouse=tmp_path / "warehouse.duckdb", data_dir=tmp_path / "data")


def resources_for(landing: Path, warehouse: Path, data_dir: Path | None = None) -> dict:
    return build_resources(Settings(landing_dir=landing, warehouse=warehouse, data_dir=data_dir or warehouse.parent / "data"))


def materialize_day(settings: Settings, day: str, exclude: tuple[str, ...] = ("report_site",), raise_on_error: bool = True):
    """Materialise every asset tagged cadence=daily (minus ``exclude``) for ``day`` with the full definitions."""
    import dagster as dg

    from flexpower_dagster.definitions import build_definitions

    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    selection = dg.AssetSelection.tag("cadence", "daily") - dg.AssetSelection.keys(*exclude)
    keys = sorted(selection.resolve(graph), key=lambda k: k.to_user_string())
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        return job.execute_in_process(
            partition_key=day, asset_selection=keys, instance=instance, raise_on_error=raise_on_error
        )


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory, sample_dir) -> Settings:
    """A warehouse with every daily asset of the sample day 2025-06-08 materialised once per session.

    Read-only for tests: copy it (``shutil.copy``) before writing to it.
    """
    root = tmp_path_factory.mktemp("sample_warehouse")
    settings = Settings(landing_dir=sample_dir, warehouse=root / "warehouse.duckdb", data_dir=root / "data")
    materialize_day(settings, SAMPLE_DAY, raise_on_error=False)
    return settings
