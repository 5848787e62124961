"""The loading rules, once: which of a day's landing files are used, and why the others are not (pure).

Both loaders ask :func:`classify` what to do with the files of one (source, delivery day):
:func:`flexpower_dagster.lib.landing.load.load_day` (sources with a few files a day, rows in pandas) and
:func:`flexpower_dagster.lib.landing.incremental.load_days` (many small files, rows in SQL, incremental).
It reads no file and needs no DuckDB and no Dagster. It is given the *candidates* (the files whose delivery
days include the day, or the snapshots of a ``snapshot`` source), what the warehouse remembers of the day's
files (:class:`Known`, from ``staging.loaded_files``; empty for a load from scratch) and what reading taught so
far (:class:`Facts`: SHA-256, and once parsed the rows, the error or the key signature). It answers with a
:class:`DayPlan`: the files it must still learn about (``to_hash``, ``to_read``: the caller reads them and
asks again), or else one :class:`Outcome` per file. The rules:

1. a ``snapshot`` source's candidates are the snapshots taken before the end of the day;
2. a remembered file that changed (size or modification time) or vanished and that had contributed rows makes
   the day *rebuilt*: every file is read again (landing files are immutable by contract: this is rare);
3. byte-identical duplicates (same size > 0, same SHA-256) are ignored, the newest name kept;
4. a ``snapshot`` source uses its newest readable snapshot (older ones are superseded, broken newer ones
   rejected); within a ``supersede_group`` only the newest readable file is used, unless it has suspiciously
   fewer rows than the next older readable one (:func:`shrunk`): it is then *held* (rule ``shrunk-redelivery``)
   and that one is used; every other ``events`` file is used unless it is broken (rejected: file, row, rule);
5. a file rejected now whose earlier version stored rows has those rows *carried forward* (a broken
   re-delivery never deletes data); a held export was never right and carries nothing;
6. rows sharing the source's ``row_key`` come from the newest file: ``DayPlan.key_check`` names the files whose
   rows may share a key with another file's (their key signatures are equal, or one is unknown).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from flexpower_dagster.lib.landing.source import LandingFile, Rejection, SourceSpec

#: A re-delivered export that lost more than this share of the rows of the export it would supersede, and more
#: than :data:`SHRINK_MIN_ROWS` rows, is held (not used, reported): a half-written or stalled export cut at a line
#: end must not silently replace a complete one. A later export of a delivery day normally has as many trades or
#: more; a few cancelled trades are no reason to hold it.
SHRINK_TOLERANCE = 0.10
SHRINK_MIN_ROWS = 10

Status = Literal["loaded", "rejected", "duplicate", "superseded"]


def shrunk(n_new: int, n_previous: int) -> bool:
    """``n_new`` rows are suspiciously fewer than the ``n_previous`` of the export they would supersede."""
    lost = n_previous - n_new
    return lost > SHRINK_TOLERANCE * n_previous and lost > SHRINK_MIN_ROWS


@dataclass(slots=True)
class Facts:
    """What reading one file taught: its SHA-256 (None: not hashed) and, once parsed, its rows or its error and
    its key signature (the row-key values other than the instant, when constant over the file)."""

    sha256: str | None = None
    parsed: bool = False
    rows: int | None = 0
    error: Rejection | None = None
    signature: str | None = None


@dataclass(slots=True)
class Known(Facts):
    """What the warehouse remembers about one file for one day (a row of ``staging.loaded_files``): what reading
    it taught, the fingerprint it had and what became of it."""

    size: int = -1
    mtime_ns: int = -1
    status: str = "loaded"  # loaded | rejected | duplicate
    carried_rows: int = 0
    seen_at: datetime | None = None
    duplicate_of: str | None = None

    @property
    def has_rows(self) -> bool:
        return self.status == "loaded" or self.carried_rows > 0


@dataclass(slots=True)
class Outcome:
    """What becomes of one file for the day. ``known`` is set when the file is unchanged since the warehouse
    remembered it (it is not read again); ``carry``: rejected now, the rows its earlier version stored stay."""

    file: LandingFile
    status: Status
    sha256: str | None = None
    rows: int | None = 0
    known: Known | None = None
    duplicate_of: str | None = None
    rejection: Rejection | None = None
    carry: bool = False
    signature: str | None = None
    time: datetime | None = None  # ``SourceSpec.file_time``: newer files win

    @property
    def has_rows(self) -> bool:
        """The day holds rows of this file after the load."""
        return self.status == "loaded" or self.carry or (self.known is not None and self.known.has_rows and self.status != "duplicate")

    def lineage(self, day: date, spec: SourceSpec, carried: int, seen_at: datetime) -> tuple:
        """Its row of ``staging.loaded_files`` (columns in declared order); ``carried``: the rows of its earlier
        version that the day keeps now (``carry``; counted by the caller once they are stored)."""
        k, r, f = self.known, self.rejection, self.file
        if not self.carry:
            carried = k.carried_rows if k is not None and self.status != "duplicate" else 0
        return (day, spec.name, f.name, f.size, f.mtime_ns, self.sha256 or "", self.time, self.status,
                self.rows, carried, r.rule if r else None, r.reason if r else None, r.row if r else None,
                self.duplicate_of, self.signature, k.seen_at if k is not None and k.seen_at is not None else seen_at)


@dataclass
class DayPlan:
    """The answer of :func:`classify` for one day: files still to learn about, or one outcome per file."""

    day: date
    rebuild: bool = False  # a file that had rows changed or vanished: the day is loaded from all its files
    to_hash: list[LandingFile] = field(default_factory=list)  # their SHA-256 is needed (same size as another)
    to_read: list[LandingFile] = field(default_factory=list)  # their parse is needed
    outcomes: list[Outcome] = field(default_factory=list)
    key_check: frozenset[str] = frozenset()  # files whose rows may share a row key with another file's

    @property
    def complete(self) -> bool:
        return not (self.to_hash or self.to_read)

    def having(self, status: Status) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def used(self) -> list[str]:
        return [o.file.name for o in self.having("loaded")]

    @property
    def rejected(self) -> list[Rejection]:
        return [o.rejection for o in self.having("rejected") if o.rejection is not None]

    @property
    def duplicates(self) -> list[tuple[str, str]]:
        return [(o.file.name, o.duplicate_of) for o in self.having("duplicate") if o.duplicate_of]

    @property
    def superseded(self) -> list[str]:
        return [o.file.name for o in self.having("superseded")]

    @property
    def carried(self) -> list[str]:
        return [o.file.name for o in self.outcomes if o.carry]


def changes(candidates: Sequence[LandingFile], known: Mapping[str, Known]) -> tuple[bool, set[str]]:
    """(rebuild, unchanged): whether a remembered file that had rows changed or vanished (the day is then loaded from
    all its files), and the names of the files remembered with their size and modification time (not read again)."""
    unchanged = {f.name for f in candidates if (k := known.get(f.name)) is not None and k.size == f.size and k.mtime_ns == f.mtime_ns}
    rebuild = any(k.has_rows for n, k in known.items() if n not in unchanged)
    return rebuild, set() if rebuild else unchanged


def classify(
    spec: SourceSpec, day: date, candidates: Sequence[LandingFile], known: Mapping[str, Known] | None = None,
    facts: Mapping[str, Facts] | None = None, times: Mapping[str, datetime] | None = None,
) -> DayPlan:
    """Apply the rules (module docstring) to ``candidates`` for ``day``; ask for what is missing first. ``times``:
    ``spec.file_time`` of the candidates, when the caller has it (each name parsed once over many days)."""
    known, facts = known or {}, facts or {}
    order = {f.name: (times[f.name] if times else spec.file_time(f.basename), f.name) for f in candidates}
    if spec.kind == "snapshot":
        day_end = datetime(day.year, day.month, day.day) + timedelta(days=1)
        candidates = [f for f in candidates if order[f.name][0] < day_end]
    present = {f.name: f for f in candidates}
    rebuild, unchanged = changes(candidates, known)
    plan = DayPlan(day, rebuild)
    if not rebuild and len(unchanged) == len(candidates):  # nothing new: every file stays as remembered (its rows
        plan.outcomes = [  # were compared by row key when they came)
            Outcome(f, k.status, k.sha256, k.rows, k, k.duplicate_of, k.error, False, k.signature, order[f.name][0])  # type: ignore[arg-type]
            for f in candidates for k in [known[f.name]]
        ]
        return plan
    seen = {**facts, **{n: known[n] for n in unchanged}}  # an unchanged file is not read again: its facts are remembered

    # duplicates: files of the same size are hashed, byte-identical ones give way to the newest name
    by_size: dict[int, list[LandingFile]] = {}
    for f in candidates:
        if f.size:
            by_size.setdefault(f.size, []).append(f)
    collide = [f for same in by_size.values() if len(same) > 1 for f in same]
    plan.to_hash = [f for f in collide if f.name not in seen or seen[f.name].sha256 is None]
    if plan.to_hash:
        return plan
    by_sha: dict[tuple[int, str | None], list[LandingFile]] = {}
    for f in collide:
        by_sha.setdefault((f.size, seen[f.name].sha256), []).append(f)
    duplicate_of = {}
    for (_, digest), same in by_sha.items():
        if digest and len(same) > 1:
            newest = max(same, key=lambda f: order[f.name])
            duplicate_of.update({f.name: newest.name for f in same if f is not newest})

    # which file of each group is used; the others are rejected (broken), held, superseded
    def readable(f: LandingFile) -> bool | None:  # None: not parsed yet
        fa = seen.get(f.name)
        return None if fa is None or not fa.parsed else fa.error is None

    def rows(f: LandingFile) -> int:
        return seen[f.name].rows or 0

    group_of = (lambda f: "") if spec.kind == "snapshot" else spec.supersede_group or (lambda f: f.name)
    groups: dict[Hashable, list[LandingFile]] = {}
    for f in sorted(candidates, key=lambda f: order[f.name]):
        if f.name not in duplicate_of:
            groups.setdefault(group_of(f), []).append(f)
    status: dict[str, Status] = {}
    held: dict[str, Rejection] = {}
    for members in groups.values():
        if len(members) == 1:  # (most events files: the same rules, quicker)
            r = readable(members[0])
            if r is None:
                plan.to_read.append(members[0])
            status[members[0].name] = "loaded" if r else "rejected"
            continue
        members.reverse()  # newest first
        first = next((f for f in members if readable(f) is not False), None)
        if first is not None and readable(first) is None:
            plan.to_read.append(first)
            continue
        if first is None:  # none readable: all rejected
            status.update({f.name: "rejected" for f in members})
            continue
        use = first
        older = members[members.index(first) + 1:]
        if spec.kind == "events" and spec.supersede_group is not None:  # held if shrunk from the next older readable
            previous = next((f for f in older if readable(f) is not False), None)
            if previous is not None and readable(previous) is None:
                plan.to_read.append(previous)
                continue
            if previous is not None and shrunk(rows(first), rows(previous)):
                use = previous
                held[first.name] = Rejection(
                    source=spec.name, file=first.name, rule="shrunk-redelivery",
                    reason=(f"[shrunk-redelivery] {first.name} has {rows(first)} rows where the export it would "
                            f"supersede, {previous.name}, has {rows(previous)} (more than {SHRINK_TOLERANCE:.0%} "
                            "fewer): held as suspicious (stalled or cut-off copy?); the older export stays in use. "
                            "Remove it from the landing zone if the smaller export is right."),
                )
        for f in members:
            newer = order[f.name] > order[first.name]
            status[f.name] = ("rejected" if newer or f.name in held else "loaded" if f is use else "superseded")
    if plan.to_read:
        return plan

    status |= dict.fromkeys(duplicate_of, "duplicate")
    for f in [f for members in groups.values() for f in members] + [present[n] for n in duplicate_of]:  # as tried
        n = f.name
        k = known[n] if n in unchanged else None
        fa = seen.get(n) or Facts()
        if k is not None and status[n] != "duplicate":  # as remembered
            status[n] = k.status  # type: ignore[assignment]
        rejection = held.get(n) or (fa.error if status[n] == "rejected" else None)
        # rejected now: the rows its earlier version stored are carried forward
        carry = rejection is not None and k is None and n not in held and (prior := known.get(n)) is not None and prior.has_rows
        plan.outcomes.append(Outcome(f, status[n], fa.sha256, fa.rows, k, duplicate_of.get(n), rejection, carry,
                                     None if carry else fa.signature, order[n][0]))

    by_signature: dict[str | None, list[str]] = {}
    for o in plan.outcomes:
        if o.has_rows:
            by_signature.setdefault(o.signature, []).append(o.file.name)
    unknown = None in by_signature  # rows of unknown signature may share a key with any file's
    plan.key_check = frozenset(n for sig, names in by_signature.items() if unknown or len(names) > 1 for n in names)
    return plan

