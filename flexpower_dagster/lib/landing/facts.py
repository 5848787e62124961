"""What is known about a landing file: the one place (docs/automation.md, "File facts").

A file is identified by its path relative to the landing root; its *fingerprint* is (name, size, mtime).
Everything reading a file teaches — its SHA-256, the delivery days it feeds, its parsed rows (content-dated
sources), how many rows it held and whether a load used or rejected it — is a *fact* of that fingerprint,
learnt once and then known to every process:

* :class:`Facts` is the one way to ask: ``facts.of(f)`` (what is known, never reading the file),
  ``facts.sha256(f)``, ``facts.days(spec, f)``, ``facts.rows(spec, f)`` (learnt on first use), and
  ``facts.record(...)`` for what a load found out. Sensors, staging assets and the CLI (``make run``) hold the
  same :class:`Facts` per landing zone (``LandingZone.facts()``);
* in front of it, one in-process cache per fingerprint (a sensor's code server keeps it between ticks);
* behind it, one persistent store, the landing manifest (:class:`~.manifest.Manifest`: SQLite, shared by the
  daemon, the run workers and the CLI; absent in tests that want nothing on disk).

A changed file has a new fingerprint: everything is learnt afresh. Pure module: no Dagster.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date

import pandas as pd

from flexpower_dagster.lib.landing.manifest import FileFacts, Manifest
from flexpower_dagster.lib.landing.source import ContentDays, LandingFile, SourceSpec

#: Fingerprints remembered per process (a 1,000-asset zone holds ~190,000 files); beyond, the cache restarts.
CACHE_LIMIT = 400_000
#: Below this many files unknown to the cache, :meth:`Facts.prefetch` leaves the lookups to one query per file.
PREFETCH_FROM = 200
#: A content-dated file's parsed rows go to the store when its parse took more CPU seconds than this (:meth:`Facts.rows`).
KEEP_PARSED_FROM_SECONDS = 0.02
#: Parsed frames of content-dated files kept per process (small: one DSO/imbalance/trade file each).
FRAME_LIMIT = 5_000

_Key = tuple[str, str, int, int]
_UNKNOWN = FileFacts()


def _key(f: LandingFile) -> _Key:
    return (str(f.root), f.name, f.size, f.mtime_ns)


class _ProcessCache:
    """The in-process cache in front of the store: facts per fingerprint, parsed frames, and what the scanner
    learns about names and folders (which source owns a name; a folder's listing at a directory mtime)."""

    def __init__(self) -> None:
        self.files: dict[_Key, FileFacts] = {}
        self.frames: dict[tuple[str, _Key], pd.DataFrame] = {}
        self.owners: dict[tuple, str | None] = {}
        self.name_days: dict[tuple[str, str], frozenset[date]] = {}
        self.listings: dict[object, object] = {}

    def clear(self) -> None:
        self.name_days.clear()
        self.files.clear()
        self.frames.clear()
        self.owners.clear()
        self.listings.clear()


#: The one in-process cache (per process, shared by every :class:`Facts`; keys include the landing root).
CACHE = _ProcessCache()


def clear_caches() -> None:
    """Forget every per-process fact (tests and benchmarks of a fresh process); the stores keep theirs."""
    CACHE.clear()


def bounded_put(cache: dict, key, value, limit: int = CACHE_LIMIT) -> None:
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value


class Facts:
    """What is known about landing files: the in-process cache in front of the persistent ``store``."""

    def __init__(self, store: Manifest | None = None):
        self.store = store
        #: per thread, the records waiting for the store inside :meth:`batched` (none: written at once)
        self._batch = threading.local()

    @contextlib.contextmanager
    def batched(self) -> Iterator[None]:
        """Record what is learnt inside the block in one store transaction at its end, instead of one per file (a
        first tick learns the hashes and days of thousands of files). The cache knows each fact at once; a block that
        fails still writes what it learnt (facts are true whatever the caller does with them). Per thread: the
        daemon may evaluate sensors in threads sharing this object."""
        if getattr(self._batch, "records", None) is not None or self.store is None:  # nested: the outer block writes
            yield
            return
        self._batch.records = []
        try:
            yield
        finally:
            records, self._batch.records = self._batch.records, None
            self.store.put_many(records)

    # ------------------------------------------------------------------------------------------ reading

    def of(self, f: LandingFile) -> FileFacts:
        """Everything known about ``f`` (cache, then the store); never reads the file. What is not known yet is
        not cached: another process may learn it meanwhile (a staging run hashing a file the sensor saw)."""
        key = _key(f)
        hit = CACHE.files.get(key)
        if hit is None and self.store is not None:
            hit = self.store.get(f)
            if hit is not None:
                bounded_put(CACHE.files, key, hit)
        return hit or _UNKNOWN

    def prefetch(self, files: Sequence[LandingFile], folder: str | None = None) -> None:
        """Bring what the store knows about ``files`` (all in ``folder`` when given) into the cache with one query
        per folder instead of one per file (a forecast day of the 1,000-asset zone has ~190,000 files)."""
        if self.store is None:
            return
        missing = [f for f in files if _key(f) not in CACHE.files]
        if len(missing) < PREFETCH_FROM:
            return
        folders = {folder} if folder is not None else {f.name.rsplit("/", 1)[0] for f in missing if "/" in f.name}
        for one in folders:
            stored = self.store.get_folder(one)
            if not stored:
                continue
            for f in missing:
                hit = stored.get((f.name, f.size, f.mtime_ns))
                if hit is not None:
                    bounded_put(CACHE.files, _key(f), hit)

    def cached(self, f: LandingFile) -> FileFacts:
        """What this process knows about ``f`` (after :meth:`prefetch`), without asking the store."""
        return CACHE.files.get(_key(f)) or _UNKNOWN

    def _learn(self, f: LandingFile, field: str, compute: Callable[[], object], source: str | None = None):
        """The one sequence: cache -> store -> compute -> store and cache."""
        value = getattr(CACHE.files.get(_key(f)) or _UNKNOWN, field)
        if value is None and self.store is not None:
            stored = self.store.get(f)
            if stored is not None:
                bounded_put(CACHE.files, _key(f), stored)
                value = getattr(stored, field)
        if value is None:
            value = compute()
            self.record(f, source, **{field: value})
        return value

    def sha256(self, f: LandingFile) -> str:
        """SHA-256 of the file's bytes, read once per fingerprint. An unreadable file (vanished between scan and
        hash) gets a marker digest: its feed changes again on the next scan, and nothing is recorded."""
        try:
            return self._learn(f, "sha256", lambda: _file_sha256(f))
        except OSError as exc:
            return f"unreadable:{type(exc).__name__}"

    def days(self, spec: SourceSpec, f: LandingFile) -> frozenset[date]:
        """``spec.days_covered(f)``, learnt once per fingerprint; raises what ``days_covered`` raises."""
        assert spec.days_covered is not None
        if not isinstance(spec.days_covered, ContentDays):  # dated by the name: once per name and process
            key = (spec.name, f.name)
            days = CACHE.name_days.get(key)
            if days is None:
                days = frozenset(spec.days_covered(f))
                bounded_put(CACHE.name_days, key, days)
            return days
        content_days = spec.days_covered

        def from_content() -> frozenset[date]:
            try:
                frame = self.rows(spec, f)
            except Exception:
                frame = None
            return content_days.days_of(frame, f.basename)

        return self._learn(f, "days", from_content, spec.name)

    def days_or_empty(self, spec: SourceSpec, f: LandingFile) -> frozenset[date]:
        """:meth:`days`, or no day for a file whose days cannot be told (an absurd date in its name such as year
        9999 or 0001): such a file feeds no partition, and the sensors report it by name and rule."""
        try:
            return self.days(spec, f)
        except (ValueError, ArithmeticError):  # OverflowError is an ArithmeticError
            return frozenset()

    def rows(self, spec: SourceSpec, f: LandingFile) -> pd.DataFrame:
        """``spec.parse`` of the file (raises what it raises). For a source dated by its content, the rows are kept
        in this process per fingerprint (dating a file and loading it parse it once), and in the store by content
        hash when parsing took longer than :data:`KEEP_PARSED_FROM_SECONDS` (the sensor's parse then serves the
        staging load in another process; a quicker file is parsed again there, cheaper than writing and reading
        its rows: a DSO file of 96 rows parses in ~5 ms, its Parquet costs ~8 ms to write and ~3 ms to read)."""
        if not isinstance(spec.days_covered, ContentDays):
            return spec.parse(f.path, f.name)
        key = (spec.name, _key(f))
        frame = CACHE.frames.get(key)
        if frame is None:
            sha = self.sha256(f) if self.store is not None else None
            frame = self.store.get_frame(spec.name, sha) if sha is not None else None
            if frame is None:
                started = time.thread_time()  # CPU time: a loaded machine's wall time would keep every frame
                frame = spec.parse(f.path, f.name)
                if sha is not None and time.thread_time() - started > KEEP_PARSED_FROM_SECONDS:
                    self.store.put_frame(spec.name, sha, frame)
            bounded_put(CACHE.frames, key, frame, FRAME_LIMIT)
        return frame.copy()

    # ------------------------------------------------------------------------------------------ recording

    def record(self, f: LandingFile, source: str | None = None, **facts) -> None:
        """Record facts about ``f`` (``sha256``, ``days``, ``n_rows``, ``status``, ``rule``, ``reason``); facts not
        given keep what was known before."""
        self.record_many([(f, source, facts)])

    def record_many(self, records: Iterable[tuple[LandingFile, str | None, dict]]) -> None:
        """:meth:`record` for many files in one store transaction (a 1,000-asset day records ~190,000 files)."""
        records = list(records)
        batch = getattr(self._batch, "records", None)
        if batch is not None:
            batch.extend(records)
        elif self.store is not None:
            self.store.put_many(records)
        for f, _source, facts in records:
            key = _key(f)
            known = CACHE.files.get(key) or _UNKNOWN
            bounded_put(CACHE.files, key, replace(known, **{k: v for k, v in facts.items() if v is not None}))

    # ------------------------------------------------------------------------------------------ sensor states

    def last_plan(self, system: str) -> str | None:
        """The cursor of the last full plan of ``system``'s sensor, in any process and Dagster instance (None: none)."""
        return self.store.sensor_state(system) if self.store is not None else None

    def record_plan(self, system: str, cursor: str) -> None:
        if self.store is not None and cursor:
            self.store.record_sensor_state(system, cursor)

    # ------------------------------------------------------------------------------------------ loaded feeds

    def loaded(self, source: str) -> dict[date, tuple[str, str]]:
        """Day -> (stat digest, content digest) of the feed the staging table ``source`` last loaded (any process)."""
        return self.store.loaded(source) if self.store is not None else {}

    def record_loaded(self, source: str, contents: dict[date, tuple[str, str]]) -> None:
        if self.store is not None:
            self.store.record_loaded(source, contents)


def _file_sha256(f: LandingFile) -> str:
    with open(f.path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


#: Facts without a store (tests, tools that want nothing on disk): the in-process cache alone.
IN_MEMORY = Facts()
_BY_STORE: dict[str, Facts] = {}


def facts_at(directory: str | None) -> Facts:
    """This process's :class:`Facts` over the store in ``directory`` (one SQLite connection per folder and
    process); ``None``: :data:`IN_MEMORY`."""
    if not directory:
        return IN_MEMORY
    if directory not in _BY_STORE:
        _BY_STORE[directory] = Facts(Manifest(directory))
    return _BY_STORE[directory]
