"""Loading one source for one delivery day, rows in pandas: the sources with a few files a day.

Which files are used, and why the others are not, is decided by :func:`flexpower_dagster.lib.landing.rules.classify`
(the rules every load shares). :func:`load_day` reads what it asks for — the SHA-256 of files of equal size, then
files parsed newest first (then ``validate`` and the source's completeness rule ``SourceSpec.complete``; a file
that breaks a rule is rejected, naming file, row and rule, and the others go on) — and assembles the rows: cut
to the day (``events``), with ``delivery_day`` and ``source_file`` (lineage), the rows stored before from files
rejected now carried forward (``previous``), rows sharing the ``row_key`` taken from the newest file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd

from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.landing.facts import IN_MEMORY, Facts
from flexpower_dagster.lib.landing.files import source_files
from flexpower_dagster.lib.landing.rules import Facts as Learnt
from flexpower_dagster.lib.landing.rules import Known, classify
from flexpower_dagster.lib.landing.source import DayLoad, LandingFile, Rejection, SourceSpec
from flexpower_dagster.lib.sql import day_window

# --------------------------------------------------------------------------------------------
# loading one delivery day

Validator = Callable[[str, pd.DataFrame], pd.DataFrame]


def _parse(spec: SourceSpec, f: LandingFile, validate: Validator | None, facts: Facts) -> pd.DataFrame:
    try:
        if f.size == 0:
            raise SourceFileError(f.name, "empty-file", "the file is empty (0 bytes)")
        df = facts.rows(spec, f)
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


def load_day(
    spec: SourceSpec,
    root: Path,
    day: date,
    previous: pd.DataFrame | None = None,
    validate: Validator | None = None,
    files: list[LandingFile] | None = None,
    facts: Facts = IN_MEMORY,
) -> DayLoad:
    """Load the staging rows of ``spec`` for UTC delivery day ``day`` (see module docstring).

    ``previous`` are the rows currently stored for this day (for carrying forward the rows of
    files that are now rejected); ``validate(name, frame)`` may check a parsed file against other
    data (e.g. metering points known to the contracts) and raise :class:`SourceFileError`.
    ``facts`` shares what reading a file taught with other processes (hash, days, parsed rows)
    and receives each file's outcome (loaded with its rows, or rejected with the rule).
    """
    if files is None:
        files = source_files(root, spec)
    candidates = files if spec.kind == "snapshot" else [f for f in files if day in facts.days_or_empty(spec, f)]
    stored = {} if previous is None else previous["source_file"].value_counts().to_dict()
    known = {name: Known(rows=int(n)) for name, n in stored.items()}  # no fingerprint: counts as changed
    learnt: dict[str, Learnt] = {}
    parsed_frames: dict[str, pd.DataFrame] = {}
    plan = classify(spec, day, candidates, known, learnt)
    while not plan.complete:  # read what the rules ask for, then ask again
        for f in plan.to_hash:
            learnt[f.name] = Learnt(sha256=facts.sha256(f))
        for f in plan.to_read:
            try:
                parsed_frames[f.name] = df = _parse(spec, f, validate, facts)
                fact = Learnt(parsed=True, rows=len(df))
            except SourceFileError as err:
                fact = Learnt(parsed=True, error=Rejection.from_error(spec.name, err))
            learnt[f.name] = replace(fact, sha256=learnt[f.name].sha256 if f.name in learnt else None)
        plan = classify(spec, day, candidates, known, learnt)

    load = DayLoad(frame=spec.table.empty_frame(), files_used=plan.used, rejected=plan.rejected,
                   duplicates=plan.duplicates, superseded=plan.superseded)
    facts.record_many(  # each file's outcome, shared with the sensors
        [(o.file, spec.name, {"n_rows": o.rows, "status": "loaded", "rule": "", "reason": ""}) for o in plan.outcomes
         if o.status == "loaded"]
        + [(o.file, spec.name, {"status": "rejected", "rule": r.rule, "reason": r.reason}) for o in plan.outcomes
           if o.status != "loaded" and (r := o.rejection) is not None]
    )
    day_start, day_end = day_window(day)
    frames = []
    for name in plan.used:
        df = parsed_frames[name]
        if spec.kind == "events":
            t = pd.to_datetime(df[spec.time_column])
            df = df.loc[(t >= day_start) & (t < day_end)]
        frames.append(df.assign(delivery_day=pd.Timestamp(day), source_file=name))
    if plan.carried:  # a broken re-delivery keeps what its earlier version stored
        assert previous is not None
        carried = previous.loc[previous["source_file"].isin(plan.carried)]
        load.carried_forward_rows = len(carried)
        frames.append(carried)

    if not frames:
        return load
    # check each file's columns, but cast once after concatenating: conforming 1,000 small
    # frames one by one (e.g. a day's forecast versions) cost seconds per day
    names = spec.table.column_names
    for df in frames:
        if set(df.columns) != set(names):
            spec.table.conform(df)  # raises, naming the missing / undeclared columns
    frame = spec.table.conform(pd.concat([df.loc[:, names] for df in frames if len(df)] or [spec.table.empty_frame()], ignore_index=True))
    if spec.row_key and len(frame):  # rows sharing a key: the newest file's
        newest_last = sorted((o for o in plan.outcomes if o.has_rows), key=lambda o: (o.time, o.file.name))
        rank = frame["source_file"].map({o.file.name: i for i, o in enumerate(newest_last)})
        frame = frame.assign(_rank=rank).sort_values("_rank", kind="stable").drop_duplicates(subset=list(spec.row_key), keep="last")
        frame = frame.drop(columns="_rank")
    load.frame = spec.table.conform(frame)
    return load
