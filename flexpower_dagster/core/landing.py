"""The landing zone: finding a source's files, which delivery days each touches, and loading one day.

Every source is described by a :class:`SourceSpec` (one per row of the source table in
``domain.md``). :func:`load_day` is the pure heart of every staging asset and is shared by all
sources, so that superseding, duplicate detection, rejection and lineage work the same everywhere:

1. candidates: files of the source whose delivery days include the day (``events`` sources), or the
   newest snapshot taken before the end of the day (``snapshot`` sources; an unreadable newest
   snapshot falls back to the next older one);
2. byte-identical duplicates (same size, same SHA-256) are dropped, the newest name kept;
3. within a ``supersede_group`` (e.g. the exports of one delivery day) only the newest readable
   file is used;
4. each file is parsed; a file that breaks a rule is *rejected* with a :class:`Rejection` naming the
   file, row and rule, and the other files go on;
5. rows are cut to the day (``events``) and carry ``delivery_day`` and ``source_file`` (lineage);
6. rows that share the source's ``row_key`` are resolved in favour of the newest file;
7. rows already stored for this day from a file that is now rejected are carried forward, so a
   broken re-delivery never deletes data that was stored before.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

import pandas as pd

from flexpower_dagster.core.errors import SourceFileError
from flexpower_dagster.core.tables import TableSpec

LINEAGE_COLUMNS = ("delivery_day", "source_file")


@dataclass(frozen=True)
class LandingFile:
    """One file in the landing zone, identified by its path relative to the landing root."""

    root: Path
    name: str  # posix path relative to the landing root, e.g. "exchange/Private_Trades-...csv"
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return self.root / self.name

    @property
    def basename(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def fingerprint(self) -> tuple[str, int, int]:
        """What a sensor cursor remembers: a changed size or mtime means a changed file."""
        return (self.name, self.size, self.mtime_ns)


ParseFn = Callable[[Path, str], pd.DataFrame]


@dataclass(frozen=True)
class SourceSpec:
    """How one source's files are recognised, dated, parsed and superseded.

    ``parse(path, name)`` returns the staging columns except the lineage columns and raises
    :class:`SourceFileError` for bad input. ``days_covered`` says which UTC delivery days an
    ``events`` file touches (from the name where that is reliable, from the content where it is
    not; it must not raise: on unreadable content it falls back to a guess from the name, and the
    parse error is then reported for those days). ``file_time`` orders files: newer wins.
    """

    name: str  # staging table name, e.g. "exchange_private_trades"
    system: Literal["crm", "vpp", "dso", "exchange", "imbalance"]
    folder: str  # relative to the landing root
    pattern: re.Pattern[str]  # matched against the file's base name
    table: TableSpec
    parse: ParseFn
    kind: Literal["events", "snapshot"]
    file_time: Callable[[str], datetime]  # from the base name; newer files supersede older ones
    time_column: str | None = None  # events: the instant whose UTC day is the delivery day
    days_covered: Callable[[LandingFile], frozenset[date]] | None = None  # events only
    row_key: tuple[str, ...] = ()  # rows with the same key: the newest file wins
    supersede_group: Callable[[LandingFile], Hashable] | None = None  # only the newest file of a group
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind == "events" and (self.time_column is None or self.days_covered is None):
            raise ValueError(f"{self.name}: events sources need time_column and days_covered")

    def matches(self, basename: str) -> bool:
        return bool(self.pattern.fullmatch(basename))

    def order_key(self, f: LandingFile) -> tuple:
        return (self.file_time(f.basename), f.name)


@dataclass(frozen=True)
class Rejection:
    source: str
    file: str
    rule: str
    reason: str
    row: int | None = None

    @classmethod
    def from_error(cls, source: str, err: SourceFileError) -> Rejection:
        return cls(source=source, file=err.file, rule=err.rule, reason=err.reason, row=err.row)


@dataclass
class DayLoad:
    frame: pd.DataFrame
    files_used: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (ignored copy, kept file)
    superseded: list[str] = field(default_factory=list)
    carried_forward_rows: int = 0


# --------------------------------------------------------------------------------------------
# scanning


def scan(root: Path, spec: SourceSpec) -> tuple[list[LandingFile], list[str]]:
    """The source's files (sorted by name) and the names in its folder that match no pattern."""
    folder = Path(root) / spec.folder
    files: list[LandingFile] = []
    unmatched: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return [], []
    for entry in entries:
        if not entry.is_file() or entry.name.startswith("."):
            continue
        rel = f"{spec.folder}/{entry.name}"
        if spec.matches(entry.name):
            st = entry.stat()
            files.append(LandingFile(Path(root), rel, st.st_size, st.st_mtime_ns))
        else:
            unmatched.append(rel)
    files.sort(key=lambda f: f.name)
    unmatched.sort()
    return files, unmatched


def utc_day_window(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day)
    return start, start + timedelta(days=1)


def days_between(start: datetime, end_exclusive: datetime) -> frozenset[date]:
    """UTC days touched by the instants in ``[start, end_exclusive)``."""
    if end_exclusive <= start:
        return frozenset({start.date()})
    last = (end_exclusive - timedelta(microseconds=1)).date()
    n = (last - start.date()).days
    return frozenset(start.date() + timedelta(days=i) for i in range(n + 1))


@lru_cache(maxsize=4096)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def content_hash(f: LandingFile) -> str:
    return _sha256(str(f.path), f.size, f.mtime_ns)


