"""Files in the landing zone: the one scanner.

Sensors, staging assets and the CLI all scan with :func:`scan`, so they agree on which files exist, which are
complete and which source each belongs to. What is known about a file (hash, days, rows) is asked of
:class:`~flexpower_dagster.lib.landing.facts.Facts`. Pure module: no Dagster.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flexpower_dagster.lib.landing.facts import CACHE, IN_MEMORY, Facts, bounded_put
from flexpower_dagster.lib.landing.source import LandingFile, SourceSpec


@dataclass
class Inventory:
    """The files of some sources, scanned once: per source its complete files; names no source
    recognises; files still being written (``waiting``); what was refused, with the reason."""

    files: dict[str, list[LandingFile]]
    unmatched: list[str]
    waiting: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    #: per folder scanned, what a later tick compares to tell that nothing changed there (:func:`unchanged`):
    #: [directory mtime (ns; MISSING, UNTRUSTED), newest mtime of its files (ns), files still being written]
    folders: dict[str, list[int]] = field(default_factory=dict)

    @property
    def n_files(self) -> int:
        return sum(len(v) for v in self.files.values()) + len(self.unmatched)


# --------------------------------------------------------------------------------------------
# the scanner


#: Names of files still being written by the convention "write ``x.tmp``, then rename to ``x``".
IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".filepart")
#: The completed-file signal: an (empty) file ``<name>.done`` beside ``<name>``, written after ``<name>`` is complete.
#: A folder that holds any marker (or a source declared with ``done_markers=True``) *uses markers*: there a file is
#: read only once its marker exists and is not older than the file (docs/hardening.md).
DONE_SUFFIX = ".done"


#: Folder states: the folder does not exist; its state cannot be trusted (a link, or changed within DIR_MARGIN_NS).
MISSING, UNTRUSTED = -1, -2
#: File systems stamp mtimes with a coarse clock (a kernel tick, 1-10 ms): a directory modified less than this long
#: before a scan may change again under the same mtime. The scan then waits this long before listing it, so the
#: mtime it records proves the listing (local file systems; one with second-granular mtimes needs a larger margin).
DIR_MARGIN_NS = 50_000_000
#: A quiet check re-stats at most this many files per folder (all of a smaller folder; in a bigger one a rotating
#: slice): a file rewritten in place under the same name, which leaves the directory's mtime alone, is seen at once
#: in folders up to this size and within ceil(files / SWEEP_FILES) ticks in bigger ones.
SWEEP_FILES = 4_000


class _NoStat:
    st_size = st_mtime_ns = -1


_NO_STAT = _NoStat()


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
    root: Path, specs: Sequence[SourceSpec], extra_folders: Iterable[str] = (), *, settle_seconds: float = 0.0,
    names_only: bool = False,
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

    ``names_only``: no file is stat'ed (a tenth of the time in a folder of 190,000 files): the files carry size and
    mtime -1 and only what their names say is known — for dating sources dated by the name (the landing days);
    the settle time is not applied (no mtime), the other rules are.
    """
    root = Path(root)
    real_root = root.resolve()
    started = time.time_ns()
    newest_settled = started - int(settle_seconds * 1e9)
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
            inv.folders[folder] = [UNTRUSTED, 0, 0]
            continue
        try:
            dir_mtime = os.stat(path).st_mtime_ns  # before listing: a file added meanwhile changes it again
            if dir_mtime > time.time_ns() - DIR_MARGIN_NS:
                time.sleep(DIR_MARGIN_NS / 1e9)
                dir_mtime = os.stat(path).st_mtime_ns
            listed_at = time.time_ns()
            with os.scandir(path) as it:
                entries = [e for e in it if not e.name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            inv.folders[folder] = [MISSING, 0, 0]
            continue
        state = inv.folders[folder] = [dir_mtime if dir_mtime <= listed_at - DIR_MARGIN_NS else UNTRUSTED, 0, 0]
        if state[0] != UNTRUSTED and not names_only:  # the names a later quiet check sweeps (:func:`unchanged`)
            bounded_put(CACHE.listings, ("names", os.path.join(root, folder), dir_mtime),
                        [e.name for e in entries if e.is_file(follow_symlinks=False)], 256)
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
                st = _NO_STAT if names_only else entry.stat(follow_symlinks=False)
            except OSError:  # vanished while scanning
                continue
            state[1] = max(state[1], st.st_mtime_ns)
            if entry.name.endswith(DONE_SUFFIX):  # a marker: a signal, not data
                continue
            if entry.name.endswith(IN_PROGRESS_SUFFIXES) or st.st_mtime_ns > newest_settled:
                inv.waiting.append(rel)
                state[2] += 1
                continue
            if uses_markers and not (names_only and entry.name in markers) and not _marked_done(markers.get(entry.name), st.st_mtime_ns):
                inv.waiting.append(rel)
                state[2] += 1
                continue
            owner = CACHE.owners.get((match_key, entry.name), False)
            if owner is False:
                owner = next((sp.name for sp in folder_specs if sp.pattern.fullmatch(entry.name)), None)
                bounded_put(CACHE.owners, (match_key, entry.name), owner)
            if owner is None:
                inv.unmatched.append(rel)
            else:
                files[owner].append(LandingFile(root, rel, st.st_size, st.st_mtime_ns))
    for v in files.values():
        v.sort(key=lambda f: f.name)
    inv.unmatched.sort()
    inv.waiting.sort()
    return inv


def unchanged(root: Path, folder: str, state: list[int] | None) -> bool:
    """Whether ``folder`` is as a scan that gave ``state`` (:attr:`Inventory.folders`) left it, without listing
    it again: the directory's mtime is the same (no file added, removed or renamed), no file was still being
    written, and no file of a sweep (all files, or :data:`SWEEP_FILES` of a bigger folder, in rotation) changed
    since (its mtime is not newer than the newest the scan saw)."""
    if not state or state[0] == UNTRUSTED or state[2]:
        return False
    path = os.path.join(root, folder)
    try:
        if os.stat(path).st_mtime_ns != state[0]:
            return False
    except OSError:
        return state[0] == MISSING
    if state[0] == MISSING:
        return False
    key = ("names", path, state[0])
    names = CACHE.listings.get(key)
    if names is None:  # this process has not listed the folder at this mtime yet (names only: no stat)
        with os.scandir(path) as it:
            names = [e.name for e in it if not e.name.startswith(".") and e.is_file(follow_symlinks=False)]
        bounded_put(CACHE.listings, key, names, 256)
    sweep = names
    if len(names) > SWEEP_FILES:
        start = CACHE.listings.get(("sweep", path), 0) % len(names)
        sweep = names[start:start + SWEEP_FILES] + names[: max(0, start + SWEEP_FILES - len(names))]
        CACHE.listings[("sweep", path)] = start + SWEEP_FILES
    for name in sweep:
        try:
            if os.stat(os.path.join(path, name), follow_symlinks=False).st_mtime_ns > state[1]:
                return False
        except OSError:  # vanished: the directory's mtime changes too, seen on the next tick
            return False
    return True


def source_files(root: Path, spec: SourceSpec, settle_seconds: float = 0.0) -> list[LandingFile]:
    """The complete files of one source, sorted by name."""
    return scan(root, [spec], settle_seconds=settle_seconds).files[spec.name]


def landing_days(
    root: Path, specs: Sequence[SourceSpec], inventory: Inventory | None = None, facts: Facts = IN_MEMORY
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
                days |= facts.days(spec, f)
            except Exception:  # days_covered must not raise; a file that cannot be dated defines no day
                continue
    return frozenset(days)
