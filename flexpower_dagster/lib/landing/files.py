"""Files in the landing zone: the one scanner, and the per-file facts computed once per fingerprint.

A file is identified by its path relative to the landing root; its *fingerprint* is (name, size,
mtime). Everything that reading a file tells us — its SHA-256, the delivery days it feeds — is cached
per fingerprint in this process (sensors' code servers keep these caches between ticks, so a no-op
tick reads no file). Sensors and staging assets both scan with :func:`scan`, so they agree on which
files exist and which source each belongs to. Pure module: no Dagster.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from flexpower_dagster.lib.landing.manifest import Manifest
from flexpower_dagster.lib.landing.source import ContentDays, LandingFile, SourceSpec


@dataclass
class Inventory:
    """The files of some sources, scanned once: per source its complete files; names no source
    recognises; files still being written (``waiting``); what was refused, with the reason."""

    files: dict[str, list[LandingFile]]
    unmatched: list[str]
    waiting: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def n_files(self) -> int:
        return sum(len(v) for v in self.files.values()) + len(self.unmatched)


# --------------------------------------------------------------------------------------------
# per-process caches, keyed by fingerprint

_DAYS_CACHE: dict[tuple, frozenset[date]] = {}
_HASH_CACHE: dict[tuple, str] = {}
_MATCH_CACHE: dict[tuple, str | None] = {}  # (folder + its specs, base name) -> owning source
_CACHE_LIMIT = 400_000
#: parsed frames of content-dated files (small: one DSO/imbalance/trade file each), per fingerprint
_FRAME_CACHE: dict[tuple, pd.DataFrame] = {}
_FRAME_CACHE_LIMIT = 5_000
_CLEARERS: list[Callable[[], None]] = []


def _bounded_put(cache: dict, key, value) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def on_clear(fn: Callable[[], None]) -> Callable[[], None]:
    """Register another per-process cache to be emptied by :func:`clear_caches`."""
    _CLEARERS.append(fn)
    return fn


def clear_caches() -> None:
    """Forget every per-file fact of this process (tests, benchmarks of a cold start)."""
    _DAYS_CACHE.clear()
    _HASH_CACHE.clear()
    _MATCH_CACHE.clear()
    _FRAME_CACHE.clear()
    for fn in _CLEARERS:
        fn()


def file_sha256(f: LandingFile, manifest: Manifest | None = None) -> str:
    """SHA-256 of the file's bytes, read once per fingerprint (this process's cache, then the manifest).
    An unreadable file (vanished between scan and hash) gets a marker digest: its feed changes again on
    the next scan, and nothing is recorded."""
    key = (str(f.root), f.name, f.size, f.mtime_ns)
    hit = _HASH_CACHE.get(key)
    if hit is None:
        facts = manifest.get(f) if manifest is not None else None
        hit = facts.sha256 if facts is not None else None
        if hit is None:
            try:
                with open(f.path, "rb") as fh:
                    hit = hashlib.file_digest(fh, "sha256").hexdigest()
            except OSError as exc:
                return f"unreadable:{type(exc).__name__}"
            if manifest is not None:
                manifest.put(f, sha256=hit)
        _bounded_put(_HASH_CACHE, key, hit)
    return hit


def parsed(spec: SourceSpec, f: LandingFile, manifest: Manifest | None = None) -> pd.DataFrame:
    """``spec.parse`` of the file (raises what it raises). For a source dated by its content, the rows
    are kept in the manifest by content hash (the sensor's parse serves the staging load) and in this
    process per fingerprint (dating a file and loading it read it once)."""
    content_dated = isinstance(spec.days_covered, ContentDays)
    key = (spec.name, str(f.root), f.name, f.size, f.mtime_ns)
    if content_dated and key in _FRAME_CACHE:
        return _FRAME_CACHE[key].copy()
    frame = _parsed(spec, f, manifest if content_dated else None)
    if content_dated:
        if len(_FRAME_CACHE) >= _FRAME_CACHE_LIMIT:
            _FRAME_CACHE.clear()
        _FRAME_CACHE[key] = frame
        return frame.copy()
    return frame


def _parsed(spec: SourceSpec, f: LandingFile, manifest: Manifest | None) -> pd.DataFrame:
    keep = manifest is not None
    if keep:
        sha = file_sha256(f, manifest)
        frame = manifest.get_frame(spec.name, sha)
        if frame is not None:
            return frame
    frame = spec.parse(f.path, f.name)
    if keep:
        manifest.put_frame(spec.name, sha, frame)
    return frame


def file_days(spec: SourceSpec, f: LandingFile, manifest: Manifest | None = None) -> frozenset[date]:
    """``spec.days_covered(f)``, learnt once per fingerprint (this process's cache, then the manifest);
    raises what ``days_covered`` raises."""
    assert spec.days_covered is not None
    if not isinstance(spec.days_covered, ContentDays):  # dated by the name: cheaper than any cache lookup
        return frozenset(spec.days_covered(f))
    key = (spec.name, str(f.root), f.name, f.size, f.mtime_ns)
    hit = _DAYS_CACHE.get(key)
    if hit is None:
        facts = manifest.get(f) if manifest is not None else None
        hit = facts.days if facts is not None else None
        if hit is None:
            try:
                frame = parsed(spec, f, manifest)
            except Exception:
                frame = None
            hit = spec.days_covered.days_of(frame, f.basename)
            if manifest is not None:
                manifest.put(f, spec.name, days=hit)
        _bounded_put(_DAYS_CACHE, key, hit)
    return hit


def days_or_empty(spec: SourceSpec, f: LandingFile, manifest: Manifest | None = None) -> frozenset[date]:
    """:func:`file_days`, or no day for a file whose days cannot be told (an absurd date in its name such as
    year 9999 or 0001): such a file feeds no partition, and the sensors report it by name and rule."""
    try:
        return file_days(spec, f, manifest)
    except (ValueError, ArithmeticError):  # OverflowError is an ArithmeticError
        return frozenset()


# --------------------------------------------------------------------------------------------
# the scanner


#: Names of files still being written by the convention "write ``x.tmp``, then rename to ``x``".
IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".filepart")
#: The completed-file signal: an (empty) file ``<name>.done`` beside ``<name>``, written after ``<name>`` is complete.
#: A folder that holds any marker (or a source declared with ``done_markers=True``) *uses markers*: there a file is
#: read only once its marker exists and is not older than the file (docs/hardening.md).
DONE_SUFFIX = ".done"


def _marked_done(marker: os.DirEntry | None, file_mtime_ns: int) -> bool:
    """The file's ``.done`` marker exists (a regular file, no link) and was written after the file's last change:
    a marker older than the file belongs to an earlier version (the file is being rewritten)."""
    if marker is None:
        return False
    try:
        return marker.is_file(follow_symlinks=False) and marker.stat(follow_symlinks=False).st_mtime_ns >= file_mtime_ns
    except OSError:
        return False


def scan(
    root: Path, specs: Sequence[SourceSpec], extra_folders: Iterable[str] = (), *, settle_seconds: float = 0.0
) -> Inventory:
    """Scan each folder of ``specs`` once; a file belongs to the first spec of its folder whose
    pattern matches its name.

    Only complete, regular files inside the landing zone are taken (docs/hardening.md):

    * a symbolic link is never followed (it could point anywhere): it is *refused*, and so is a folder
      that resolves outside the root;
    * a file still being written is *waiting*: its name ends in ``.tmp``/``.part``/... (write, then
      rename), or it changed less than ``settle_seconds`` ago (for writers that cannot rename), or its
      folder uses ``.done`` markers (:data:`DONE_SUFFIX`) and its marker is missing or older than the
      file; it is picked up by a later scan once it is complete. Markers themselves are no data files;
    * a folder uses markers when it holds any ``<name>.done`` or one of its specs says ``done_markers``;
    * hidden files are ignored; files matching no spec of their folder are *unmatched*.

    ``extra_folders`` (e.g. a system's top folder such as ``vpp``) are scanned for stray files only.
    """
    root = Path(root)
    real_root = root.resolve()
    newest_settled = time.time_ns() - int(settle_seconds * 1e9)
    by_folder: dict[str, list[SourceSpec]] = {}
    for spec in specs:
        by_folder.setdefault(spec.folder.strip("/"), []).append(spec)
    for extra in extra_folders:
        by_folder.setdefault(extra.strip("/"), [])
    files: dict[str, list[LandingFile]] = {s.name: [] for s in specs}
    inv = Inventory(files=files, unmatched=[])
    for folder, folder_specs in by_folder.items():
        match_key = (folder, tuple((sp.name, sp.pattern.pattern) for sp in folder_specs))
        path = root / folder
        if path.is_symlink() or (path.exists() and real_root not in path.resolve().parents):
            inv.refused.append((folder, "the folder is a symbolic link or lies outside the landing zone: not read"))
            continue
        try:
            with os.scandir(path) as it:
                entries = [e for e in it if not e.name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            continue
        markers = {e.name[: -len(DONE_SUFFIX)]: e for e in entries if e.name.endswith(DONE_SUFFIX)}
        uses_markers = bool(markers) or any(sp.done_markers for sp in folder_specs)
        for entry in entries:
            rel = f"{folder}/{entry.name}"
            try:
                if entry.is_symlink():
                    inv.refused.append((rel, "a symbolic link: not followed (links may point outside the landing zone)"))
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                if entry.name.endswith(DONE_SUFFIX):  # a marker: a signal, not data
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:  # vanished while scanning
                continue
            if entry.name.endswith(IN_PROGRESS_SUFFIXES) or st.st_mtime_ns > newest_settled:
                inv.waiting.append(rel)
                continue
            if uses_markers and not _marked_done(markers.get(entry.name), st.st_mtime_ns):
                inv.waiting.append(rel)
                continue
            owner = _MATCH_CACHE.get((match_key, entry.name), False)
            if owner is False:
                owner = next((sp.name for sp in folder_specs if sp.pattern.fullmatch(entry.name)), None)
                _bounded_put(_MATCH_CACHE, (match_key, entry.name), owner)
            if owner is None:
                inv.unmatched.append(rel)
            else:
                files[owner].append(LandingFile(root, rel, st.st_size, st.st_mtime_ns))
    for v in files.values():
        v.sort(key=lambda f: f.name)
    inv.unmatched.sort()
    inv.waiting.sort()
    return inv


def source_files(root: Path, spec: SourceSpec, settle_seconds: float = 0.0) -> list[LandingFile]:
    """The complete files of one source, sorted by name."""
    return scan(root, [spec], settle_seconds=settle_seconds).files[spec.name]


def landing_days(
    root: Path, specs: Sequence[SourceSpec], inventory: Inventory | None = None, manifest: Manifest | None = None
) -> frozenset[date]:
    """The delivery days for which the landing zone holds files of the event sources ``specs`` (callers
    pass the sources that define days, ``SourceSpec.defines_days``, or that mean a day was delivered,
    ``SourceSpec.delivered``). ``inventory`` reuses a scan already made."""
    defining = [s for s in specs if s.days_covered is not None]
    inv = inventory if inventory is not None and all(s.name in inventory.files for s in defining) else scan(root, defining)
    days: set[date] = set()
    for spec in defining:
        for f in inv.files.get(spec.name, []):
            try:
                days |= file_days(spec, f, manifest)
            except Exception:  # days_covered must not raise; a file that cannot be dated defines no day
                continue
    return frozenset(days)
