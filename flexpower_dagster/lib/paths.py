"""Paths built from data, in one place (pure: no Dagster).

Every file the platform writes or serves under a name that comes from data (an invoice id, a contract id,
a customer) is placed with :func:`safe_path`: the result must lie inside its root folder, whatever the parts
say (``..``, an absolute path, a symbolic link pointing elsewhere). Identifiers are validated at ingestion
(:mod:`flexpower_dagster.lib.identifiers`); this is the second wall.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class UnsafePathError(ValueError):
    """A path built from data would leave its root folder."""


def safe_path(root: str | Path, *parts: str) -> Path:
    """``root / parts...``, refused unless it resolves inside ``root`` (symbolic links resolved)."""
    base = Path(root).resolve()
    for part in parts:
        if not part or "\x00" in str(part):
            raise UnsafePathError(f"empty or NUL path part in {parts!r}")
    candidate = base.joinpath(*parts).resolve()
    if candidate != base and base not in candidate.parents:
        raise UnsafePathError(f"{'/'.join(map(str, parts))!r} resolves outside {base}")
    return candidate


def write_if_changed(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` unless it already holds exactly that: a temporary file beside it, then
    ``os.replace``, so a reader never sees half a document and an unchanged file keeps its mtime."""
    if path.is_file() and path.read_bytes() == content:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


@contextlib.contextmanager
def site_lock(site: str | Path) -> Iterator[None]:
    """Exclusive lock on a published site folder (``.<name>.publish.lock`` beside it; the folder itself is renamed
    away on publish): the position step rewrites the desk's data file in it while a site build may publish a new tree over it
    from the other lane (docs/automation.md, "Concurrency"). Held for milliseconds: a file write, two renames."""
    site = Path(site)
    site.parent.mkdir(parents=True, exist_ok=True)
    with open(site.with_name(f".{site.name}.publish.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
