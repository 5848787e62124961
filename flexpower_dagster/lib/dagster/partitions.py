"""Partitions: delivery days (UTC) and invoice months."""

from __future__ import annotations

from dagster import DailyPartitionsDefinition, MonthlyPartitionsDefinition

#: First delivery day the platform knows. Early enough for the sample (2025-06-08) and the demo
#: (14 days around it).
FIRST_DELIVERY_DAY = "2025-01-01"

#: One partition per UTC delivery day, up to and including tomorrow (``end_offset=1``) so that
#: tomorrow's day-ahead forecasts can land and be materialised.
daily_partitions = DailyPartitionsDefinition(start_date=FIRST_DELIVERY_DAY, timezone="UTC", end_offset=1)

#: One partition per invoice month (key = first day of the month), including the running month.
monthly_partitions = MonthlyPartitionsDefinition(start_date=FIRST_DELIVERY_DAY, timezone="UTC", end_offset=1)

DAILY_TAGS = {"cadence": "daily"}
MONTHLY_TAGS = {"cadence": "monthly"}
