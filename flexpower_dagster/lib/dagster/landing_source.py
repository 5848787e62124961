"""``LandingSource``: the Dagster component a source domain declares to bring its files into the warehouse.

A source domain folder (``defs/<system>/``) declares one component instance, e.g.::

    @dg.component_instance
    def exchange(context: dg.ComponentLoadContext) -> LandingSource:
        return LandingSource(system="exchange", sources=(StagingSource(PRIVATE_TRADES, suite=...), ...))

``load_from_defs_folder`` finds it like any other definition; the component builds the source's staging
assets and their data-quality checks. ``definitions.py`` finds every ``LandingSource`` of the project
(``ComponentTree.get_all_components``) to build one landing-zone sensor per system, each knowing every
system's day-defining sources. So adding a source system is adding one folder: no list to extend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from flexpower_dagster.lib.dagster.checks import build_suite_checks
from flexpower_dagster.lib.dagster.sensors import SENSOR_INTERVAL_SECONDS
from flexpower_dagster.lib.dagster.staging import StagingSource, build_staging_asset
from flexpower_dagster.lib.landing.source import SYSTEM_NAME, SourceSpec


@dataclass
class LandingSource(dg.Component):
    """One source system's landing files: a staging asset (and its checks) per source."""

    system: str
    sources: Sequence[StagingSource]
    #: how often the system's landing-zone sensor may tick (the trading feeds tick faster: docs/automation.md)
    sensor_interval_seconds: int = SENSOR_INTERVAL_SECONDS
    #: its files move the trading desk's position (forecasts, trades, imbalance prices): the sensor's runs carry the
    #: marts on the way to ``marts/position_qh`` (the fast path: lib/dagster/fast_path.py, docs/automation.md)
    desk_feed: bool = False

    def __post_init__(self) -> None:
        if not SYSTEM_NAME.fullmatch(self.system):
            raise ValueError(f"system {self.system!r} must match {SYSTEM_NAME.pattern}")
        wrong = [s.spec.name for s in self.sources if s.spec.system != self.system]
        if wrong:
            raise ValueError(f"{self.system}: sources {wrong} declare another system")

    @property
    def specs(self) -> list[SourceSpec]:
        return [s.spec for s in self.sources]

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return dg.Definitions(
            assets=[build_staging_asset(s) for s in self.sources],
            asset_checks=[build_suite_checks(s.suite) for s in self.sources if s.suite is not None],
        )
