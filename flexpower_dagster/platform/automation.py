"""Sensors and declarative automation: files that land flow through to every affected partition.

* One sensor per source system (:func:`build_source_sensor`, instantiated in
  ``defs/<system>/sensors.py``): a thin wrapper over :func:`flexpower_dagster.platform.sensing.plan`.
  It requests, per delivery day, exactly the staging assets of its system whose feed changed, with
  a content-based ``run_key``; unrecognised files go to the tick log (``SkipReason`` or a warning).
* Everything downstream of staging follows through automation conditions applied centrally by
  :func:`with_automation` (``definitions.py``): no job chains in sensors. See docs/automation.md.

DuckDB has one writer: the run queue (``dagster.yaml``: ``max_concurrent_runs: 1``) admits one run
at a time and every run executes in-process, so sensor and automation runs never race for the lock.
"""

import warnings
from collections.abc import Callable, Sequence
from datetime import date

import dagster as dg

from flexpower_dagster.core.landing import SourceSpec
from flexpower_dagster.platform import sensing
from flexpower_dagster.platform.partitions import FIRST_DELIVERY_DAY, daily_partitions
from flexpower_dagster.platform.resources import LandingZone

SYSTEMS = ("crm", "vpp", "dso", "exchange", "imbalance")
SENSOR_INTERVAL_SECONDS = 30
AUTOMATION_SENSOR_NAME = "automation_condition_sensor"
#: Tag on every run a source sensor requests (which system's files triggered it).
TRIGGER_TAG = "flexpower/trigger"

#: Checks that monthly invoicing does not wait for: invoicing isolates inconsistent contracts per
#: contract (a blocked invoice), so one bad contract must not hold back every other invoice.
INVOICING_IGNORES_CHECKS_OF = (dg.AssetKey(["marts", "contracts_in_force"]),)


# --------------------------------------------------------------------------------------------
# source sensors


def system_sources(system: str) -> list[SourceSpec]:
    from flexpower_dagster.platform.sources import all_sources

    return [s for s in all_sources() if s.system == system]


def day_defining_sources() -> list[SourceSpec]:
    from flexpower_dagster.platform.sources import DAY_DEFINING_SOURCES, all_sources

    return [s for s in all_sources() if s.name in DAY_DEFINING_SOURCES]


def partition_day_check() -> Callable[[date], bool]:
    """``day -> bool``: is the delivery day a partition of ``daily_partitions`` now?"""
    last = daily_partitions.get_last_partition_key()
    first_day = date.fromisoformat(FIRST_DELIVERY_DAY)
    last_day = date.fromisoformat(last) if last else first_day
    return lambda d: first_day <= d <= last_day


def run_request_for(req: sensing.DayRequest) -> dg.RunRequest:
    tags = {TRIGGER_TAG: f"{req.system}-files"}
    return dg.RunRequest(
        run_key=req.run_key,
        partition_key=req.partition_key,
        asset_selection=[dg.AssetKey(["staging", s]) for s in req.sources],
        tags=tags,
    )


def evaluate_source_sensor(
    context: dg.SensorEvaluationContext,
    system: str,
    root,
    specs: Sequence[SourceSpec],
    day_defining: Sequence[SourceSpec],
    day_ok: Callable[[date], bool],
) -> dg.SensorResult:
    """The body of a source sensor (separate for tests and the benchmark)."""
    result = sensing.plan(root, system, specs, context.cursor, day_defining_specs=day_defining, day_ok=day_ok)
    if result.problems:
        context.log.warning(sensing.problem_message(result.problems))
    if not result.requests:
        return dg.SensorResult(skip_reason=dg.SkipReason(result.skip_message()), cursor=result.cursor)
    for req in result.requests:
        listed = ", ".join(req.new_files[:5]) + (f" (+{req.n_new_files - 5} more)" if req.n_new_files > 5 else "")
        context.log.info(f"{req.partition_key}: {'; '.join(req.reasons)}" + (f"; new: {listed}" if listed else ""))
    if result.identical:
        context.log.info(f"{len(result.identical)} re-delivered identical feed(s) ignored")
    context.log.info(f"{len(result.requests)} run request(s), {result.files_scanned} files scanned in {result.seconds:.2f}s")
    return dg.SensorResult(run_requests=[run_request_for(r) for r in result.requests], cursor=result.cursor)


