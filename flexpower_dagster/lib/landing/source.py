"""How a landing-zone source is described: :class:`SourceSpec`, and what loading it yields.

One ``SourceSpec`` per row of the source table in ``domain.md``, declared in its domain's
``sources.py``. It says how the source's files are recognised (folder, name pattern), dated
(``days_covered`` for event files, ``file_time`` for ordering), parsed (``parse``) and superseded
(``row_key``, ``supersede_group``, snapshots). Pure module: no Dagster.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from flexpower_dagster.lib.errors import SourceFileError
from flexpower_dagster.lib.tables import Column, TableSpec

#: Columns every staging table carries besides the parsed ones.
LINEAGE_COLUMNS = ("delivery_day", "source_file")
#: A source system's name: lower case, as in its folder under ``defs/`` and its sensor's name.
SYSTEM_NAME = re.compile(r"[a-z][a-z_]*")

ParseFn = Callable[[Path, str], pd.DataFrame]
#: ``parse_columns(data, name)``: the file's bytes -> its parsed columns as numpy arrays; a column may be
#: a single value (e.g. the asset id of a one-asset file), standing for that value on every row.
ParseColumnsFn = Callable[[bytes, str], Mapping[str, Any]]


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
    def stat_key(self) -> str:
        """``name|size|mtime``: the file's part of a stat digest (formatted once: a file feeds up to three days; a
        plain dict lookup, not ``functools.cached_property``, whose lock costs ~4 µs a call in Python 3.11)."""
        key = self.__dict__.get("_stat_key")
        if key is None:
            key = f"{self.name}|{self.size}|{self.mtime_ns}"
            object.__setattr__(self, "_stat_key", key)
        return key

    @property
    def fingerprint(self) -> tuple[str, int, int]:
        """What a sensor cursor remembers: a changed size or mtime means a changed file."""
        return (self.name, self.size, self.mtime_ns)


def days_between(start: datetime, end_exclusive: datetime) -> frozenset[date]:
    """UTC days touched by the instants in ``[start, end_exclusive)``."""
    if end_exclusive <= start:
        return _day_span(start.date(), start.date())
    return _day_span(start.date(), (end_exclusive - timedelta(microseconds=1)).date())


@functools.lru_cache(maxsize=65_536)
def _day_span(first: date, last: date) -> frozenset[date]:
    """The days ``first`` .. ``last``: one shared set per span (100,000 forecast files share a few hundred)."""
    return frozenset(first + timedelta(days=i) for i in range((last - first).days + 1))


@dataclass(frozen=True)
class SourceSpec:
    """How one source's files are recognised, dated, parsed and superseded.

    ``parse(path, name)`` returns the staging columns except the lineage columns and raises
    :class:`SourceFileError` for bad input. ``days_covered`` says which UTC delivery days an
    ``events`` file touches (from the name where that is reliable, from the content where it is
    not; it must not raise: on unreadable content it falls back to a guess from the name, and the
    parse error is then reported for those days). ``file_time`` orders files: newer wins.

    ``defines_days``: the source's files make a delivery day exist in the landing zone (per-asset or
    per-day data: forecasts, live samples, DSO finals, trade exports), so snapshot sources (CRM,
    technical data) and every other source get a partition for it. ``delivered``: the source's files
    mean the day was delivered and traded (DSO finals, trade exports): ``make run`` builds those days.
    """

    name: str  # staging table name, e.g. "exchange_private_trades"
    system: str  # source system, e.g. "exchange": one sensor and one staging group per system
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
    defines_days: bool = False
    delivered: bool = False
    description: str = ""
    #: the same rules as ``parse``, from bytes to numpy columns: sources with many small files set it, and are
    #: then loaded set-based and incrementally (:mod:`flexpower_dagster.lib.landing.incremental`)
    parse_columns: ParseColumnsFn | None = None
    #: the provider writes a ``<file>.done`` marker beside each finished file: a file of the source's folder is
    #: read only once its marker exists (a folder that holds any marker is treated so anyway; docs/hardening.md)
    done_markers: bool = False
    #: a completeness rule of the content, run on every parsed file before it is used: raises
    #: :class:`SourceFileError` for a file that is well-formed but incomplete (e.g. a day with too few QHs)
    complete: Callable[[pd.DataFrame, str], None] | None = None

    def __post_init__(self) -> None:
        if not SYSTEM_NAME.fullmatch(self.system):
            raise ValueError(f"{self.name}: system {self.system!r} must match {SYSTEM_NAME.pattern}")
        if self.kind == "events" and (self.time_column is None or self.days_covered is None):
            raise ValueError(f"{self.name}: events sources need time_column and days_covered")
        if (self.defines_days or self.delivered) and self.kind != "events":
            raise ValueError(f"{self.name}: only events sources define or deliver days")

    def matches(self, basename: str) -> bool:
        return bool(self.pattern.fullmatch(basename))

    def order_key(self, f: LandingFile) -> tuple:
        return (self.file_time(f.basename), f.name)


@dataclass(frozen=True)
class ContentDays:
    """``days_covered`` of a source dated by its content: the UTC days of ``column`` in the parsed file.

    The file must be parsed to know its days; :meth:`flexpower_dagster.lib.landing.facts.Facts.days` does
    that once per fingerprint and keeps the parsed rows in the landing manifest, so the staging load does
    not parse the file again. Never raises: when the content is unreadable (or has no rows) the days are
    ``guess(basename)``, so the parse error is reported by the load of the guessed days.
    """

    parse: ParseFn
    guess: Callable[[str], frozenset[date]]
    column: str = "delivery_start"

    def days_of(self, frame: pd.DataFrame | None, basename: str) -> frozenset[date]:
        if frame is not None and len(frame):
            column = frame[self.column]
            values = column.to_numpy() if column.dtype.kind == "M" and column.dt.tz is None else pd.to_datetime(column).to_numpy()
            days = np.unique(values.astype("datetime64[D]"))
            return frozenset(d.item() for d in days)  # numpy: no per-row Python objects (1,000 files a day)
        try:
            return frozenset(self.guess(basename))
        except Exception:
            return frozenset()

    def __call__(self, f: LandingFile) -> frozenset[date]:
        try:
            frame = self.parse(f.path, f.name)
        except Exception:
            frame = None
        return self.days_of(frame, f.basename)


def days_from_content(
    parse: ParseFn, guess: Callable[[str], frozenset[date]], column: str = "delivery_start"
) -> ContentDays:
    """A ``days_covered`` that reads the days from the file's ``column`` (see :class:`ContentDays`)."""
    return ContentDays(parse, guess, column)


