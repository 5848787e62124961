"""Loading one source for one delivery day: the pure heart of every staging asset.

:func:`load_day` is shared by all sources (:class:`~flexpower_dagster.lib.landing.source.SourceSpec`),
so that superseding, duplicate detection, rejection and lineage work the same everywhere:

1. candidates: files of the source whose delivery days include the day (``events`` sources), or the
   newest snapshot taken before the end of the day (``snapshot`` sources; an unreadable newest
   snapshot falls back to the next older one);
2. byte-identical duplicates (same size, same SHA-256) are dropped, the newest name kept;
3. within a ``supersede_group`` (e.g. the exports of one delivery day) only the newest readable
   file is used, unless it has suspiciously fewer rows than the export it would supersede
   (:func:`shrunk`, rule ``shrunk-redelivery``: a stalled copy cut at a line end);
4. each file is parsed (then ``validate`` and the source's completeness rule ``SourceSpec.complete``);
   a file that breaks a rule is *rejected* with a :class:`Rejection` naming the file, row and rule,
   and the other files go on;
5. rows are cut to the day (``events``) and carry ``delivery_day`` and ``source_file`` (lineage);
6. rows that share the source's ``row_key`` are resolved in favour of the newest file;
7. rows already stored for this day from a file that is now rejected are carried forward, so a
   broken re-delivery never deletes data that was stored before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.landing.files import days_or_empty, file_sha256, parsed, source_files
from flexpower_dagster.lib.landing.manifest import Manifest
from flexpower_dagster.lib.landing.source import DayLoad, LandingFile, Rejection, SourceSpec
from flexpower_dagster.lib.sql import day_window

# --------------------------------------------------------------------------------------------
# loading one delivery day

Validator = Callable[[str, pd.DataFrame], pd.DataFrame]


def _parse(spec: SourceSpec, f: LandingFile, validate: Validator | None, manifest: Manifest | None) -> pd.DataFrame:
    try:
        if f.size == 0:
            raise SourceFileError(f.name, "empty-file", "the file is empty (0 bytes)")
        df = parsed(spec, f, manifest)
        if validate is not None:
            df = validate(f.name, df)
        if spec.complete is not None:  # a well-formed file may still be cut short (a stalled copy)
            spec.complete(df, f.name)
        return df
    except SourceFileError:
        raise
    except UnicodeDecodeError as exc:
        raise SourceFileError(f.name, "encoding", f"not valid UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except Exception as exc:  # one broken file must never stop the others
        raise SourceFileError(f.name, "unreadable", f"{type(exc).__name__}: {exc}") from exc


def _drop_duplicates(spec: SourceSpec, files: list[LandingFile], load: DayLoad, manifest: Manifest | None) -> list[LandingFile]:
    by_size: dict[int, list[LandingFile]] = {}
    for f in files:
        by_size.setdefault(f.size, []).append(f)
    keep: list[LandingFile] = []
    for group in by_size.values():
        if len(group) == 1 or group[0].size == 0:
            keep.extend(group)
            continue
        by_hash: dict[str, list[LandingFile]] = {}
        for f in group:
            by_hash.setdefault(file_sha256(f, manifest), []).append(f)
        for same in by_hash.values():
            same.sort(key=spec.order_key)
            newest = same[-1]
            keep.append(newest)
            load.duplicates.extend((f.name, newest.name) for f in same[:-1])
    return sorted(keep, key=spec.order_key)


def _first_readable(
    spec: SourceSpec, newest_first: list[LandingFile], load: DayLoad, validate: Validator | None, manifest: Manifest | None
) -> tuple[LandingFile, pd.DataFrame] | None:
    for f in newest_first:
        try:
            return f, _parse(spec, f, validate, manifest)
        except SourceFileError as err:
            load.rejected.append(Rejection.from_error(spec.name, err))
    return None


#: A re-delivered export that lost more than this share of the rows of the export it would supersede, and more
#: than :data:`SHRINK_MIN_ROWS` rows, is held (not used, reported): a half-written or stalled export cut at a line
#: end must not silently replace a complete one. A later export of a delivery day normally has as many trades or
#: more; a few cancelled trades are no reason to hold it.
SHRINK_TOLERANCE = 0.10
SHRINK_MIN_ROWS = 10


def shrunk(n_new: int, n_previous: int) -> bool:
    """``n_new`` rows are suspiciously fewer than the ``n_previous`` of the export they would supersede."""
    lost = n_previous - n_new
    return lost > SHRINK_TOLERANCE * n_previous and lost > SHRINK_MIN_ROWS


def _unless_shrunk(
    spec: SourceSpec,
    chosen: tuple[LandingFile, pd.DataFrame] | None,
    members: list[LandingFile],
    load: DayLoad,
    validate: Validator | None,
    manifest: Manifest | None,
) -> tuple[LandingFile, pd.DataFrame] | None:
    """The export to use of a supersede group: the newest readable one, unless it has suspiciously fewer rows
    than the next older readable export (:func:`shrunk`) — then that one stays in use and the newest is held
    (rule ``shrunk-redelivery``; an operator who knows the smaller export is right removes the older one)."""
    if chosen is None:
        return None
    older = [m for m in members if spec.order_key(m) < spec.order_key(chosen[0])]
    for f in older:  # newest first
        try:
            previous = _parse(spec, f, validate, manifest)
        except SourceFileError:
            continue
        if shrunk(len(chosen[1]), len(previous)):
            load.rejected.append(Rejection(
                source=spec.name, file=chosen[0].name, rule="shrunk-redelivery",
                reason=(f"[shrunk-redelivery] {chosen[0].name} has {len(chosen[1])} rows where the export it would "
                        f"supersede, {f.name}, has {len(previous)} (more than {SHRINK_TOLERANCE:.0%} fewer): held as "
                        "suspicious (stalled or cut-off copy?); the older export stays in use. Remove it from the "
                        "landing zone if the smaller export is right."),
            ))
            return f, previous
        return chosen
    return chosen


def load_day(
    spec: SourceSpec,
    root: Path,
    day: date,
    previous: pd.DataFrame | None = None,
    validate: Validator | None = None,
    files: list[LandingFile] | None = None,
    manifest: Manifest | None = None,
) -> DayLoad:
    """Load the staging rows of ``spec`` for UTC delivery day ``day`` (see module docstring).

    ``previous`` are the rows currently stored for this day (for carrying forward the rows of
    files that are now rejected); ``validate(name, frame)`` may check a parsed file against other
    data (e.g. metering points known to the contracts) and raise :class:`SourceFileError`.
    ``manifest`` shares what reading a file taught with other processes (hash, days, parsed rows)
    and receives each file's outcome (loaded with its rows, or rejected with the rule).
    """
    load = DayLoad(frame=spec.table.empty_frame())
    if files is None:
        files = source_files(root, spec)
    day_start, day_end = day_window(day)

    if spec.kind == "snapshot":
        taken = [f for f in files if spec.file_time(f.basename) < day_end]
        taken = _drop_duplicates(spec, taken, load, manifest)
        chosen = _first_readable(spec, sorted(taken, key=spec.order_key, reverse=True), load, validate, manifest)
        used: list[tuple[LandingFile, pd.DataFrame]] = [chosen] if chosen else []
        if chosen:
            load.superseded = [f.name for f in taken if f.name != chosen[0].name and spec.order_key(f) < spec.order_key(chosen[0])]
    else:
        assert spec.days_covered is not None
        candidates = [f for f in files if day in days_or_empty(spec, f, manifest)]
        candidates = _drop_duplicates(spec, candidates, load, manifest)
        groups: dict[Hashable, list[LandingFile]] = {}
        for f in candidates:
            groups.setdefault(spec.supersede_group(f) if spec.supersede_group else f.name, []).append(f)
        used = []
        for members in groups.values():
            members.sort(key=spec.order_key, reverse=True)
            if spec.supersede_group is None:
                for f in members:
                    try:
                        used.append((f, _parse(spec, f, validate, manifest)))
                    except SourceFileError as err:
                        load.rejected.append(Rejection.from_error(spec.name, err))
            else:
                chosen = _first_readable(spec, members, load, validate, manifest)
                chosen = _unless_shrunk(spec, chosen, members, load, validate, manifest)
                if chosen:
                    used.append(chosen)
                    load.superseded.extend(m.name for m in members if spec.order_key(m) < spec.order_key(chosen[0]))

    frames = []
    order = {}
    if manifest is not None:
        by_name = {f.name: f for f in files}
        for f, df in used:
            manifest.put(f, spec.name, n_rows=len(df), status="loaded", rule="", reason="")
        for r in load.rejected:
            if r.file in by_name:
                manifest.put(by_name[r.file], spec.name, status="rejected", rule=r.rule, reason=r.reason)
    for f, df in used:
        if spec.kind == "events":
            t = pd.to_datetime(df[spec.time_column])
            df = df.loc[(t >= day_start) & (t < day_end)]
        df = df.assign(delivery_day=pd.Timestamp(day), source_file=f.name)
        frames.append(df)
        load.files_used.append(f.name)
        order[f.name] = spec.order_key(f)

    # a broken re-delivery keeps what its earlier version stored; a held (shrunk) export was never right
    rejected_names = {r.file for r in load.rejected if r.rule != "shrunk-redelivery"}
    if previous is not None and len(previous) and rejected_names:
        carried = previous.loc[previous["source_file"].isin(rejected_names)]
        if len(carried):
            load.carried_forward_rows = len(carried)
            frames.append(carried)
            by_name = {f.name: f for f in files}
            for name in carried["source_file"].unique():
                order[name] = spec.order_key(by_name[name]) if name in by_name else (datetime.min, name)

    if not frames:
        return load
    # check each file's columns, but cast once after concatenating: conforming 1,000 small
    # frames one by one (e.g. a day's forecast versions) cost seconds per day
    names = spec.table.column_names
    for df in frames:
        if set(df.columns) != set(names):
            spec.table.conform(df)  # raises, naming the missing / undeclared columns
    frame = spec.table.conform(pd.concat([df.loc[:, names] for df in frames if len(df)] or [spec.table.empty_frame()], ignore_index=True))
    if spec.row_key and len(frame):
        rank = frame["source_file"].map({n: i for i, n in enumerate(sorted(order, key=order.__getitem__))})
        frame = (
            frame.assign(_rank=rank)
            .sort_values("_rank", kind="stable")
            .drop_duplicates(subset=list(spec.row_key), keep="last")
            .drop(columns="_rank")
        )
    load.frame = spec.table.conform(frame)
    return load


def rows_of_files(frame: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    return frame.loc[frame["source_file"].isin(set(names))]
