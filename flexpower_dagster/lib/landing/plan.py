"""What changed in the landing zone since the last sensor tick (pure: no Dagster import).

The source sensors (:mod:`flexpower_dagster.lib.dagster.sensors`) are thin wrappers over :func:`plan`.

Model
-----
For every source and every delivery day the platform knows, the *feed* of (source, day) is the set
of files that :func:`flexpower_dagster.lib.landing.load.load_day` would read for that day:

* ``events`` sources: the files whose ``spec.days_covered`` contains the day;
* ``snapshot`` sources (CRM contracts, VPP technical data): the newest snapshot taken before the
  end of the day. A snapshot therefore feeds the days from its creation until the next snapshot,
  limited to the *landing days* (days for which per-asset or per-day data exists, see
  the sources declared with ``defines_days``): never hundreds of empty days.

Every source also gets a (possibly empty) feed for every landing day, so that each staging asset has
a partition for each day with data and the marts' ``~any_deps_missing`` guard does not wait for a
source that simply has no file that day (e.g. no redispatch flag).

The cursor and its digests: :mod:`flexpower_dagster.lib.landing.cursor`.

Run keys
--------
``<system>:<day>:<digest of the selected sources' content digests and generations>``. A
re-delivered identical file never reaches a run request (same content digest); a corrected file
changes the content digest and bumps the generation, so it always makes a new run (even when the
content goes back to an earlier state, whose bare digest was already used by an earlier run).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from flexpower_dagster.lib.landing.cursor import (
    MAX_REMEMBERED_UNRECOGNISED,
    CursorState,
    SourceState,
    aggregate_digest,
    content_digest,
    day_key,
    digest,
    parse_day_key,
    stat_digest,
)
from flexpower_dagster.lib.landing.facts import CACHE, IN_MEMORY, Facts, bounded_put
from flexpower_dagster.lib.landing.files import DIR_MARGIN_NS, Inventory, landing_days, scan, unchanged
from flexpower_dagster.lib.landing.source import ContentDays, LandingFile, SourceSpec

#: File names listed per run request (tags/logs); the rest is counted.
MAX_LISTED_FILES = 20
#: Files a tick may hash to learn the content digests of changed feeds (about 0.1-0.2 s). A feed needing more is
#: compared by its stat digest instead (first sight of a big zone: the staging load hashes what it reads).
HASH_FILES_PER_TICK = 2_000


# --------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class DayRequest:
    """One run to request: the staging assets of ``sources`` for delivery ``day``."""

    system: str
    day: date
    sources: tuple[str, ...]  # staging table names, sorted
    run_key: str
    new_files: tuple[str, ...]  # files newer than the previous high-water mark feeding the day (truncated)
    n_new_files: int
    reasons: tuple[str, ...]  # per source: "new day", "changed feed", ...

    @property
    def partition_key(self) -> str:
        return self.day.isoformat()


@dataclass(frozen=True)
class FileProblem:
    """A file the sensor could not place: reported in the tick log, never fatal."""

    file: str
    reason: str


@dataclass
class Plan:
    requests: list[DayRequest] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)  # newly seen unrecognised/undated/refused files
    waiting: list[str] = field(default_factory=list)  # files still being written: planned once complete
    identical: list[tuple[str, date]] = field(default_factory=list)  # re-delivered identical feeds
    already_loaded: list[tuple[str, date]] = field(default_factory=list)  # feeds a run (CLI, UI, ...) already loaded
    pending: list[tuple[str, date]] = field(default_factory=list)  # changed feeds whose day is not a partition yet
    cursor: str = ""
    files_scanned: int = 0
    seconds: float = 0.0
    known_zone: bool = False  # a first tick over the zone as the store's last plan saw it, every feed loaded

    def skip_message(self) -> str:
        """Why this tick requests nothing (and what it saw)."""
        parts = [f"no new or changed files ({self.files_scanned} files scanned)"]
        if self.known_zone:
            parts.append("the zone is as the last plan of this system left it and every feed of it is loaded")
        if self.waiting:
            parts.append(f"{len(self.waiting)} file(s) still being written, e.g. {self.waiting[0]}")
        if self.already_loaded:
            parts.append(
                f"{len(self.already_loaded)} feed(s) already loaded by another run (make run, the UI): "
                + ", ".join(f"{s} {d}" for s, d in self.already_loaded[:10])
            )
        if self.identical:
            parts.append(
                f"{len(self.identical)} re-delivered identical feed(s) ignored: "
                + ", ".join(f"{s} {d}" for s, d in self.identical[:10])
            )
        if self.pending:
            parts.append(
                f"{len(self.pending)} changed feed(s) wait for their day to become a partition: "
                + ", ".join(f"{s} {d}" for s, d in self.pending[:10])
            )
        if self.problems:
            parts.append(problem_message(self.problems))
        return "; ".join(parts)


def problem_message(problems: Sequence[FileProblem], limit: int = 50) -> str:
    lines = [f"{len(problems)} file(s) skipped:"] + [f"  {p.file}: {p.reason}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more")
    return "\n".join(lines)


def _days_of(
    spec: SourceSpec, files: list[LandingFile], problems: list[FileProblem], facts: Facts
) -> dict[str, frozenset[date]]:
    out: dict[str, frozenset[date]] = {}
    for f in files:
        try:
            days = facts.days(spec, f)
        except Exception as exc:  # days_covered must not raise; if it does, the file is reported
            problems.append(FileProblem(f.name, f"{spec.name}: cannot tell its delivery days ({type(exc).__name__}: {exc})"))
            continue
        if not days:
            problems.append(FileProblem(f.name, f"{spec.name}: covers no delivery day"))
            continue
        out[f.name] = days
    return out


def _folder_signature(root: Path, specs: Sequence[SourceSpec]) -> str:
    """Digest of the day-defining folders' modification times: unchanged when no file was added,
    removed or renamed there (the landing days only depend on which files exist)."""
    parts = []
    for folder in sorted({s.folder.strip("/") for s in specs}):
        try:
            parts.append(f"{folder}={os.stat(root / folder).st_mtime_ns}")
        except OSError:
            parts.append(f"{folder}=-")
    return digest(parts)


def _recently_changed(root: Path, specs: Sequence[SourceSpec], settle_seconds: float) -> bool:
    """A day-defining folder changed within the settle time (plus the clock margin, waited out when that is all)
    before now."""

    def newest() -> int:
        mtimes = [0]
        for folder in {s.folder.strip("/") for s in specs}:
            with contextlib.suppress(OSError):
                mtimes.append(os.stat(root / folder).st_mtime_ns)
        return max(mtimes)

    changed = newest()
    if changed > time.time_ns() - DIR_MARGIN_NS:
        time.sleep(DIR_MARGIN_NS / 1e9)
        changed = newest()
    return changed > time.time_ns() - int(settle_seconds * 1e9) - DIR_MARGIN_NS


def _defined_days(
    root: Path, defining: Sequence[SourceSpec], inventory: Inventory, own: set[str], facts: Facts, settle_seconds: float
) -> frozenset[date]:
    """The days the ``defining`` sources' files feed: the own sources' files from ``inventory``, the other systems'
    scanned — by name only where the name dates the file (no ``stat`` of 190,000 forecast files), with size and
    mtime where the content does (its facts are kept per fingerprint)."""
    files = dict(inventory.files)
    by_name = [s for s in defining if s.name not in own and not isinstance(s.days_covered, ContentDays)]
    by_content = [s for s in defining if s.name not in own and isinstance(s.days_covered, ContentDays)]
    if by_name:
        files.update(scan(root, by_name, names_only=True).files)
    if by_content:
        files.update(scan(root, by_content, settle_seconds=settle_seconds).files)
    return landing_days(root, defining, Inventory(files, []), facts)


def _landing_days(
    root: Path,
    specs: Sequence[SourceSpec],
    inventory: Inventory,
    day_defining_specs: Sequence[SourceSpec],
    state: CursorState,
    facts: Facts,
    settle_seconds: float = 0.0,
) -> frozenset[date]:
    """The landing days, recomputed only when a day-defining folder changed (the cursor and a
    per-process cache hold the last answer: content-dated files are not parsed on every tick)."""
    own = {s.name for s in specs}
    defining = [s for s in (*specs, *day_defining_specs) if s.defines_days]
    defining = list({s.name: s for s in defining}.values())
    sig = _folder_signature(root, defining)
    if sig == state.landing_sig:
        return frozenset(state.landing_days)
    if _recently_changed(root, defining, settle_seconds):
        # a file there may still be settling (or another may land within the file system's clock tick): these
        # landing days are not remembered under this signature, the next tick computes them again
        state.landing_sig, state.landing_days = "", []
        return _defined_days(root, defining, inventory, own, facts, settle_seconds)
    cache_key = ("landing_days", str(root), sig)
    cached = CACHE.listings.get(cache_key)
    if cached is None:
        cached = _defined_days(root, defining, inventory, own, facts, settle_seconds)
        bounded_put(CACHE.listings, cache_key, cached, 256)
    state.landing_sig, state.landing_days = sig, sorted(cached)
    return cached


# --------------------------------------------------------------------------------------------
# feeds


def feeds(
    spec: SourceSpec,
    files: list[LandingFile],
    landing_days: frozenset[date],
    problems: list[FileProblem],
    facts: Facts = IN_MEMORY,
    window: tuple[date, date] | None = None,
) -> dict[date, list[LandingFile]]:
    """(day -> files feeding it) for one source: every landing day, and only those (maybe empty). A day no
    day-defining file names (an imbalance estimate reaching past the forecasts) gets its feed once such a file
    lands, so ``make run`` (which builds the landing days) and the sensors agree on the days.

    ``window`` (first day, horizon): an events file feeds only its days inside it; a file with none there is
    refused with its rule (``before_first_day``, ``day_out_of_window``) in ``problems``."""
    out: dict[date, list[LandingFile]] = {d: [] for d in landing_days}
    if spec.kind == "snapshot":
        timed: list[tuple[datetime, str, LandingFile]] = []
        for f in files:
            try:
                timed.append((spec.file_time(f.basename), f.name, f))
            except Exception as exc:
                problems.append(FileProblem(f.name, f"{spec.name}: cannot tell when the snapshot was taken ({type(exc).__name__}: {exc})"))
        timed.sort(key=lambda t: (t[0], t[1]))
        i, newest = 0, None
        for d in sorted(landing_days):
            day_end = datetime(d.year, d.month, d.day) + timedelta(days=1)
            while i < len(timed) and timed[i][0] < day_end:
                newest = timed[i][2]
                i += 1
            if newest is not None:
                out[d].append(newest)
        return out
    days_by_file = _days_of(spec, files, problems, facts)
    by_name = {f.name: f for f in files}
    # a file's days -> the landing days inside the window they feed, or the rule they break (once per set of days:
    # a forecast version's files share theirs)
    fed: dict[frozenset[date], list[date] | str] = {}
    for name, days in days_by_file.items():
        if days not in fed:
            kept = days if window is None else frozenset(d for d in days if window[0] <= d <= window[1])
            fed[days] = sorted(kept & out.keys()) if kept else _outside_window(spec, days, window)
        targets = fed[days]
        if isinstance(targets, str):
            problems.append(FileProblem(name, targets))
            continue
        for d in targets:  # only landing days: a price file reaching past the data feeds no new day
            out[d].append(by_name[name])
    return out


def _outside_window(spec: SourceSpec, days: frozenset[date], window: tuple[date, date] | None) -> str:
    """The rule a file breaks whose delivery days all lie outside the partition window."""
    assert window is not None
    span = f"{min(days)}" + (f"..{max(days)}" if len(days) > 1 else "")
    if max(days) < window[0]:
        return (f"{spec.name}: rule before_first_day: its delivery day(s) {span} lie before the first day "
                f"{window[0]} (FLEXPOWER_FIRST_DAY, the go-live): refused, not loaded")
    return (f"{spec.name}: rule day_out_of_window: its delivery day(s) {span} lie after {window[1]} "
            "(more than a week ahead): refused, not loaded")


# --------------------------------------------------------------------------------------------
# the plan of one tick


def _content_within(feed: list[LandingFile], facts: Facts, budget: list[int], folder: str, prefetched: set[str]) -> str:
    """The feed's content digest when the hashes it still needs fit in this tick's ``budget`` (files; spent), else
    "" (not known: the feed is compared by its stat digest, and its hashes come from the staging load that reads
    the files anyway, or from a later tick). What the store knows about ``folder`` is fetched once per tick."""
    if len(feed) > budget[0]:
        if folder not in prefetched:
            facts.prefetch(feed, folder)
            prefetched.add(folder)
        unknown = 0
        for f in feed:
            if facts.cached(f).sha256 is None:
                unknown += 1
                if unknown > budget[0]:
                    return ""
    else:
        unknown = sum(1 for f in feed if facts.of(f).sha256 is None)
    budget[0] -= unknown
    return content_digest(feed, facts)


def _quiet(root: Path, state: CursorState, window_keys: list[str], defining: Sequence[SourceSpec]) -> bool:
    """Nothing can have changed since the plan that wrote ``state``: the same day window, no feed left pending, the
    day-defining folders' mtimes as they were (the landing days), and every own folder unchanged
    (:func:`~flexpower_dagster.lib.landing.files.unchanged`: directory mtime, no file being written, a sweep of
    its files' mtimes). Costs a few ``stat`` calls and the sweep; lists no folder this process has listed."""
    if not state.folders or state.pending or state.window != window_keys:
        return False
    if _folder_signature(root, defining) != state.landing_sig:
        return False
    return all(unchanged(root, folder, folder_state) for folder, folder_state in state.folders.items())



def plan(
    root: Path,
    system: str,
    specs: Sequence[SourceSpec],
    cursor: str | None,
    *,
    day_defining_specs: Sequence[SourceSpec] = (),
    day_ok: Callable[[date], bool] = lambda d: True,
    facts: Facts = IN_MEMORY,
    settle_seconds: float = 0.0,
    window: tuple[date, date] | None = None,
) -> Plan:
    """Compare the landing zone with ``cursor`` for the sources ``specs`` of one ``system``.

    ``day_defining_specs`` are the sources (of every system) whose files define the landing days
    (default: none, then only ``specs`` themselves count if they are day-defining); ``day_ok(day)``
    says whether the day is a partition yet (changed feeds of other days stay pending, i.e. are
    not written to the cursor, and are planned again on the next tick). ``facts`` is what is known about
    the files (hashes, days, parsed rows of content-dated files, shared with the staging runs) and what the
    staging runs loaded (:meth:`Facts.loaded`): a feed already loaded by any run (``make run``, a
    person's run) is written to the cursor without a request. ``window`` (first day, horizon): days outside
    it are no landing days, and a file feeding none inside it is refused by rule (:func:`feeds`).

    What the tick learns (hashes, content days) goes to the store in one transaction (:meth:`Facts.batched`).
    """
    with facts.batched():
        return _plan(root, system, specs, cursor, day_defining_specs, day_ok, facts, settle_seconds, window)


def _plan(
    root: Path,
    system: str,
    specs: Sequence[SourceSpec],
    cursor: str | None,
    day_defining_specs: Sequence[SourceSpec],
    day_ok: Callable[[date], bool],
    facts: Facts,
    settle_seconds: float,
    window: tuple[date, date] | None,
) -> Plan:
    t0 = time.perf_counter()
    state = CursorState.decode(cursor)
    window_keys = [d.isoformat() for d in window] if window is not None else []
    defining = list({s.name: s for s in (*specs, *day_defining_specs) if s.defines_days}.values())
    if _quiet(root, state, window_keys, defining):  # nothing listed, nothing read: the same cursor
        return Plan(cursor=cursor or "", files_scanned=state.n_files, seconds=time.perf_counter() - t0)
    if not state.sources:  # a first tick (or a lost cursor): maybe a zone this store planned before, loaded since
        known = _planned_and_loaded(root, system, specs, facts, window_keys, defining)
        if known is not None:
            return Plan(cursor=known.encode(), files_scanned=known.n_files, seconds=time.perf_counter() - t0,
                        known_zone=True)
    top_folders = {s.folder.strip("/").split("/")[0] for s in specs}
    inventory = scan(root, specs, extra_folders=top_folders, settle_seconds=settle_seconds)
    landing = _landing_days(root, specs, inventory, day_defining_specs, state, facts, settle_seconds)
    if window is not None:
        landing = frozenset(d for d in landing if window[0] <= d <= window[1])
    landing_stamp = digest(day_key(d) for d in sorted(landing))

    result = Plan(files_scanned=inventory.n_files, waiting=inventory.waiting)
    any_pending = False
    problems: list[FileProblem] = [FileProblem(n, "file name matches no known pattern of this folder") for n in inventory.unmatched]
    problems += [FileProblem(n, reason) for n, reason in inventory.refused]
    changed: dict[date, list[tuple[str, str, str]]] = {}  # day -> [(source, content, gen)]
    reasons: dict[date, list[str]] = {}
    new_files: dict[date, list[list[str]]] = {}  # per day, per source: its new files' names, sorted
    budget, prefetched = [HASH_FILES_PER_TICK], set()

    for spec in specs:
        files = inventory.files[spec.name]
        prev = state.sources.get(spec.name, SourceState())
        agg = aggregate_digest(files, landing_stamp)
        hwm = max((f.mtime_ns for f in files), default=prev.hwm)
        if agg == prev.agg:  # fast path: no fingerprint and no landing day changed for this source
            continue
        day_feeds = feeds(spec, files, landing, problems, facts, window)
        loaded = facts.loaded(spec.name)
        new_days = dict(prev.days)
        all_pending = False
        for key in set(new_days):  # days that disappeared: their feed is now empty
            d = parse_day_key(key)
            day_feeds.setdefault(d, [])
        for d, feed in day_feeds.items():
            key = day_key(d)
            stat = stat_digest(feed)
            old = prev.days.get(key)
            old_stat, old_content, old_gen = old.split(".") if old else ("", "", "-1")
            if stat == old_stat:
                continue
            loaded_stat, loaded_content = loaded.get(d, ("", ""))
            content = loaded_content if stat == loaded_stat else _content_within(feed, facts, budget, spec.folder.strip("/"), prefetched)
            if old is not None and content and content == old_content:
                new_days[key] = f"{stat}.{content}.{old_gen}"
                result.identical.append((spec.name, d))
                continue
            if stat == loaded_stat or (content and content == loaded_content):  # a run of any origin holds this feed
                new_days[key] = f"{stat}.{content}.{int(old_gen) + 1 if old is not None else 0}"
                result.already_loaded.append((spec.name, d))
                continue
            if not day_ok(d):
                result.pending.append((spec.name, d))
                all_pending = True
                continue
            gen = str(int(old_gen) + 1) if old is not None else "0"
            new_days[key] = f"{stat}.{content}.{gen}"
            changed.setdefault(d, []).append((spec.name, content or f"s{stat}", gen))
            reasons.setdefault(d, []).append(f"{spec.name}: {'new day' if old is None else 'changed feed'} ({len(feed)} file(s))")
            new_files.setdefault(d, []).append(
                [f.name for f in feed] if prev.hwm == 0 else sorted(f.name for f in feed if f.mtime_ns > prev.hwm))
        # a source with pending days keeps its old aggregate, so the next tick looks again
        state.sources[spec.name] = SourceState(hwm=hwm, agg=prev.agg if all_pending else agg, days=new_days)
        any_pending = any_pending or all_pending

    for d in sorted(changed):
        entries = sorted(changed[d])
        request_digest = digest(f"{s}={c}.{g}" for s, c, g in entries)
        per_source = new_files.get(d, [])  # a name belongs to one source: the sources' lists are disjoint
        listed = list(itertools.islice(heapq.merge(*(sorted(n) for n in per_source)), MAX_LISTED_FILES))
        result.requests.append(
            DayRequest(
                system=system,
                day=d,
                sources=tuple(s for s, _, _ in entries),
                run_key=f"{system}:{d.isoformat()}:{request_digest}",
                new_files=tuple(listed),
                n_new_files=sum(len(n) for n in per_source),
                reasons=tuple(reasons[d]),
            )
        )

    # report each unrecognised/undated file once (while it stays in the landing zone)
    seen = set(state.reported)
    present = {f.name for v in inventory.files.values() for f in v} | set(inventory.unmatched) | {n for n, _ in inventory.refused}
    current = {p.file for p in problems} | (seen & present)  # fast-pathed sources keep theirs
    result.problems = sorted((p for p in problems if p.file not in seen), key=lambda p: p.file)
    state.reported = sorted(current)[:MAX_REMEMBERED_UNRECOGNISED]
    state.folders, state.window, state.pending, state.n_files = inventory.folders, window_keys, any_pending, inventory.n_files
    result.cursor = state.encode()
    facts.record_plan(system, result.cursor)  # for a first tick of another instance (:func:`_planned_and_loaded`)
    result.seconds = time.perf_counter() - t0
    return result


def _planned_and_loaded(
    root: Path, system: str, specs: Sequence[SourceSpec], facts: Facts, window_keys: list[str], defining: Sequence[SourceSpec]
) -> CursorState | None:
    """The state of the last full plan of ``system`` in the store (any process, any Dagster instance) when the zone is
    still as that plan saw it (:func:`_quiet`: folder and file mtimes, landing days, day window) and every feed of it
    has been loaded since (the staging loads' memory, :meth:`Facts.loaded`, holds the same stat digest per day): a
    full plan would then request nothing either (each feed "already loaded"), so the tick lists no folder and reads
    no file. None: plan in full."""
    stored = facts.last_plan(system)
    if not stored:
        return None
    state = CursorState.decode(stored)
    if set(state.sources) != {s.name for s in specs} or not _quiet(root, state, window_keys, defining):
        return None
    for name, source in state.sources.items():
        loaded = facts.loaded(name)
        for key, value in source.days.items():
            if loaded.get(parse_day_key(key), ("", ""))[0] != value.split(".", 1)[0]:
                return None
    return state

