"""The exchange landing-zone sensor (see flexpower_dagster.platform.automation and docs/automation.md)."""

from flexpower_dagster.platform.automation import build_source_sensor

exchange_files_sensor = build_source_sensor("exchange")
