"""Plain test helpers shared by every test package (import as ``from support import ...``;
``tests/`` is on ``pythonpath`` in pyproject.toml). Fixtures live in ``tests/conftest.py``."""

from __future__ import annotations

from pathlib import Path

from flexpower_dagster.platform.resources import build_resources
from flexpower_dagster.settings import PROJECT_ROOT, Settings

SAMPLE_DIR = (PROJECT_ROOT / ".." / "shared" / "datasets" / "flexpower-2025-06-08").resolve()
SAMPLE_DAY = "2025-06-08"


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
