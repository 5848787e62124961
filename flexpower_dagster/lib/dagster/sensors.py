"""Landing-zone sensors: one per source system, a thin wrapper over :func:`flexpower_dagster.lib.landing.plan.plan`.

Each tick requests, per delivery day, exactly the staging assets of its system whose feed changed,
with a content-based ``run_key``; unrecognised files go to the tick log (``SkipReason`` or a warning).
Everything downstream of staging follows by automation conditions (:mod:`.automation`).
The sensors are built by ``definitions.py`` from the :class:`~.landing_source.LandingSource`
components the domain folders declare (every system's day-defining sources tell each sensor which
delivery days exist). See docs/automation.md.
"""


from collections.abc import Callable, Sequence
from datetime import date

import dagster as dg

from flexpower_dagster.lib.dagster.fast_path import FastPaths
from flexpower_dagster.lib.dagster.jobs import ORIGIN_TAG
from flexpower_dagster.lib.dagster.partitions import RANGE
from flexpower_dagster.lib.dagster.resources import LandingZone
from flexpower_dagster.lib.landing.facts import IN_MEMORY, Facts
from flexpower_dagster.lib.landing.plan import DayRequest, plan, problem_message
from flexpower_dagster.lib.landing.source import SourceSpec

SENSOR_INTERVAL_SECONDS = 30
#: The trading feeds (forecast versions, trade exports) move the desk's position: their sensors tick this often
#: (a tick scans one system's folders; docs/benchmarks.md, "Trading desk latency").
TRADING_FEED_INTERVAL_SECONDS = 5
#: Tag on every run a source sensor requests (which system's files triggered it).
TRIGGER_TAG = "flexpower/trigger"
#: Dagster's run priority tag: the queue serves higher values first (default 0: runs a person starts in the UI
#: or the CLI). Sensor and automation runs queue behind them (docs/automation.md, "People before sensors").
PRIORITY_TAG = "dagster/priority"
#: Landing sensors' runs (staging and the fast path to the desk's position).
BACKGROUND_PRIORITY = "-1"
#: The follow-up work the automation requests (the other marts of a day, the invoice months) and the alert
#: evaluations: after every landing run, so a file never waits for another file's follow-up.
FOLLOW_UP_PRIORITY = "-2"
#: Whole-platform rebuilds (report site, warehouse and audience snapshots): last, coalesced (docs/automation.md).
REBUILD_PRIORITY = "-3"


def partition_day_check() -> Callable[[date], bool]:
    """``day -> bool``: is the delivery day a partition now (first day .. tomorrow or the fixed last day)?"""
    first_day, last_day = RANGE.first_day, RANGE.current_last_day()
    return lambda d: first_day <= d <= last_day


def day_window() -> tuple[date, date]:
    """(first day, horizon): the days a landing file may feed; a file with none inside is refused by rule."""
    return RANGE.first_day, RANGE.horizon()


def run_request_for(req: DayRequest, selection: Sequence[dg.AssetKey] | None = None) -> dg.RunRequest:
    """One run per changed day of the system, queued behind people's runs (:data:`BACKGROUND_PRIORITY`): the
    changed staging assets, or ``selection`` (them and the marts carried along to the desk's position, the fast path:
    :mod:`.fast_path`), so the day's position is updated by this one run.

    Not coalesced into partition ranges: Dagster 1.13 records a range run's asset-check evaluations without a
    partition, so the per-day gates (``all_deps_blocking_checks_passed``) would hold every day of the range
    (docs/automation.md, "People before sensors")."""
    if selection is None:
        selection = [dg.AssetKey(["staging", s]) for s in req.sources]
    return dg.RunRequest(
        run_key=req.run_key,
        partition_key=req.partition_key,
        asset_selection=list(selection),
        tags={TRIGGER_TAG: f"{req.system}-files", ORIGIN_TAG: "sensor", PRIORITY_TAG: BACKGROUND_PRIORITY},
    )


