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
