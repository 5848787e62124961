"""KPI targets of the report site, read from ``kpi_targets.toml`` beside this module (pure: no Dagster, no DuckDB).

A target belongs to one KPI (a report column such as ``tradeable_mae_pct_capacity``) and is either an upper
(``at_most``) or a lower bound (``at_least``). Only the KPIs in :data:`KPIS` may have one; a KPI without an entry
has no target and the site says nothing about one. Bad content is a :class:`SourceFileError` naming the file, the
entry and the rule, never a silently ignored line.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from flexpower_dagster.lib.errors import SourceFileError

TARGETS_FILE = Path(__file__).with_name("kpi_targets.toml")


@dataclass(frozen=True)
class Kpi:
    label: str
    unit: str
    lowest: float
    highest: float
    decimals: int


#: The KPIs a target may be set for: what they are, their unit and the range a target must lie in.
KPIS: dict[str, Kpi] = {
    "tradeable_mae_pct_capacity": Kpi(
        "Forecast MAE, tradeable (% of capacity per QH)", "% of capacity", lowest=0.0, highest=100.0, decimals=1
    ),
}
BOUNDS = {"at_most": "≤", "at_least": "≥"}
FIELDS = set(BOUNDS) | {"source"}


@dataclass(frozen=True)
class Target:
    kpi: str
    bound: str  # at_most | at_least
    value: float
    source: str

    @property
    def text(self) -> str:
        """How the site prints it: ``≤ 3,5 % of capacity`` (German decimals, the KPI's decimals)."""
        spec = KPIS[self.kpi]
        number = f"{self.value:,.{spec.decimals}f}".translate(str.maketrans(",.", ".,"))
        return f"{BOUNDS[self.bound]} {number} {spec.unit}"

    def met(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the target; None without a value."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return value <= self.value if self.bound == "at_most" else value >= self.value


def parse_targets(data: dict, file: str | Path = TARGETS_FILE) -> dict[str, Target]:
    """The targets of a parsed TOML document, keyed by KPI."""
    out = {}
    for kpi, entry in data.items():
        where = f"[{kpi}]"
        if kpi not in KPIS:
            raise SourceFileError(file, "target-unknown-kpi", f"{where}: no such KPI; targets exist for {sorted(KPIS)}")
        if not isinstance(entry, dict):
            raise SourceFileError(file, "target-not-a-table", f"{where} must be a table with at_most or at_least")
        unknown = sorted(set(entry) - FIELDS)
        if unknown:
            raise SourceFileError(file, "target-unknown-field", f"{where}: unknown field(s) {unknown}; allowed {sorted(FIELDS)}")
        bounds = [b for b in BOUNDS if b in entry]
        if len(bounds) != 1:
            raise SourceFileError(file, "target-one-bound", f"{where}: exactly one of at_most / at_least, found {bounds}")
        bound = bounds[0]
        value = entry[bound]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise SourceFileError(file, "target-not-a-number", f"{where}: {bound} = {value!r} is not a finite number")
        spec = KPIS[kpi]
        if not spec.lowest <= value <= spec.highest:
            raise SourceFileError(
                file, "target-out-of-range", f"{where}: {bound} = {value} outside [{spec.lowest}, {spec.highest}] {spec.unit}"
            )
        source = entry.get("source")
        if not isinstance(source, str) or not source.strip():
            raise SourceFileError(file, "target-without-source", f"{where}: source (who set the target) is required")
        out[kpi] = Target(kpi, bound, float(value), source.strip())
    return out


def load_targets(path: str | Path = TARGETS_FILE) -> dict[str, Target]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SourceFileError(path, "target-file-syntax", str(exc)) from exc
    return parse_targets(data, path)
