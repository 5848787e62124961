"""Paths built from data, in one place (pure: no Dagster).

Every file the platform writes or serves under a name that comes from data (an invoice id, a contract id,
a customer) is placed with :func:`safe_path`: the result must lie inside its root folder, whatever the parts
say (``..``, an absolute path, a symbolic link pointing elsewhere). Identifiers are validated at ingestion
(:mod:`flexpower_dagster.lib.identifiers`); this is the second wall.
"""

from __future__ import annotations

import os
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
