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

DuckDB has one writer: every step that opens the warehouse is in the ``warehouse`` pool and the run queue
(``dagster.yaml``: pools per run, limit 1) admits one run holding it at a time; the site builds, which read only the
snapshots, run beside it in the ``site`` pool (:mod:`.lanes`). Every run executes in-process.
"""

import warnings

import dagster as dg
from dagster._core.events import DagsterEventType

from flexpower_dagster.lib.dagster.jobs import ORIGIN_TAG, WRITES_TAG
from flexpower_dagster.lib.dagster.lanes import SITE_POOL
from flexpower_dagster.lib.dagster.sensors import (
    FOLLOW_UP_PRIORITY,
    PRIORITY_TAG,
    REBUILD_PRIORITY,
    SENSOR_INTERVAL_SECONDS,
    TRIGGER_TAG,
)

AUTOMATION_SENSOR_NAME = "automation_condition_sensor"
#: Evaluates the unpartitioned assets over all days that open the warehouse (the warehouse and audience snapshots) on
#: its own, slower cadence and with the lowest priority: a short run in the writer lane (docs/automation.md).
REBUILD_SENSOR_NAME = "rebuild_automation_sensor"
#: Evaluates the site builds (report site, audience sites: pool ``site``), which follow each new snapshot in the other
#: lane, beside the warehouse writer; a landing file's run never waits for them (docs/automation.md, "Concurrency").
SITE_SENSOR_NAME = "site_automation_sensor"
#: The value of :data:`~.jobs.WRITES_TAG` on the rebuild and site runs (and ``report_job``): ``dagster.yaml`` admits
#: one such run at a time, so the snapshots are never replaced while a site is built from them.
REPORT_WRITES = "report"
#: At most one rebuild request per this many seconds: the updates of a stream of files coalesce into one rebuild.
REBUILD_INTERVAL_SECONDS = 300

# --------------------------------------------------------------------------------------------
# automation conditions

AC = dg.AutomationCondition


class UpstreamNewer(dg.AutomationCondition):
    """True for a partition whose newest upstream materialisation is newer than its own latest one.

    A state, not an event: it compares storage ids (the event log's order) of the latest materialisation of
    the partition with those of the upstream partitions it maps to (the same day; the days of an invoice
    month; every partition of an unpartitioned upstream's single one). Whatever the interleaving (an upstream
    update on the tick of the partition's first evaluation, on the tick it is requested, while it runs, in
    another run of the same tick), the partition stays true until a run of its own materialises it after its
    newest upstream. Dagster's ``any_deps_updated().since_last_handled()`` is an event latch that a request or
    a materialisation on the same tick resets, and it lost updates that way (docs/automation.md, "Convergence").
    A partition that has no materialisation of its own is newer-upstream as soon as one upstream has one.
    """

    @property
    def name(self) -> str:
        return "upstream_newer_than_self"

    @property
    def requires_cursor(self) -> bool:
        return False

    def evaluate(self, context):  # AutomationContext -> AutomationResult (Dagster's custom-condition API)
        candidates = context.candidate_subset
        if candidates.is_empty:
            return dg.AutomationResult(context, candidates)
        view, graph, key = context.asset_graph_view, context.asset_graph, context.key
        pdef = graph.get(key).partitions_def
        keys = set(candidates.expensively_compute_partition_keys()) if pdef is not None else {None}
        own = _latest_ids(view.instance, key, pdef)
        newest: dict[str | None, int] = {}
        for parent in graph.get(key).parent_keys:
            if not graph.has(parent) or not graph.get(parent).is_materializable:
                continue
            ppdef = graph.get(parent).partitions_def
            for pk, sid in _mapped(_latest_ids(view.instance, parent, ppdef), pdef, ppdef, keys).items():
                if sid > newest.get(pk, -1):
                    newest[pk] = sid
        true_keys = {pk for pk in keys if newest.get(pk, -1) > own.get(pk, -1)}
        if pdef is None:
            subset = candidates if true_keys else context.get_empty_subset()
        else:
            subset = view.get_subset_from_partition_keys(key, pdef, {k for k in true_keys if k is not None})
        return dg.AutomationResult(context, subset)


def _latest_ids(instance: dg.DagsterInstance, key: dg.AssetKey, pdef) -> dict[str | None, int]:
    """Partition key (None: unpartitioned) -> storage id of its latest materialisation."""
    if pdef is None:
        event = instance.get_latest_materialization_event(key)
        return {} if event is None or event.storage_id is None else {None: event.storage_id}
    return dict(instance.get_latest_storage_id_by_partition(key, DagsterEventType.ASSET_MATERIALIZATION))


def _mapped(ids: dict[str | None, int], pdef, ppdef, keys: set[str | None]) -> dict[str | None, int]:
    """Upstream ids per *downstream* partition key: the newest over the upstream partitions it reads."""
    if not ids:
        return {}
    if ppdef is None:  # one upstream for every partition
        return dict.fromkeys(keys, ids[None])
    if pdef is None:  # an unpartitioned asset over all upstream partitions
        return {None: max(ids.values())}
    if isinstance(pdef, dg.MonthlyPartitionsDefinition) and isinstance(ppdef, dg.DailyPartitionsDefinition):
        out: dict[str | None, int] = {}
        for day, sid in ids.items():  # month key 2025-06-01 <- days 2025-06-*
            month = f"{day[:7]}-01"
            if month in keys and sid > out.get(month, -1):
                out[month] = sid
        return out
    return {pk: ids[pk] for pk in keys if pk in ids}  # the same partitions (daily <- daily, monthly <- monthly)


def blocking_check_failed_upstream() -> dg.AutomationCondition:
    """True while a blocking check of a direct upstream partition has failed (and that asset is not
    being re-materialised on this tick: a re-run re-executes its checks). Unlike
    ``~all_deps_blocking_checks_passed()`` it is false for upstream partitions that do not exist."""
    return AC.any_deps_match(
        AC.any_checks_match(AC.check_failed(), blocking_only=True) & ~AC.will_be_requested()
    ).with_label("upstream_blocking_check_failed")


def _not_failed_or_retriggered() -> dg.AutomationCondition:
    """A partition whose last run failed is retried once per upstream update, not on every tick."""
    return (~AC.execution_failed() | AC.any_deps_updated().since_last_handled()).with_label("not_failed_or_upstream_updated")


def daily_condition() -> dg.AutomationCondition:
    """Every partition (a late file for a day weeks ago updates that day) whose upstream is newer than itself,
    or whose upstream of the same day is requested on this tick (it joins that run, after it in the run's
    order); never while an upstream is missing or in progress or a blocking check upstream failed."""
    return (
        (UpstreamNewer() | AC.any_deps_match(AC.will_be_requested()).with_label("upstream_requested_this_tick"))
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
        & _not_failed_or_retriggered()
        & AC.all_deps_blocking_checks_passed()
    ).with_label("eager_all_partitions")


def monthly_condition() -> dg.AutomationCondition:
    """Monthly partitions (invoicing): a month runs once one of its days has data and every day it reads is
    settled: no daily upstream requested on this tick or in progress (its run is separate from the days' runs, so it
    must start after them), and its upstream is newer than itself or a monthly upstream of the month is requested on
    this tick (it joins that run). Only *monthly* upstream partitions must exist
    (a month's days are never all there before it ends); it waits while an upstream blocking check fails."""
    daily = dg.AssetSelection.tag("cadence", "daily")  # convention: daily assets carry DAILY_TAGS
    monthly_dep_missing = (
        AC.any_deps_match(AC.missing() & ~AC.will_be_requested()).ignore(daily).with_label("any_monthly_deps_missing")
    )
    return (
        # a monthly upstream of the same month requested on this tick: join its run (Dagster orders the steps), so
        # an update of the month is one run (invoice_lines, invoices, invoice_documents), not one run per tick
        (UpstreamNewer() | AC.any_deps_match(AC.will_be_requested()).ignore(daily).with_label("monthly_upstream_requested_this_tick"))
        & AC.any_deps_match(~AC.missing() | AC.will_be_requested()).with_label("any_dep_has_data")
        & ~monthly_dep_missing
        & ~AC.any_deps_match(AC.will_be_requested()).allow(daily).with_label("no_daily_upstream_requested_this_tick")
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
        & _not_failed_or_retriggered()
        & ~blocking_check_failed_upstream()
    ).with_label("eager_all_months")


def staging_follow_condition() -> dg.AutomationCondition:
    """Staging assets that read other staging assets (DSO data is validated against the CRM
    metering points) re-run for a day whose upstream is newer than themselves; their own files, and which
    days exist, are the sensors' business (a missing partition is not requested here)."""
    return (
        UpstreamNewer()
        & ~AC.missing()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
        & _not_failed_or_retriggered()
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


def _rebuilds(defs: dg.Definitions) -> tuple[dg.AssetSelection, dg.AssetSelection]:
    """The unpartitioned assets that carry the site condition (rebuilt over every day): those that open the warehouse
    (the snapshots: writer lane) and the site builds (pool ``site``: the other lane)."""
    writer, site = [], []
    for assets_def in defs.assets or ():
        pool = getattr(getattr(assets_def, "node_def", None), "pool", None)
        for spec in getattr(assets_def, "specs", ()):
            if spec.partitions_def is None and spec.key.path[0] != "staging" and spec.automation_condition is not None:
                (site if pool == SITE_POOL else writer).append(spec.key)
    return dg.AssetSelection.assets(*writer), dg.AssetSelection.assets(*site)


def automation_sensors(
    rebuilds: dg.AssetSelection = dg.AssetSelection.assets(), sites: dg.AssetSelection = dg.AssetSelection.assets()
) -> list[dg.AutomationConditionSensorDefinition]:
    """The follow-up sensor (every asset but ``rebuilds`` and ``sites``, every 30 s, after the landing sensors' runs),
    the rebuild sensor (``rebuilds``, every :data:`REBUILD_INTERVAL_SECONDS`, last in the queue) and the site sensor
    (``sites``, every 30 s: a site build follows a new snapshot). Two sensors, so that one run never holds both a
    snapshot step (writer lane) and a site build (the other lane): a run is admitted by the pools of all its steps."""

    def sensor(name, target, interval, priority, description, tags=None):
        return dg.AutomationConditionSensorDefinition(
            name,
            target=target,
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=interval,
            emit_backfills=False,  # one run per partition through the run queue
            use_user_code_server=True,  # UpstreamNewer is Python: evaluated in the code server, not in the daemon
            run_tags={TRIGGER_TAG: "automation", ORIGIN_TAG: "automation", PRIORITY_TAG: priority, **(tags or {})},
            description=description,
        )

    return [
        sensor(AUTOMATION_SENSOR_NAME, dg.AssetSelection.all() - rebuilds - sites, SENSOR_INTERVAL_SECONDS,
               FOLLOW_UP_PRIORITY,
               "Evaluates the automation conditions of every asset downstream of staging but the site and snapshots "
               "(docs/automation.md); its runs queue after the landing sensors' runs."),
        sensor(REBUILD_SENSOR_NAME, rebuilds, REBUILD_INTERVAL_SECONDS, REBUILD_PRIORITY,
               "Rebuilds the warehouse and audience snapshots after updates, at most every "
               f"{REBUILD_INTERVAL_SECONDS // 60} minutes and last in the queue: a short run in the warehouse writer's "
               "lane (docs/automation.md).", {WRITES_TAG: REPORT_WRITES}),
        sensor(SITE_SENSOR_NAME, sites, SENSOR_INTERVAL_SECONDS, REBUILD_PRIORITY,
               "Rebuilds the report site and the audience sites from each new snapshot, in the `site` pool beside the "
               "warehouse writer: they never open the live warehouse (docs/automation.md, \"Concurrency\").",
               {WRITES_TAG: REPORT_WRITES}),
    ]


def with_automation(defs: dg.Definitions) -> dg.Definitions:
    """``defs`` with the automation conditions applied and the automation sensor added."""
    with warnings.catch_warnings():  # map_asset_specs is "preview" in 1.13; its behaviour is covered by tests
        warnings.simplefilter("ignore", dg.PreviewWarning)
        mapped = defs.map_asset_specs(func=_apply)
    return dg.Definitions.merge(mapped, dg.Definitions(sensors=automation_sensors(*_rebuilds(mapped))))
