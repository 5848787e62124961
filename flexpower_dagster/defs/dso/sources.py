"""Landing-zone sources of the DSO (pure: no Dagster).

* ``dso_final_production`` — one file per metering point and day, delivered the day after: the
  delivery days are read from the content (``days_from_content``); if the content is unreadable the
  guess is the name date - 1. Row key (metering_point_id, delivery_start): a newer file (name date)
  wins per QH.
* ``dso_redispatch_flags`` — only when redispatch happens; days from the content (guess: name date
  - 1 and the name date). Row key (metering_point_id, delivery_start), newer file (name date+time) wins.
* ``dso_redispatch_compensation`` — periodic, several days per file; days from the content (guess:
  the name date). Row key delivery_start, newest file (name date) wins.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from flexpower_dagster.defs.dso import parser
from flexpower_dagster.defs.dso.tables import DSO_FINAL_PRODUCTION, DSO_REDISPATCH_COMPENSATION, DSO_REDISPATCH_FLAGS
from flexpower_dagster.lib.landing.source import SourceSpec, days_from_content

FOLDER = "distribution_system_operator"


def _guess(pattern, fmt: str, offsets: tuple[int, ...]) -> Callable[[str], frozenset[date]]:
    def guess(basename: str) -> frozenset[date]:
        m = pattern.fullmatch(basename)
        d = parser.name_date(m.group("date"), fmt) if m else None
        return frozenset(d + timedelta(days=o) for o in offsets) if d else frozenset()

    return guess


FINAL_PRODUCTION = SourceSpec(
    name=DSO_FINAL_PRODUCTION.name,
    system="dso",
    folder=FOLDER,
    pattern=parser.FINAL_PRODUCTION_NAME,
    table=DSO_FINAL_PRODUCTION,
    parse=parser.parse_final_production,
    kind="events",
    file_time=parser.final_production_time,
    time_column="delivery_start",
    days_covered=days_from_content(parser.parse_final_production, _guess(parser.FINAL_PRODUCTION_NAME, "%Y%m%d", (-1,))),
    row_key=("metering_point_id", "delivery_start"),
    complete=parser.check_whole_day,  # rule incomplete-day: 96 QHs of the UTC day or 92/96/100 of the local day
    defines_days=True,
    delivered=True,
    description=DSO_FINAL_PRODUCTION.description,
)

REDISPATCH_FLAGS = SourceSpec(
    name=DSO_REDISPATCH_FLAGS.name,
    system="dso",
    folder=FOLDER,
    pattern=parser.REDISPATCH_FLAG_NAME,
    table=DSO_REDISPATCH_FLAGS,
    parse=parser.parse_redispatch_flags,
    kind="events",
    file_time=parser.redispatch_flag_time,
    time_column="delivery_start",
    days_covered=days_from_content(parser.parse_redispatch_flags, _guess(parser.REDISPATCH_FLAG_NAME, "%Y%m%d", (-1, 0))),
    row_key=("metering_point_id", "delivery_start"),
    description=DSO_REDISPATCH_FLAGS.description,
)

REDISPATCH_COMPENSATION = SourceSpec(
    name=DSO_REDISPATCH_COMPENSATION.name,
    system="dso",
    folder=FOLDER,
    pattern=parser.COMPENSATION_NAME,
    table=DSO_REDISPATCH_COMPENSATION,
    parse=parser.parse_redispatch_compensation,
    kind="events",
    file_time=parser.compensation_time,
    time_column="delivery_start",
    days_covered=days_from_content(parser.parse_redispatch_compensation, _guess(parser.COMPENSATION_NAME, "%Y-%m-%d", (0,))),
    row_key=("delivery_start",),
    description=DSO_REDISPATCH_COMPENSATION.description,
)
