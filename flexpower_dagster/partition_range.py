"""The delivery days the code location knows: its first and last daily partition (docs/ui.md, "Partition range").

* **First day**: ``FLEXPOWER_FIRST_DAY``; else the first day that the names of the landing zone's day-defining
  files point to (forecast versions, live files, DSO finals, trade exports: :func:`day_defining_sources`,
  read by :func:`~flexpower_dagster.lib.landing.span.name_day_span` from names only); else
  :data:`DEFAULT_FIRST_DAY` (an empty landing zone: whatever lands later fits without a reload).
* **Last day**: ``FLEXPOWER_LAST_DAY`` (a day, or ``tomorrow``); else *tomorrow*, growing with the clock
  (``end_offset=1``: tomorrow's day-ahead forecasts land in an existing partition), unless the landing zone's
  data all lies more than :data:`REPLAY_AFTER_DAYS` days in the past. That is a replay of history (the demo, a
  copy of last year's files): its range ends at the data's last day, so the catalogue and the backfill dialog
  show the data's days, not a year of empty partitions.

The range is computed once per process when the definitions load (the code server, every run worker,
``make run``), so it is the same for every asset of a load. After files for days before the first day have
landed, reload the code location (UI: Deployment → Reload); until then the sensors keep those days pending.

This module sits beside ``definitions.py`` (not in ``lib/``) because it knows the domains: it finds the
day-defining sources in the domain folders' ``sources.py`` modules, which are pure (no Dagster).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from flexpower_dagster.lib.landing.source import SourceSpec
from flexpower_dagster.lib.landing.span import name_day_span
from flexpower_dagster.settings import TOMORROW, Settings

#: First day when neither the setting nor the landing zone says (an empty landing zone).
DEFAULT_FIRST_DAY = date(2025, 1, 1)
#: Data whose last day is more than this many days before today is a replay of history: the range ends there.
REPLAY_AFTER_DAYS = 7


@dataclass(frozen=True)
class PartitionRange:
    """First and last delivery day; ``last_day`` None: tomorrow, growing with the clock."""

    first_day: date
    last_day: date | None
    reason: str  # where the range comes from, in words (make run prints it)

    def describe(self) -> str:
        last = "tomorrow (grows with the clock)" if self.last_day is None else self.last_day.isoformat()
        return f"{self.first_day.isoformat()} .. {last}: {self.reason}"


def resolve(settings: Settings, span: tuple[date, date] | None, today: date) -> PartitionRange:
    """The range for ``settings``, the landing zone's ``span`` of name-dated days and ``today`` (pure)."""
    if settings.first_day is not None:
        first, why_first = settings.first_day, "first day FLEXPOWER_FIRST_DAY"
    elif span is not None:
        first, why_first = span[0], "first day from the landing zone's file names"
    else:
        first, why_first = DEFAULT_FIRST_DAY, "first day the default (the landing zone holds no dated file)"

    if isinstance(settings.last_day, date):
        if settings.last_day < first:
            raise ValueError(f"FLEXPOWER_LAST_DAY={settings.last_day} is before the first day {first} ({why_first})")
        return PartitionRange(first, settings.last_day, f"{why_first}, last day FLEXPOWER_LAST_DAY")
    if settings.last_day == TOMORROW:
        return PartitionRange(first, None, f"{why_first}, last day tomorrow (FLEXPOWER_LAST_DAY=tomorrow)")
    if span is not None and span[1] < today - timedelta(days=REPLAY_AFTER_DAYS) and span[1] >= first:
        return PartitionRange(
            first, span[1],
            f"{why_first}, last day the landing zone's last (its data ends more than {REPLAY_AFTER_DAYS} days ago: a replay)",
        )
    return PartitionRange(first, None, f"{why_first}, last day tomorrow (current data)")


def day_defining_sources() -> list[SourceSpec]:
    """Every ``SourceSpec(defines_days=True)`` declared in a domain folder's ``sources.py``."""
    import flexpower_dagster.defs as defs_package

    found: dict[str, SourceSpec] = {}
    for info in sorted(pkgutil.iter_modules(defs_package.__path__), key=lambda i: i.name):
        if not info.ispkg or importlib.util.find_spec(f"{defs_package.__name__}.{info.name}.sources") is None:
            continue
        module = importlib.import_module(f"{defs_package.__name__}.{info.name}.sources")
        for value in vars(module).values():
            if isinstance(value, SourceSpec) and value.defines_days:
                found.setdefault(value.name, value)
    return [found[name] for name in sorted(found)]


def compute(settings: Settings, today: date | None = None) -> PartitionRange:
    """The range for ``settings`` (lists the landing zone unless both days are set)."""
    today = today or datetime.now(UTC).date()
    both_set = settings.first_day is not None and settings.last_day is not None
    span = None if both_set else name_day_span(settings.landing_dir, day_defining_sources())
    return resolve(settings, span, today)


@lru_cache(maxsize=1)
def partition_range() -> PartitionRange:
    """This process's range, from the environment (computed once: deterministic within a definitions load)."""
    return compute(Settings.from_env())
