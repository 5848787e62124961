"""Partitions: delivery days (UTC) and invoice months, over the range that fits the data.

The range comes from :func:`flexpower_dagster.partition_range.partition_range` (``FLEXPOWER_FIRST_DAY`` /
``FLEXPOWER_LAST_DAY``, else the landing zone's days; docs/ui.md, "Partition range"), computed once when the
definitions load, so every asset of a load shares the same partitions.
"""

from __future__ import annotations

from datetime import date, timedelta

from dagster import DailyPartitionsDefinition, MonthlyPartitionsDefinition

from flexpower_dagster.partition_range import partition_range

RANGE = partition_range()

#: First delivery day the code location knows (ISO), e.g. the first day of the landing zone's data.
FIRST_DELIVERY_DAY = RANGE.first_day.isoformat()


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


if RANGE.last_day is None:
    #: One partition per UTC delivery day, up to and including tomorrow (``end_offset=1``) so that
    #: tomorrow's day-ahead forecasts can land and be materialised.
    daily_partitions = DailyPartitionsDefinition(start_date=FIRST_DELIVERY_DAY, timezone="UTC", end_offset=1)
    #: One partition per invoice month (key = first day of the month), including the running month.
    monthly_partitions = MonthlyPartitionsDefinition(
        start_date=RANGE.first_day.replace(day=1).isoformat(), timezone="UTC", end_offset=1
    )
else:  # a fixed range (a replay of history, or FLEXPOWER_LAST_DAY): end dates are exclusive
    daily_partitions = DailyPartitionsDefinition(
        start_date=FIRST_DELIVERY_DAY, end_date=(RANGE.last_day + timedelta(days=1)).isoformat(), timezone="UTC"
    )
    monthly_partitions = MonthlyPartitionsDefinition(
        start_date=RANGE.first_day.replace(day=1).isoformat(), end_date=_next_month(RANGE.last_day).isoformat(),
        timezone="UTC",
    )

DAILY_TAGS = {"cadence": "daily"}
MONTHLY_TAGS = {"cadence": "monthly"}
