"""What changed in the landing zone since the last sensor tick (pure: no Dagster import).

The sensors of ``flexpower_dagster.platform.automation`` are thin wrappers over :func:`plan`.

Model
-----
For every source and every delivery day the platform knows, the *feed* of (source, day) is the set
of files that :func:`flexpower_dagster.core.landing.load_day` would read for that day:

* ``events`` sources: the files whose ``spec.days_covered`` contains the day;
* ``snapshot`` sources (CRM contracts, VPP technical data): the newest snapshot taken before the
  end of the day. A snapshot therefore feeds the days from its creation until the next snapshot,
  limited to the *landing days* (days for which per-asset or per-day data exists, see
  :data:`flexpower_dagster.platform.sources.DAY_DEFINING_SOURCES`): never hundreds of empty days.

Every source also gets a (possibly empty) feed for every landing day, so that each staging asset has
a partition for each day with data and the marts' ``~any_deps_missing`` guard does not wait for a
source that simply has no file that day (e.g. no redispatch flag).

Cursor
------
Per source, per day: a 12-hex *stat digest* of the feed's fingerprints (name, size, mtime), a 12-hex
*content digest* of (name, size, SHA-256 of the bytes) and a generation counter; plus per source
the mtime high-water mark and an aggregate digest of all fingerprints (a tick with an unchanged
aggregate skips the source without grouping), and the unrecognised files already reported. A
tick compares the stat digests (cheap: no file is read); only feeds whose stat digest changed are
content-hashed (once per file and process, cached by fingerprint), so a re-delivered identical file
(new mtime, same bytes) updates the cursor without a run. About 60 bytes per (source, day):
independent of how many files feed a day; the JSON is zlib-compressed above a few kB.

Run keys
--------
``<system>:<day>:<digest of the selected sources' content digests and generations>``. A
re-delivered identical file never reaches a run request (same content digest); a corrected file
changes the content digest and bumps the generation, so it always makes a new run (even when the
content goes back to an earlier state, whose bare digest was already used by an earlier run).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from flexpower_dagster.core.landing import LandingFile, SourceSpec

CURSOR_VERSION = 1
DIGEST_CHARS = 12
#: Cursors longer than this are stored zlib-compressed and base64-encoded (prefix ``z1:``).
COMPRESS_ABOVE = 4096
#: At most this many unrecognised file names are remembered (beyond, they are reported again).
MAX_REMEMBERED_UNRECOGNISED = 2000
#: File names listed per run request (tags/logs); the rest is counted.
MAX_LISTED_FILES = 20

_EMPTY = hashlib.blake2b(b"", digest_size=DIGEST_CHARS // 2).hexdigest()


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
    problems: list[FileProblem] = field(default_factory=list)  # newly seen unrecognised/undated files
    identical: list[tuple[str, date]] = field(default_factory=list)  # re-delivered identical feeds
    pending: list[tuple[str, date]] = field(default_factory=list)  # changed feeds whose day is not a partition yet
    cursor: str = ""
    files_scanned: int = 0
    seconds: float = 0.0

    def skip_message(self) -> str:
        """Why this tick requests nothing (and what it saw)."""
        parts = [f"no new or changed files ({self.files_scanned} files scanned)"]
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


# --------------------------------------------------------------------------------------------
# cursor


@dataclass
class _SourceState:
    hwm: int = 0  # highest mtime_ns seen
    agg: str = ""  # aggregate digest of all fingerprints (+ landing days for snapshots)
    days: dict[str, str] = field(default_factory=dict)  # "YYYYMMDD" -> "stat.content.gen"


@dataclass
class CursorState:
    sources: dict[str, _SourceState] = field(default_factory=dict)
    reported: list[str] = field(default_factory=list)  # unrecognised files already reported
    landing_sig: str = ""  # digest of the day-defining folders' (path, mtime) when landing_days was computed
    landing_days: list[date] = field(default_factory=list)

    def encode(self) -> str:
        raw = json.dumps(
            {
                "v": CURSOR_VERSION,
                "s": {n: {"h": s.hwm, "a": s.agg, "d": s.days} for n, s in sorted(self.sources.items())},
                "u": sorted(self.reported)[:MAX_REMEMBERED_UNRECOGNISED],
                "l": [self.landing_sig, _encode_days(self.landing_days)],
            },
            separators=(",", ":"),
        )
        if len(raw) <= COMPRESS_ABOVE:
            return raw
        return "z1:" + base64.b64encode(zlib.compress(raw.encode(), 6)).decode()

    @classmethod
    def decode(cls, cursor: str | None) -> CursorState:
        if not cursor:
            return cls()
        try:
            raw = zlib.decompress(base64.b64decode(cursor[3:])).decode() if cursor.startswith("z1:") else cursor
            data = json.loads(raw)
            if data.get("v") != CURSOR_VERSION:
                return cls()
            return cls(
                sources={n: _SourceState(hwm=s["h"], agg=s["a"], days=dict(s["d"])) for n, s in data["s"].items()},
                reported=list(data.get("u", [])),
                landing_sig=data["l"][0],
                landing_days=_decode_days(data["l"][1]),
            )
        except (ValueError, KeyError, TypeError, zlib.error):
            # An unreadable cursor (older format) means a full re-evaluation: run keys keep it idempotent.
            return cls()


def _encode_days(days: Iterable[date]) -> list[str]:
    """Sorted days as ranges: ["20250601-20250614", "20250701"]."""
    out: list[str] = []
    run: list[date] = []
    for d in sorted(days):
        if run and d == run[-1] + timedelta(days=1):
            run.append(d)
            continue
        if run:
            out.append(_day_key(run[0]) + ("" if len(run) == 1 else "-" + _day_key(run[-1])))
        run = [d]
    if run:
        out.append(_day_key(run[0]) + ("" if len(run) == 1 else "-" + _day_key(run[-1])))
    return out


def _decode_days(ranges: Iterable[str]) -> list[date]:
    days: list[date] = []
    for r in ranges:
        a, _, b = r.partition("-")
        first, last = _parse_day_key(a), _parse_day_key(b or a)
        days.extend(first + timedelta(days=i) for i in range((last - first).days + 1))
    return days


def _day_key(d: date) -> str:
    return d.strftime("%Y%m%d")


def _parse_day_key(k: str) -> date:
    return date(int(k[:4]), int(k[4:6]), int(k[6:8]))


# --------------------------------------------------------------------------------------------
# scanning and per-file caches (per process: the sensor's code server keeps them between ticks)

_DAYS_CACHE: dict[tuple, frozenset[date]] = {}
_HASH_CACHE: dict[tuple, str] = {}
_MATCH_CACHE: dict[tuple, str | None] = {}  # (folder + its specs, base name) -> owning source
_CACHE_LIMIT = 400_000


def _bounded_put(cache: dict, key, value) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def file_days(spec: SourceSpec, f: LandingFile) -> frozenset[date]:
    """``spec.days_covered(f)``, cached by fingerprint; raises what ``days_covered`` raises."""
    assert spec.days_covered is not None
    key = (spec.name, str(f.root), f.name, f.size, f.mtime_ns)
    hit = _DAYS_CACHE.get(key)
    if hit is None:
        hit = frozenset(spec.days_covered(f))
        _bounded_put(_DAYS_CACHE, key, hit)
    return hit


def file_sha256(f: LandingFile) -> str:
    key = (str(f.root), f.name, f.size, f.mtime_ns)
    hit = _HASH_CACHE.get(key)
    if hit is None:
        try:
            with open(f.path, "rb") as fh:
                hit = hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError as exc:  # vanished or unreadable between scan and hash: changes next tick
            hit = f"unreadable:{type(exc).__name__}"
        _bounded_put(_HASH_CACHE, key, hit)
    return hit


def clear_caches() -> None:
    _DAYS_CACHE.clear()
    _HASH_CACHE.clear()
    _LANDING_CACHE.clear()
    _MATCH_CACHE.clear()


@dataclass
class Inventory:
    """The files of some sources, scanned once: per source its files, plus unrecognised names."""

    files: dict[str, list[LandingFile]]
    unmatched: list[str]

    @property
    def n_files(self) -> int:
        return sum(len(v) for v in self.files.values()) + len(self.unmatched)


def scan_sources(root: Path, specs: Sequence[SourceSpec], extra_folders: Iterable[str] = ()) -> Inventory:
    """Scan each folder once; a file belongs to the first spec (of that folder) whose pattern matches.

    Files matching no spec of their folder are *unmatched*; ``extra_folders`` (e.g. a system's top
    folder such as ``vpp``) are scanned for stray files only.
    """
    root = Path(root)
    by_folder: dict[str, list[SourceSpec]] = {}
    for spec in specs:
        by_folder.setdefault(spec.folder.strip("/"), []).append(spec)
    for extra in extra_folders:
        by_folder.setdefault(extra.strip("/"), [])
    files: dict[str, list[LandingFile]] = {s.name: [] for s in specs}
    unmatched: list[str] = []
    for folder, folder_specs in by_folder.items():
        match_key = (folder, tuple((sp.name, sp.pattern.pattern) for sp in folder_specs))
        try:
            entries = os.scandir(root / folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if not entry.is_file():
                        continue
                    st = entry.stat()
                except OSError:  # vanished while scanning
                    continue
                rel = f"{folder}/{entry.name}"
                owner = _MATCH_CACHE.get((match_key, entry.name), False)
                if owner is False:
                    owner = next((sp.name for sp in folder_specs if sp.pattern.fullmatch(entry.name)), None)
                    _bounded_put(_MATCH_CACHE, (match_key, entry.name), owner)
                if owner is None:
                    unmatched.append(rel)
                else:
                    files[owner].append(LandingFile(root, rel, st.st_size, st.st_mtime_ns))
    for v in files.values():
        v.sort(key=lambda f: f.name)
    unmatched.sort()
    return Inventory(files=files, unmatched=unmatched)


def _days_of(spec: SourceSpec, files: list[LandingFile], problems: list[FileProblem]) -> dict[str, frozenset[date]]:
    out: dict[str, frozenset[date]] = {}
    for f in files:
        try:
            days = file_days(spec, f)
        except Exception as exc:  # days_covered must not raise; if it does, the file is reported
            problems.append(FileProblem(f.name, f"{spec.name}: cannot tell its delivery days ({type(exc).__name__}: {exc})"))
            continue
        if not days:
            problems.append(FileProblem(f.name, f"{spec.name}: covers no delivery day"))
            continue
        out[f.name] = days
    return out


def landing_days_of(specs: Sequence[SourceSpec], inventory: Inventory) -> frozenset[date]:
    """The delivery days for which ``inventory`` holds per-asset or per-day data.

    Same definition as :func:`flexpower_dagster.platform.sources.landing_days`, over an inventory
    that was already scanned.
    """
    from flexpower_dagster.platform.sources import DAY_DEFINING_SOURCES

    days: set[date] = set()
    for spec in specs:
        if spec.name in DAY_DEFINING_SOURCES and spec.days_covered is not None:
            for d in _days_of(spec, inventory.files.get(spec.name, []), []).values():
                days |= d
    return frozenset(days)


_LANDING_CACHE: dict[tuple[str, str], frozenset[date]] = {}


def _folder_signature(root: Path, specs: Sequence[SourceSpec]) -> str:
    """Digest of the day-defining folders' modification times: unchanged when no file was added,
    removed or renamed there (the landing days only depend on which files exist)."""
    parts = []
    for folder in sorted({s.folder.strip("/") for s in specs}):
        try:
            parts.append(f"{folder}={os.stat(root / folder).st_mtime_ns}")
        except OSError:
            parts.append(f"{folder}=-")
    return _digest(parts)


def _landing_days(
    root: Path,
    specs: Sequence[SourceSpec],
    inventory: Inventory,
    day_defining_specs: Sequence[SourceSpec],
    state: CursorState,
) -> frozenset[date]:
    """The landing days, recomputed only when a day-defining folder changed (the cursor and a
    per-process cache hold the last answer: content-dated files are not parsed on every tick)."""
    from flexpower_dagster.platform.sources import DAY_DEFINING_SOURCES

    own = {s.name for s in specs}
    defining = [s for s in (*specs, *day_defining_specs) if s.name in DAY_DEFINING_SOURCES]
    defining = list({s.name: s for s in defining}.values())
    sig = _folder_signature(root, defining)
    if sig == state.landing_sig:
        return frozenset(state.landing_days)
    cached = _LANDING_CACHE.get((str(root), sig))
    if cached is None:
        others = [s for s in defining if s.name not in own]
        files = dict(inventory.files)
        if others:
            files.update(scan_sources(root, others).files)
        cached = landing_days_of(defining, Inventory(files, []))
        if len(_LANDING_CACHE) > 64:
            _LANDING_CACHE.clear()
        _LANDING_CACHE[(str(root), sig)] = cached
    state.landing_sig, state.landing_days = sig, sorted(cached)
    return cached


# --------------------------------------------------------------------------------------------
# feeds


def _digest(parts: Iterable[str]) -> str:
    h = hashlib.blake2b(digest_size=DIGEST_CHARS // 2)
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()


def _stat_digest(files: Sequence[LandingFile]) -> str:
    return _digest(f"{f.name}|{f.size}|{f.mtime_ns}" for f in sorted(files, key=lambda f: f.name)) if files else _EMPTY


def _content_digest(files: Sequence[LandingFile]) -> str:
    return _digest(f"{f.name}|{f.size}|{file_sha256(f)}" for f in sorted(files, key=lambda f: f.name)) if files else _EMPTY


def feeds(
    spec: SourceSpec,
    files: list[LandingFile],
    landing_days: frozenset[date],
    problems: list[FileProblem],
) -> dict[date, list[LandingFile]]:
    """(day -> files feeding it) for one source; every landing day is present (maybe empty)."""
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
    days_by_file = _days_of(spec, files, problems)
    by_name = {f.name: f for f in files}
    for name, days in days_by_file.items():
        for d in days:
            out.setdefault(d, []).append(by_name[name])
    return out


def _aggregate(files: Sequence[LandingFile], extra: str = "") -> str:
    h = hashlib.blake2b(digest_size=8)
    h.update(extra.encode())
    for f in files:
        h.update(f"{f.name}|{f.size}|{f.mtime_ns}\0".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# the plan of one tick


def plan(
    root: Path,
    system: str,
    specs: Sequence[SourceSpec],
    cursor: str | None,
    *,
    day_defining_specs: Sequence[SourceSpec] = (),
    day_ok: Callable[[date], bool] = lambda d: True,
) -> Plan:
    """Compare the landing zone with ``cursor`` for the sources ``specs`` of one ``system``.

    ``day_defining_specs`` are the sources (of every system) whose files define the landing days
    (default: none, then only ``specs`` themselves count if they are day-defining); ``day_ok(day)``
    says whether the day is a partition yet (changed feeds of other days stay pending, i.e. are
    not written to the cursor, and are planned again on the next tick).
    """
    t0 = time.perf_counter()
    state = CursorState.decode(cursor)
    {s.name for s in specs}
    top_folders = {s.folder.strip("/").split("/")[0] for s in specs}
    inventory = scan_sources(root, specs, extra_folders=top_folders)
    landing = _landing_days(root, specs, inventory, day_defining_specs, state)
    landing_stamp = _digest(_day_key(d) for d in sorted(landing))

    result = Plan(files_scanned=inventory.n_files)
    problems: list[FileProblem] = [FileProblem(n, "file name matches no known pattern of this folder") for n in inventory.unmatched]
    changed: dict[date, list[tuple[str, str, str]]] = {}  # day -> [(source, content, gen)]
    reasons: dict[date, list[str]] = {}
    new_files: dict[date, list[str]] = {}

    for spec in specs:
        files = inventory.files[spec.name]
        prev = state.sources.get(spec.name, _SourceState())
        agg = _aggregate(files, landing_stamp)
        hwm = max((f.mtime_ns for f in files), default=prev.hwm)
        if agg == prev.agg:  # fast path: no fingerprint and no landing day changed for this source
            continue
        day_feeds = feeds(spec, files, landing, problems)
        new_days = dict(prev.days)
        all_pending = False
        for key in set(new_days):  # days that disappeared: their feed is now empty
            d = _parse_day_key(key)
            day_feeds.setdefault(d, [])
        for d, feed in day_feeds.items():
            key = _day_key(d)
            stat = _stat_digest(feed)
            old = prev.days.get(key)
            old_stat, old_content, old_gen = old.split(".") if old else ("", "", "-1")
            if stat == old_stat:
                continue
            content = _content_digest(feed)
            if old is not None and content == old_content:
                new_days[key] = f"{stat}.{content}.{old_gen}"
                result.identical.append((spec.name, d))
                continue
            if not day_ok(d):
                result.pending.append((spec.name, d))
                all_pending = True
                continue
            gen = str(int(old_gen) + 1) if old is not None else "0"
            new_days[key] = f"{stat}.{content}.{gen}"
            changed.setdefault(d, []).append((spec.name, content, gen))
            reasons.setdefault(d, []).append(f"{spec.name}: {'new day' if old is None else 'changed feed'} ({len(feed)} file(s))")
            new_files.setdefault(d, []).extend(f.name for f in feed if f.mtime_ns > prev.hwm)
        # a source with pending days keeps its old aggregate, so the next tick looks again
        state.sources[spec.name] = _SourceState(hwm=hwm, agg=prev.agg if all_pending else agg, days=new_days)

    for d in sorted(changed):
        entries = sorted(changed[d])
        digest = _digest(f"{s}={c}.{g}" for s, c, g in entries)
        names = sorted(set(new_files.get(d, [])))
        result.requests.append(
            DayRequest(
                system=system,
                day=d,
                sources=tuple(s for s, _, _ in entries),
                run_key=f"{system}:{d.isoformat()}:{digest}",
                new_files=tuple(names[:MAX_LISTED_FILES]),
                n_new_files=len(names),
                reasons=tuple(reasons[d]),
            )
        )

    # report each unrecognised/undated file once (while it stays in the landing zone)
    seen = set(state.reported)
    present = {f.name for v in inventory.files.values() for f in v} | set(inventory.unmatched)
    current = {p.file for p in problems} | (seen & present)  # fast-pathed sources keep theirs
    result.problems = sorted((p for p in problems if p.file not in seen), key=lambda p: p.file)
    state.reported = sorted(current)[:MAX_REMEMBERED_UNRECOGNISED]
    result.cursor = state.encode()
    result.seconds = time.perf_counter() - t0
    return result

