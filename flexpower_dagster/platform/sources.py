"""Registry of every landing-zone source (one SourceSpec per row of the source table in domain.md).

Each source domain exports ``SOURCES: list[SourceSpec]`` from ``defs/<domain>/sources.py`` (pure
modules). Sensors, ``run_all`` and tests find sources here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flexpower_dagster.core.landing import SourceSpec, scan

SOURCE_MODULES = (
    "flexpower_dagster.defs.crm.sources",
    "flexpower_dagster.defs.vpp.sources",
    "flexpower_dagster.defs.dso.sources",
    "flexpower_dagster.defs.exchange.sources",
    "flexpower_dagster.defs.imbalance_prices.sources",
)

#: Sources whose files define which delivery days "exist" in a landing zone: per-asset or per-day
#: data. Multi-day periodic files (imbalance estimates, redispatch compensation) and snapshots
#: (CRM, technical data) do not create days of their own.
DAY_DEFINING_SOURCES = (
    "vpp_forecasts",
    "vpp_live_samples",
    "dso_final_production",
    "exchange_private_trades",
    "exchange_public_trades",
)


#: The stricter notion `make run` uses: days that were delivered and traded (exchange exports are
#: per delivery day, DSO finals per measured day). Forecast-only days (48 h ahead) and the two
#: hours of the previous UTC day in a German-local-day live file would otherwise add edge days
#: holding only a forecast; sensors still materialise every day a new file touches.
DELIVERED_DAY_SOURCES = (
    "dso_final_production",
    "exchange_private_trades",
    "exchange_public_trades",
)


def all_sources() -> list[SourceSpec]:
    import importlib

    specs: list[SourceSpec] = []
    for module in SOURCE_MODULES:
        specs.extend(importlib.import_module(module).SOURCES)
    return specs


def source(name: str) -> SourceSpec:
    for spec in all_sources():
        if spec.name == name:
            return spec
    raise KeyError(name)


def landing_days(root: Path, sources: tuple[str, ...] = DAY_DEFINING_SOURCES) -> list[date]:
    """Sorted delivery days for which the landing zone holds data of the given sources."""
    days: set[date] = set()
    for spec in all_sources():
        if spec.name in sources and spec.days_covered is not None:
            files, _ = scan(root, spec)
            for f in files:
                days |= spec.days_covered(f)
    return sorted(days)
