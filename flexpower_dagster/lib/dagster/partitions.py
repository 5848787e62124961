"""Partitions: delivery days (UTC) and invoice months, over a range that is configuration, not data.

* **First day**: ``FLEXPOWER_FIRST_DAY``, else :data:`~flexpower_dagster.settings.GO_LIVE` (the first delivery
  day FlexPower runs on this platform). Nothing is scanned: the range is the same in the code server, every
  run worker and the CLI, however the landing zone changes while the daemon runs. A file whose days all lie
  before the first day is refused by the sensors by name and rule (``before_first_day``), never a failed run.
* **Last day**: ``FLEXPOWER_LAST_DAY`` (a fixed day), else *tomorrow*, growing with the clock (``end_offset=1``:
  tomorrow's day-ahead forecasts land in an existing partition). Files for days further ahead wait (pending)
  until their day becomes a partition; names pointing beyond :data:`FUTURE_HORIZON_DAYS` are refused.

docs/ui.md, "Partition range".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dagster import DailyPartitionsDefinition, MonthlyPartitionsDefinition

from flexpower_dagster.settings import GO_LIVE, TOMORROW, Settings

#: A file naming a delivery day more than this many days after today is refused (a year-9999 name is input,
#: not a partition): forecasts reach 48 h ahead, trade exports a day.
FUTURE_HORIZON_DAYS = 7


@dataclass(frozen=True)
class PartitionRange:
    """First and last delivery day; ``last_day`` None: tomorrow, growing with the clock."""

    first_day: date
    last_day: date | None

    def describe(self) -> str:
        last = "tomorrow (grows with the clock)" if self.last_day is None else f"{self.last_day} (FLEXPOWER_LAST_DAY)"
        return f"{self.first_day.isoformat()} .. {last}"

    def current_last_day(self, today: date | None = None) -> date:
        """The last partition now (tomorrow, or the fixed last day)."""
        today = today or datetime.now(UTC).date()
        return self.last_day if self.last_day is not None else today + timedelta(days=1)

    def horizon(self, today: date | None = None) -> date:
        """The last day a file may name: later days are absurd input, refused by rule."""
        today = today or datetime.now(UTC).date()
        return max(self.current_last_day(today), today) + timedelta(days=FUTURE_HORIZON_DAYS)


def resolve(settings: Settings) -> PartitionRange:
    """The range the settings give (pure: no file is looked at)."""
    first = settings.first_day or GO_LIVE
    if isinstance(settings.last_day, date):
        if settings.last_day < first:
            raise ValueError(f"FLEXPOWER_LAST_DAY={settings.last_day} is before the first day {first}")
        return PartitionRange(first, settings.last_day)
    if settings.last_day not in (None, TOMORROW):
        raise ValueError(f"FLEXPOWER_LAST_DAY={settings.last_day!r}: expected a day or {TOMORROW!r}")
    return PartitionRange(first, None)


RANGE = resolve(Settings.from_env())

#: First delivery day the code location knows (ISO).
FIRST_DELIVERY_DAY = RANGE.first_day.isoformat()


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


if RANGE.last_day is None:
    #: One partition per UTC delivery day, up to and including tomorrow.
    daily_partitions = DailyPartitionsDefinition(start_date=FIRST_DELIVERY_DAY, timezone="UTC", end_offset=1)
    #: One partition per invoice month (key = first day of the month), including the running month.
    monthly_partitions = MonthlyPartitionsDefinition(
        start_date=RANGE.first_day.replace(day=1).isoformat(), timezone="UTC", end_offset=1
    )
else:  # a fixed last day (FLEXPOWER_LAST_DAY): end dates are exclusive
    daily_partitions = DailyPartitionsDefinition(
        start_date=FIRST_DELIVERY_DAY, end_date=(RANGE.last_day + timedelta(days=1)).isoformat(), timezone="UTC"
    )
    monthly_partitions = MonthlyPartitionsDefinition(
        start_date=RANGE.first_day.replace(day=1).isoformat(), end_date=_next_month(RANGE.last_day).isoformat(),
        timezone="UTC",
    )

DAILY_TAGS = {"cadence": "daily"}
MONTHLY_TAGS = {"cadence": "monthly"}