def build_source_sensor(
    system: str,
    *,
    specs: Callable[[], Sequence[SourceSpec]] | None = None,
    minimum_interval_seconds: int = SENSOR_INTERVAL_SECONDS,
) -> dg.SensorDefinition:
    """The landing-zone sensor of one source system (running by default, cursor-based).

    ``specs`` (default: the registry's sources of ``system``) is resolved at every tick, so the
    definitions stay importable while a source module is being written.
    """
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}; expected one of {SYSTEMS}")
    get_specs = specs or (lambda: system_sources(system))

    @dg.sensor(
        name=f"{system}_files_sensor",
        description=(
            f"Watches the {system} folders of the landing zone. Each tick requests, per delivery day, the "
            f"{system} staging assets whose files are new or changed (run key = day + content digest: an "
            "identical re-delivery is a no-op, a corrected file a new run). Unrecognised files are listed "
            "in the tick log. Downstream marts follow by automation conditions."
        ),
        target=dg.AssetSelection.groups(f"staging_{system}"),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=minimum_interval_seconds,
    )
    def _sensor(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
        return evaluate_source_sensor(
            context, system, landing.path, get_specs(), day_defining_sources(), partition_day_check()
        )

    return _sensor


# --------------------------------------------------------------------------------------------
# automation conditions

AC = dg.AutomationCondition


def blocking_check_failed_upstream(ignore: Sequence[dg.AssetKey] = ()) -> dg.AutomationCondition:
    """True while a blocking check of a direct upstream asset has failed (and that asset is not
    being re-materialised on this tick: a re-run re-executes its checks, and inside one run a
    failing blocking check already stops the downstream steps)."""
    cond = AC.any_deps_match(
        AC.any_checks_match(AC.check_failed(), blocking_only=True) & ~AC.will_be_requested()
    )
    if ignore:
        cond = cond.ignore(dg.AssetSelection.assets(*ignore))
    return cond.with_label("upstream_blocking_check_failed" + (" (ignoring " + ", ".join(k.to_user_string() for k in ignore) + ")" if ignore else ""))


def daily_condition() -> dg.AutomationCondition:
    """``eager()`` on every partition, not only the latest: a late file for a day weeks ago updates
    that day. Waits for missing or in-progress upstream partitions and while an upstream blocking
    check fails."""
    return (
        (AC.newly_missing() | AC.any_deps_updated()).since_last_handled()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
        & ~blocking_check_failed_upstream()
    ).with_label("eager_all_partitions")


def monthly_condition(ignore_checks_of: Sequence[dg.AssetKey] = INVOICING_IGNORES_CHECKS_OF) -> dg.AutomationCondition:
    """Monthly partitions (invoicing): like :func:`daily_condition`, but a month runs as soon as one
    of its days has data (a month's days are never all present, certainly not before it ends; only
    *monthly* upstream partitions must exist), and it does not wait for the checks of
    ``ignore_checks_of`` (contracts: invoicing blocks per contract, see docs/quality.md)."""
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
        & ~blocking_check_failed_upstream(ignore=ignore_checks_of)
    ).with_label("eager_all_months")


def staging_follow_condition() -> dg.AutomationCondition:
    """Staging assets that read other staging assets (DSO data is validated against the CRM
    metering points) re-run for a day when their upstream changed; their own files are the
    sensors' business (no ``newly_missing``)."""
    return (
        AC.any_deps_updated().since_last_handled()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
        & ~blocking_check_failed_upstream()
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
        run_tags={TRIGGER_TAG: "automation"},
        description="Evaluates the automation conditions of every asset downstream of staging (docs/automation.md).",
    )


def with_automation(defs: dg.Definitions) -> dg.Definitions:
    """``defs`` with the automation conditions applied and the automation sensor added."""
    with warnings.catch_warnings():  # map_asset_specs is "preview" in 1.13; its behaviour is covered by tests
        warnings.simplefilter("ignore", dg.PreviewWarning)
        mapped = defs.map_asset_specs(func=_apply)
    return dg.Definitions.merge(mapped, dg.Definitions(sensors=[automation_sensor()]))
