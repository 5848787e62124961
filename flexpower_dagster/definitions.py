"""The code location: every definition found under ``flexpower_dagster/defs`` plus the resources.

Runs execute in-process (one step after the other): DuckDB has a single writer, and the run queue
(``dagster.yaml``) admits one run at a time, so no two writers ever race for the warehouse file.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from flexpower_dagster.platform.automation import with_automation
from flexpower_dagster.platform.resources import build_resources
from flexpower_dagster.settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    defs = dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(resources=build_resources(settings), executor=dg.in_process_executor),
    )
    # automation conditions on everything downstream of staging + the automation sensor (docs/automation.md)
    return with_automation(defs)


defs = build_definitions()