def cached_by_stat(fn: Callable[[LandingFile], frozenset[date]]) -> Callable[[LandingFile], frozenset[date]]:
    """Memoise a content-based ``days_covered`` on (path, size, mtime): files are read once."""

    @lru_cache(maxsize=65536)
    def _inner(root: str, name: str, size: int, mtime_ns: int) -> frozenset[date]:
        return fn(LandingFile(Path(root), name, size, mtime_ns))

    def wrapper(f: LandingFile) -> frozenset[date]:
        return _inner(str(f.root), f.name, f.size, f.mtime_ns)

    wrapper.__doc__ = fn.__doc__
    wrapper.__name__ = getattr(fn, "__name__", "days_covered")
    return wrapper


def days_from_content(
    parse: ParseFn, guess: Callable[[str], frozenset[date]], column: str = "delivery_start"
) -> Callable[[LandingFile], frozenset[date]]:
    """A cached ``days_covered`` that parses the file and takes the UTC days of ``column``.

    Never raises: when the content is unreadable (or has no rows) it falls back to
    ``guess(basename)``, so the parse error is reported by the load of the guessed days.
    """

    def days_covered(f: LandingFile) -> frozenset[date]:
        try:
            df = parse(f.path, f.name)
            if len(df):
                return frozenset(pd.to_datetime(df[column]).dt.date.unique())
        except Exception:
            pass
        try:
            return frozenset(guess(f.basename))
        except Exception:
            return frozenset()

    days_covered.__doc__ = f"UTC days of the file's {column} (fallback: a guess from the file name)."
    return cached_by_stat(days_covered)


# --------------------------------------------------------------------------------------------
# loading one delivery day

Validator = Callable[[str, pd.DataFrame], pd.DataFrame]


def _parse(spec: SourceSpec, f: LandingFile, validate: Validator | None) -> pd.DataFrame:
    try:
        if f.size == 0:
            raise SourceFileError(f.name, "empty-file", "the file is empty (0 bytes)")
        df = spec.parse(f.path, f.name)
        if validate is not None:
            df = validate(f.name, df)
        return df
    except SourceFileError:
        raise
    except UnicodeDecodeError as exc:
        raise SourceFileError(f.name, "encoding", f"not valid UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except Exception as exc:  # one broken file must never stop the others
        raise SourceFileError(f.name, "unreadable", f"{type(exc).__name__}: {exc}") from exc


def _drop_duplicates(spec: SourceSpec, files: list[LandingFile], load: DayLoad) -> list[LandingFile]:
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
            by_hash.setdefault(content_hash(f), []).append(f)
        for same in by_hash.values():
            same.sort(key=spec.order_key)
            newest = same[-1]
            keep.append(newest)
            load.duplicates.extend((f.name, newest.name) for f in same[:-1])
    return sorted(keep, key=spec.order_key)


def _first_readable(
    spec: SourceSpec, newest_first: list[LandingFile], load: DayLoad, validate: Validator | None
) -> tuple[LandingFile, pd.DataFrame] | None:
    for f in newest_first:
        try:
            return f, _parse(spec, f, validate)
        except SourceFileError as err:
            load.rejected.append(Rejection.from_error(spec.name, err))
    return None


def load_day(
    spec: SourceSpec,
    root: Path,
    day: date,
    previous: pd.DataFrame | None = None,
    validate: Validator | None = None,
    files: list[LandingFile] | None = None,
) -> DayLoad:
    """Load the staging rows of ``spec`` for UTC delivery day ``day`` (see module docstring).

    ``previous`` are the rows currently stored for this day (for carrying forward the rows of
    files that are now rejected); ``validate(name, frame)`` may check a parsed file against other
    data (e.g. metering points known to the contracts) and raise :class:`SourceFileError`.
    """
    load = DayLoad(frame=spec.table.empty_frame())
    if files is None:
        files, _ = scan(root, spec)
    day_start, day_end = utc_day_window(day)

    if spec.kind == "snapshot":
        taken = [f for f in files if spec.file_time(f.basename) < day_end]
        taken = _drop_duplicates(spec, taken, load)
        chosen = _first_readable(spec, sorted(taken, key=spec.order_key, reverse=True), load, validate)
        parsed: list[tuple[LandingFile, pd.DataFrame]] = [chosen] if chosen else []
        if chosen:
            load.superseded = [f.name for f in taken if f.name != chosen[0].name and spec.order_key(f) < spec.order_key(chosen[0])]
    else:
        assert spec.days_covered is not None
        candidates = [f for f in files if day in spec.days_covered(f)]
        candidates = _drop_duplicates(spec, candidates, load)
        groups: dict[Hashable, list[LandingFile]] = {}
        for f in candidates:
            groups.setdefault(spec.supersede_group(f) if spec.supersede_group else f.name, []).append(f)
        parsed = []
        for members in groups.values():
            members.sort(key=spec.order_key, reverse=True)
            if spec.supersede_group is None:
                for f in members:
                    try:
                        parsed.append((f, _parse(spec, f, validate)))
                    except SourceFileError as err:
                        load.rejected.append(Rejection.from_error(spec.name, err))
            else:
                chosen = _first_readable(spec, members, load, validate)
                if chosen:
                    parsed.append(chosen)
                    load.superseded.extend(m.name for m in members if spec.order_key(m) < spec.order_key(chosen[0]))

    frames = []
    order = {}
    for f, df in parsed:
        if spec.kind == "events":
            t = pd.to_datetime(df[spec.time_column])
            df = df.loc[(t >= day_start) & (t < day_end)]
        df = df.assign(delivery_day=pd.Timestamp(day), source_file=f.name)
        frames.append(df)
        load.files_used.append(f.name)
        order[f.name] = spec.order_key(f)

    rejected_names = {r.file for r in load.rejected}
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
