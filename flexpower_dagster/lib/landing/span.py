"""The first and last delivery day that the landing zone's files point to, read from their names only.

The partition range of the code location starts at the first day of the landing zone's data
(``flexpower_dagster/partition_range.py``), and it is computed every time the definitions load (the code
server, every run worker, ``make run``). So this looks at names only: one directory listing per folder of
the given sources, no ``stat``, no file opened. A source dated by its content (DSO, imbalance prices) is
dated by its name's guess (``ContentDays.guess``), as the sensors do before they have read a file; a name
that cannot be dated is skipped (the sensors report it). Files being written (``.tmp``, ...) and hidden
files are ignored as the scanner ignores them. Pure module: no Dagster.

Only the extremes matter, so not every name is dated (``strptime`` is what costs): the days a file feeds
follow the first date written in its name (``YYYYMMDD`` or ``YYYY-MM-DD``: the forecast version, the live
file's local day, the trade export's delivery day, the DSO file's date), so per source only the names with
the smallest and the largest such date are dated, and every name without one. 100,000 names: about 0.2 s
(``tests/landing/test_partition_range.py`` checks the shortcut against dating every name).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from flexpower_dagster.lib.landing.files import IN_PROGRESS_SUFFIXES
from flexpower_dagster.lib.landing.source import ContentDays, LandingFile, SourceSpec

#: The first date written in a file name (``20250608``, ``2025-06-08``).
_DATE_IN_NAME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


def _names(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return [
                e.name for e in entries
                if not e.name.startswith(".") and not e.name.endswith(IN_PROGRESS_SUFFIXES) and e.is_file(follow_symlinks=False)
            ]
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def _days_by_name(spec: SourceSpec, root: Path, name: str) -> frozenset[date]:
    covered = spec.days_covered
    if covered is None:
        return frozenset()
    if isinstance(covered, ContentDays):
        return frozenset(covered.guess(name))
    return frozenset(covered(LandingFile(root, f"{spec.folder.strip('/')}/{name}", 0, 0)))


def _span_of(spec: SourceSpec, root: Path, names: list[str]) -> tuple[date, date] | None:
    lo: date | None = None
    hi: date | None = None
    for name in names:
        try:
            days = _days_by_name(spec, root, name)
        except Exception:  # an undatable name defines no day (the sensors name it)
            continue
        if days:
            lo = min(days) if lo is None else min(lo, min(days))
            hi = max(days) if hi is None else max(hi, max(days))
    return None if lo is None or hi is None else (lo, hi)


def _dated(spec: SourceSpec, root: Path, names: list[str], every_name: bool) -> list[tuple[date, date]]:
    """Spans of the names that can hold the extremes: every name without a date in it; of the others, the
    names of the smallest date that can be dated, and those of the largest (a name with an impossible date,
    ``20259999``, is passed over)."""
    if every_name:
        return [s for s in [_span_of(spec, root, names)] if s]
    by_token: dict[str, list[str]] = {}
    undated: list[str] = []
    for name in names:
        m = _DATE_IN_NAME.search(name)
        if m is None:
            undated.append(name)
        else:
            by_token.setdefault("".join(m.groups()), []).append(name)
    spans = [s for s in [_span_of(spec, root, undated)] if s]
    tokens = sorted(by_token)
    for ordered in (tokens, tokens[::-1]):
        for token in ordered:
            span = _span_of(spec, root, by_token[token])
            if span is not None:
                spans.append(span)
                break
    return spans


def name_day_span(root: Path, specs: Sequence[SourceSpec], *, every_name: bool = False) -> tuple[date, date] | None:
    """``(first, last)`` delivery day the names of the ``specs``' files point to; None without any.

    ``every_name``: date every name instead of the extremes (the reference for the shortcut's test)."""
    root = Path(root)
    first: date | None = None
    last: date | None = None
    listed: dict[str, list[str]] = {}
    for spec in specs:
        folder = spec.folder.strip("/")
        if folder not in listed:
            listed[folder] = _names(root / folder)
        matching = [n for n in listed[folder] if spec.pattern.fullmatch(n)]
        for days in _dated(spec, root, matching, every_name):
            first = days[0] if first is None or days[0] < first else first
            last = days[1] if last is None or days[1] > last else last
    return None if first is None or last is None else (first, last)
