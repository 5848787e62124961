"""The code location: every definition the domain folders under ``flexpower_dagster/defs`` declare, plus
the resources, the landing-zone sensors and the automation.

Each domain folder declares itself and is discovered by Dagster's defs-folder loading (the component
tree of this project): its assets and checks, and — for a source system — a
:class:`~flexpower_dagster.lib.dagster.landing_source.LandingSource` component. One landing-zone sensor
per ``LandingSource`` is built here, because every sensor must know every system's day-defining sources
(which delivery days exist). There is no list of domains or sources to keep in sync.

Runs execute in-process (one step after the other): DuckDB has a single writer, and the run queue
(``dagster.yaml``) admits one run at a time, so no two writers ever race for the warehouse file. The jobs
``make run`` launches are defined here too (``lib/dagster/jobs.py``), so every run is re-executable, and
so is the one table of who owns each group of assets (``OWNERS``; docs/ui.md).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import dagster as dg

import flexpower_dagster.defs as domains
from flexpower_dagster.lib.dagster.automation import with_automation
from flexpower_dagster.lib.dagster.catalog import function_reference, with_catalog
from flexpower_dagster.lib.dagster.fast_path import FastPaths, fast_paths
from flexpower_dagster.lib.dagster.jobs import platform_jobs
from flexpower_dagster.lib.dagster.landing_source import LandingSource
from flexpower_dagster.lib.dagster.resources import build_resources
from flexpower_dagster.lib.dagster.sensors import build_source_sensor
from flexpower_dagster.lib.landing.source import SourceSpec
from flexpower_dagster.settings import Settings

#: Who answers for each group of assets, the one table of owners (docs/ui.md, "Owners and groups"). Groups
#: follow the scheme staging_<system> (a source system's files → staging tables), marts_<domain>, reporting.
OWNERS = {
    "staging_*": "team:operations",  # landing files, staging tables and their quality checks
    "marts_contracts": "team:finance",  # contracts in force: the commercial terms invoicing uses
    "marts_forecast": "team:trading",
    "marts_infeed": "team:trading",
    "marts_trading": "team:trading",
    "marts_imbalance": "team:trading",
    "marts_position": "team:trading",  # the desk's open position while trading is happening
    "marts_performance": "team:trading",  # per-asset performance: trading and portfolio management read it
    "marts_invoicing": "team:finance",
    "marts_operations": "team:operations",  # alerts: late data, failed runs, findings that need a person
    "reporting": "team:data",  # the report site and the warehouse snapshot people query
}


@lru_cache(maxsize=1)
def component_tree() -> dg.ComponentTree:
    """The project's component tree (``[tool.dg]`` in pyproject.toml: ``flexpower_dagster.defs``)."""
    return dg.ComponentTree.for_project(Path(__file__).parent)


def landing_components() -> list[LandingSource]:
    """Every source system the domain folders declare."""
    return sorted(component_tree().get_all_components(of_type=LandingSource), key=lambda c: c.system)


def landing_sources() -> list[SourceSpec]:
    """Every landing-zone source of every system."""
    return [spec for c in landing_components() for spec in c.specs]


def desk_fast_paths() -> FastPaths:
    """Staging source -> the marts its sensor runs carry to the desk's position (lib/dagster/fast_path.py)."""
    from flexpower_dagster.defs.position.assets import POSITION_KEY

    return fast_paths(_folder_defs(), [POSITION_KEY])


def source_sensors() -> list[dg.SensorDefinition]:
    components = landing_components()
    day_defining = [s for c in components for s in c.specs if s.defines_days]
    carried = desk_fast_paths()
    return [
        build_source_sensor(c.system, c.specs, day_defining, minimum_interval_seconds=c.sensor_interval_seconds,
                            carried=carried if c.desk_feed else None)
        for c in components
    ]


def staging_references() -> dict[dg.AssetKey, list]:
    """Code references of the staging assets: their source's parser and metadata summary (not the factory)."""
    return {
        source.key: [
            function_reference(source.spec.parse, label="parser"),
            function_reference(source.summarize, label="metadata summary") if source.summarize else None,
        ]
        for component in landing_components()
        for source in component.sources
    }


def arrival_deadlines() -> dict[dg.AssetKey, dict[str, str]]:
    """Each staging asset's arrival deadline (defs/ops/deadlines.py) as definition metadata: the UI shows when a
    day's files are due next to the asset (docs/operations.md)."""
    from flexpower_dagster.defs.ops.deadlines import DEADLINES

    return {
        dg.AssetKey(["staging", d.table]): {
            "arrival deadline": f"{d.rule}, {'per asset in force' if d.per == 'asset' else 'once for the portfolio'}; "
                                f"late -> {d.severity} alert (marts/alerts). {d.reason}"
        }
        for d in DEADLINES
    }


@lru_cache(maxsize=1)
def _folder_defs() -> dg.Definitions:
    # Dagster's own defs-folder loader calls functions it marks "preview" (load_definitions_from_module)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return component_tree().build_defs()


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """The code location for ``settings`` (default: the environment). The partition range is the process's,
    fixed when the definitions module is first imported (``partition_range.py``: from the environment)."""
    settings = settings or Settings.from_env()
    defs = dg.Definitions.merge(
        _folder_defs(),
        dg.Definitions(
            resources=build_resources(settings), executor=dg.in_process_executor, sensors=source_sensors(), jobs=platform_jobs()
        ),
    )
    # owners, groups and code references (docs/ui.md); automation conditions on everything downstream of
    # staging + the automation sensor (docs/automation.md)
    return with_automation(with_catalog(defs, OWNERS, staging_references(), arrival_deadlines(), package=domains.__name__))


defs = build_definitions()
