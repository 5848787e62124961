"""Declarative automation: files that land flow through to every affected partition.

Staging assets are requested by the landing-zone sensors (:mod:`.sensors`); everything downstream
follows through automation conditions applied centrally by :func:`with_automation`
(``definitions.py``): no job chains in sensors. See docs/automation.md.

* daily marts: ``AutomationCondition.eager()`` over **every** partition (a late file for a day weeks
  ago updates that day), i.e. ``eager().without(in_latest_time_window())``, and only while every
  upstream blocking check passed (``all_deps_blocking_checks_passed()``), the forms of Dagster's docs;
* monthly invoices: a month runs as soon as one of its days has data (a month's days are never all
  present, certainly not before it ends) and it must not wait for days that do not exist, which
  ``eager()`` (``~any_deps_missing``) and ``all_deps_blocking_checks_passed()`` (every mapped day's
  checks must have *passed*) would do: that condition is spelled out below;
* the report site (unpartitioned): rebuilt once after a batch of updates.

DuckDB has one writer: the run queue (``dagster.yaml``: ``max_concurrent_runs: 1``) admits one run
at a time and every run executes in-process, so sensor and automation runs never race for the lock.
"""

import warnings

import dagster as dg

from flexpower_dagster.lib.dagster.jobs import ORIGIN_TAG
from flexpower_dagster.lib.dagster.sensors import BACKGROUND_PRIORITY, PRIORITY_TAG, SENSOR_INTERVAL_SECONDS, TRIGGER_TAG

AUTOMATION_SENSOR_NAME = "automation_condition_sensor"

# --------------------------------------------------------------------------------------------
# automation conditions

AC = dg.AutomationCondition


def blocking_check_failed_upstream() -> dg.AutomationCondition:
    """True while a blocking check of a direct upstream partition has failed (and that asset is not
    being re-materialised on this tick: a re-run re-executes its checks). Unlike
    ``~all_deps_blocking_checks_passed()`` it is false for upstream partitions that do not exist."""
    return AC.any_deps_match(
        AC.any_checks_match(AC.check_failed(), blocking_only=True) & ~AC.will_be_requested()
    ).with_label("upstream_blocking_check_failed")


def daily_condition() -> dg.AutomationCondition:
    """``eager()`` on every partition, not only the latest (a late file for a day weeks ago updates
    that day), while every upstream blocking check passed."""
    return (AC.eager().without(AC.in_latest_time_window()) & AC.all_deps_blocking_checks_passed()).with_label(
        "eager_all_partitions"
    )


def monthly_condition() -> dg.AutomationCondition:
    """Monthly partitions (invoicing): eager, but a month runs as soon as one of its days has data and
    only *monthly* upstream partitions must exist; it waits while an upstream blocking check fails
    (a structural problem of a day's marts), not for days without data (see module docstring)."""
    monthly_dep_missing = (
        AC.any_deps_match(AC.missing() & ~AC.will_be_requested())
        .ignore(dg.AssetSelection.tag("cadence", "daily"))  # convention: daily assets carry DAILY_TAGS
        .with_label("any_monthly_deps_missing")
    )
    return (
        (AC.newly_missing() | AC.any_deps_updated()).since_last_handled()
        & AC.any_deps_match(~AC.missing()).with_label("any_dep_has_data")
        & ~monthly_dep_missing
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
        & ~blocking_check_failed_upstream()
    ).with_label("eager_all_months")


def staging_follow_condition() -> dg.AutomationCondition:
    """Staging assets that read other staging assets (DSO data is validated against the CRM
    metering points) re-run for a day when their upstream changed; their own files are the
    sensors' business (``eager()`` without ``newly_missing``)."""
    return (
        AC.any_deps_updated().since_last_handled()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
        & AC.all_deps_blocking_checks_passed()
    ).with_label("follow_upstream")


def site_condition() -> dg.AutomationCondition:
    """Unpartitioned assets over all days (the report site): rebuild once any upstream day was updated,
    after the batch of runs in flight is done (waits while any upstream partition is in progress), so a
    batch of days costs one rebuild. It does not wait for failed blocking checks or missing days: the
    site is where those problems are shown."""
    return (
        AC.any_deps_updated().since_last_handled() & ~AC.any_deps_in_progress() & ~AC.in_progress()
    ).with_label("rebuild_after_updates")


def condition_for(spec: dg.AssetSpec) -> dg.AutomationCondition | None:
    """The automation condition of an asset: by key prefix and partitioning (see module docs)."""
    is_staging = spec.key.path[0] == "staging"
    if is_staging:
        return staging_follow_condition() if spec.deps else None
    if isinstance(spec.partitions_def, dg.MonthlyPartitionsDefinition):
        return monthly_condition()
    if spec.partitions_def is None:
        return site_condition()
    return daily_condition()


def _apply(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.automation_condition is not None:  # an asset that chose its own condition keeps it
        return spec
    cond = condition_for(spec)
    return spec if cond is None else spec.replace_attributes(automation_condition=cond)


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR_NAME,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        emit_backfills=False,  # one run per partition through the run queue
        run_tags={TRIGGER_TAG: "automation", ORIGIN_TAG: "automation", PRIORITY_TAG: BACKGROUND_PRIORITY},
        description="Evaluates the automation conditions of every asset downstream of staging (docs/automation.md).",
    )


def with_automation(defs: dg.Definitions) -> dg.Definitions:
    """``defs`` with the automation conditions applied and the automation sensor added."""
    with warnings.catch_warnings():  # map_asset_specs is "preview" in 1.13; its behaviour is covered by tests
        warnings.simplefilter("ignore", dg.PreviewWarning)
        mapped = defs.map_asset_specs(func=_apply)
    return dg.Definitions.merge(mapped, dg.Definitions(sensors=[automation_sensor()]))