def evaluate_source_sensor(
    context: dg.SensorEvaluationContext,
    system: str,
    root,
    specs: Sequence[SourceSpec],
    day_defining: Sequence[SourceSpec],
    day_ok: Callable[[date], bool],
    facts: Facts = IN_MEMORY,
    settle_seconds: float = 0.0,
    carried: FastPaths | None = None,
) -> dg.SensorResult:
    """The body of a source sensor (separate for tests and the benchmark)."""
    result = plan(
        root, system, specs, context.cursor, day_defining_specs=day_defining, day_ok=day_ok, facts=facts,
        settle_seconds=settle_seconds, window=day_window(),
    )
    if result.problems:
        context.log.warning(problem_message(result.problems))
    if not result.requests:
        return dg.SensorResult(skip_reason=dg.SkipReason(result.skip_message()), cursor=result.cursor)
    for req in result.requests:
        listed = ", ".join(req.new_files[:5]) + (f" (+{req.n_new_files - 5} more)" if req.n_new_files > 5 else "")
        context.log.info(f"{req.partition_key}: {'; '.join(req.reasons)}" + (f"; new: {listed}" if listed else ""))
    if result.identical:
        context.log.info(f"{len(result.identical)} re-delivered identical feed(s) ignored")
    if result.already_loaded:
        context.log.info(f"{len(result.already_loaded)} feed(s) already loaded by another run")
    context.log.info(f"{len(result.requests)} run request(s), {result.files_scanned} files scanned in {result.seconds:.2f}s")
    materialized: dict[dg.AssetKey, set[str]] = {}  # per tick: one query per asset, not per asset and day
    return dg.SensorResult(
        run_requests=[run_request_for(r, _selection(context, r, carried, materialized)) for r in result.requests],
        cursor=result.cursor,
    )


def _selection(
    context: dg.SensorEvaluationContext, req: DayRequest, carried: FastPaths | None, materialized: dict[dg.AssetKey, set[str]]
) -> list[dg.AssetKey] | None:
    """The fast path's selection for the request's day: a carried mart only when each of its inputs is in the run or
    has the day's partition (what the automation waits for); ``None``: staging only. ``materialized``: the asset's
    materialised partitions, asked of the instance once per asset and tick (a first tick requests a run per day)."""
    if carried is None or not any(s in carried.paths for s in req.sources):
        return None

    def has_partition(key: dg.AssetKey) -> bool:
        if key not in materialized:
            materialized[key] = set(context.instance.get_materialized_partitions(key))
        return req.partition_key in materialized[key]

    return carried.selection(req.sources, has_partition)


def build_source_sensor(
    system: str,
    specs: Sequence[SourceSpec],
    day_defining: Sequence[SourceSpec] = (),
    *,
    minimum_interval_seconds: int = SENSOR_INTERVAL_SECONDS,
    carried: FastPaths | None = None,
) -> dg.SensorDefinition:
    """The landing-zone sensor of one source system (running by default, cursor-based).

    ``day_defining`` are the sources of every system whose files make a delivery day exist; ``carried`` maps a
    source of this system to the marts its runs carry (the fast path, :mod:`.fast_path`).
    """
    specs, day_defining = tuple(specs), tuple(day_defining)
    carried = carried.only(s.name for s in specs) if carried is not None else None
    marts = sorted({k for path in (carried.paths.values() if carried else ()) for k in path}, key=lambda k: k.to_user_string())

    @dg.sensor(
        name=f"{system}_files_sensor",
        description=(
            f"Watches the {system} folders of the landing zone. Each tick requests, per delivery day, the "
            f"{system} staging assets whose files are new or changed (run key = day + content digest: an "
            "identical re-delivery is a no-op, a corrected file a new run). Unrecognised files are listed "
            "in the tick log. Its runs carry the marts on the way to the desk's position (fast path); the other "
            "marts follow by automation conditions."
        ),
        target=dg.AssetSelection.groups(f"staging_{system}") | dg.AssetSelection.assets(*marts),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=minimum_interval_seconds,
    )
    def _sensor(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
        return evaluate_source_sensor(
            context, system, landing.path, specs, day_defining, partition_day_check(), facts=landing.facts(),
            settle_seconds=landing.settle_seconds, carried=carried,
        )

    return _sensor
