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