@dataclass(frozen=True)
class Rejection:
    """A file a load could not use: which rule it broke, where."""

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
    """What loading one source for one delivery day produced."""

    frame: pd.DataFrame
    files_used: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (ignored copy, kept file)
    superseded: list[str] = field(default_factory=list)
    carried_forward_rows: int = 0


#: Where every load records the files it could not use (per delivery day and source), for people and checks.
REJECTED_FILES = TableSpec(
    schema="staging",
    name="rejected_files",
    description="Landing files a staging asset could not load, per delivery day: which file, which row, which rule.",
    columns=(
        Column("delivery_day", "DATE", "Delivery day whose load rejected the file"),
        Column("source", "VARCHAR", "Staging table / source the file belongs to"),
        Column("file", "VARCHAR", "File path relative to the landing root"),
        Column("row", "BIGINT", "Row (1-based line, header included) or JSON element where known"),
        Column("rule", "VARCHAR", "Name of the rule that was broken"),
        Column("reason", "VARCHAR", "Readable explanation"),
        Column("seen_at", "TIMESTAMP", "When the load saw the file (UTC)"),
    ),
    key=("delivery_day", "source", "file"),
)


#: Which file fed which delivery day, as the set-based loader (:mod:`flexpower_dagster.lib.landing.incremental`)
#: remembers it: the rows of a day and this record are written in one transaction, so a new file is read
#: once and the files already loaded are not read again.
LOADED_FILES = TableSpec(
    schema="staging",
    name="loaded_files",
    description=(
        "Per delivery day and source, every landing file considered: its fingerprint (size, mtime), SHA-256, "
        "whether its rows were loaded, it was rejected (rule, reason) or it is a byte-identical duplicate."
    ),
    columns=(
        Column("delivery_day", "DATE", "Delivery day", nullable=False),
        Column("source", "VARCHAR", "Staging table / source", nullable=False),
        Column("file", "VARCHAR", "File path relative to the landing root", nullable=False),
        Column("size", "BIGINT", "Size in bytes when read"),
        Column("mtime_ns", "BIGINT", "Modification time (ns) when read"),
        Column("sha256", "VARCHAR", "SHA-256 of the bytes read"),
        Column("file_time", "TIMESTAMP", "Time from the file name (newer files win)"),
        Column("status", "VARCHAR", "loaded, rejected or duplicate"),
        Column("rows", "BIGINT", "Rows the file held (all its days) when it was read"),
        Column("carried_rows", "BIGINT", "Rows of an earlier version kept because this version is rejected"),
        Column("rule", "VARCHAR", "Rule broken (rejected)"),
        Column("reason", "VARCHAR", "Readable explanation (rejected)"),
        Column("row", "BIGINT", "Row / element where known (rejected)"),
        Column("duplicate_of", "VARCHAR", "The newer identical file that is used instead (duplicate)"),
        Column("key_signature", "VARCHAR", "The file's row-key values other than the instant, when constant (asset, version)"),
        Column("seen_at", "TIMESTAMP", "When the file was first read in this version (UTC)"),
    ),
    key=("delivery_day", "source", "file"),
)
