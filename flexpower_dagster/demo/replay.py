"""Replay one delivery day into a landing zone, file by file, at the (sped-up) times the files would arrive.

``python -m flexpower_dagster.demo --replay DAY --speed N --into LANDING_DIR [--from SOURCE_DIR]`` (docs/demo.md,
"Watch the position move"). Two pure parts, wired by the CLI:

* :func:`schedule` — which files of a source landing zone belong to the day and when each arrives: a list of
  :class:`Arrival` (simulated arrival time, source path, relative target), in time order;
* :func:`play` — copies them into the target zone in that order, waiting ``(at - first) / speed`` real seconds
  between them, through an injectable ``clock`` and ``sleep`` (tests pass fake ones).

The arrival time of a file comes from its name through its source's ``SourceSpec.file_time`` (the platform's own
reading of the names, never a second parser), adjusted where the name states the *content's* day rather than
the delivery: a live file (German local day) is complete at the end of that local day, a DSO final production
file (dated the next day) arrives in the morning of that day (:data:`DSO_FINAL_ARRIVAL`).

The replay window is ``[D-1 12:00Z, D+1 18:00Z)`` (:data:`WINDOW_START`, :data:`WINDOW_END`; ``begin`` starts it
later): the day-ahead afternoon (hourly products sell the forecast of D-1 15:00), the day itself and the next
morning (trade exports just after midnight, DSO finals, redispatch flags). Files of the day that arrived before
the window (older forecast versions, the contract and technical-data snapshots in force) are copied first, at
the window's start; files that arrive after it (the live file of the next local day, complete at D+1 22:00Z; the
DSO's redispatch compensation, weeks later) are copied last, after the last file inside the window. Both are
flagged in the output (``before start``, ``late``), like the files the position does not need (``other: ...``).

Pure module: no Dagster.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from flexpower_dagster.defs.crm.sources import CRM_CONTRACTS_SOURCE
from flexpower_dagster.defs.dso.sources import FINAL_PRODUCTION, REDISPATCH_COMPENSATION, REDISPATCH_FLAGS
from flexpower_dagster.defs.exchange.sources import PRIVATE_TRADES, PUBLIC_TRADES
from flexpower_dagster.defs.imbalance_prices.sources import ESTIMATES, FINAL
from flexpower_dagster.defs.vpp.sources import VPP_FORECASTS_SOURCE, VPP_LIVE_SAMPLES_SOURCE, VPP_TECHNICAL_DATA_SOURCE
from flexpower_dagster.demo.timegrid import local_day_bounds, to_dt
from flexpower_dagster.lib.landing.files import scan
from flexpower_dagster.lib.landing.source import SourceSpec

#: Every source the replay copies (the pure ``sources.py`` declarations; the same list as the code location's).
REPLAY_SOURCES: tuple[SourceSpec, ...] = (
    CRM_CONTRACTS_SOURCE,
    VPP_TECHNICAL_DATA_SOURCE,
    VPP_FORECASTS_SOURCE,
    VPP_LIVE_SAMPLES_SOURCE,
    FINAL_PRODUCTION,
    REDISPATCH_FLAGS,
    REDISPATCH_COMPENSATION,
    PRIVATE_TRADES,
    PUBLIC_TRADES,
    ESTIMATES,
    FINAL,
)

#: When a DSO final production file (named after the day it is delivered, D+1) arrives: that morning (UTC).
DSO_FINAL_ARRIVAL = timedelta(hours=7)
#: The replay window around delivery day D: [D + WINDOW_START, D + WINDOW_END): from D-1 12:00Z (the day-ahead
#: afternoon: the technical-data snapshot, the D-1 15:00 forecast the hourly products sell) to D+1 18:00Z (the
#: trade exports after midnight, the DSO's finals in the morning and its redispatch flags around noon).
WINDOW_START = timedelta(hours=-12)
WINDOW_END = timedelta(days=1, hours=18)
#: Suffix of a file being copied (the landing scanner ignores it: ``lib.landing.files.IN_PROGRESS_SUFFIXES``).
TMP_SUFFIX = ".tmp"

BEFORE_START = "before start"
LATE = "late"
#: The sources the position needs (contracts, forecasts, trades) and the live infeed; the replay copies the
#: day's other files too (DSO, imbalance prices) and flags them in the output, with how their time was chosen.
OTHER_NOTES = {
    FINAL_PRODUCTION.name: f"other: DSO final, the next morning ({DSO_FINAL_ARRIVAL.seconds // 3600:02d}:00Z assumed)",
    REDISPATCH_FLAGS.name: "other: DSO redispatch flag",
    REDISPATCH_COMPENSATION.name: "other: DSO redispatch compensation",
    ESTIMATES.name: "other: imbalance price estimate",
    FINAL.name: "other: final imbalance price",
}


@dataclass(frozen=True)
class Arrival:
    """One file of the replay: copied at simulated time ``at`` from ``source`` to ``<landing>/<target>``.

    ``arrives`` is the file's own arrival time (from its name); it differs from ``at`` only for the files
    flagged in ``note`` (arrived before the window: copied at its start; arrive after it: copied last).
    """

    at: datetime  # naive UTC, simulated
    source: Path
    target: str  # posix path relative to the landing root
    source_name: str  # the SourceSpec's name (staging table)
    arrives: datetime
    note: str = ""

    def __iter__(self):  # ``at, source, target = arrival``
        return iter((self.at, self.source, self.target))


def window(day: date) -> tuple[datetime, datetime]:
    """The replay's simulated time span for delivery day ``day`` (naive UTC)."""
    d0 = datetime(day.year, day.month, day.day)
    return d0 + WINDOW_START, d0 + WINDOW_END


def arrival_time(spec: SourceSpec, basename: str) -> datetime | None:
    """When a file of ``spec`` named ``basename`` arrives (naive UTC), from ``spec.file_time``; None when the
    name carries no valid time (the platform would reject the file; the replay leaves it out)."""
    t = spec.file_time(basename)
    if t == datetime.min:
        return None
    if spec.name == VPP_LIVE_SAMPLES_SOURCE.name:  # complete at the end of its German local day
        return to_dt(local_day_bounds(t.date())[1])
    if spec.name == FINAL_PRODUCTION.name:  # dated the delivery morning (D+1), no time in the name
        return t + DSO_FINAL_ARRIVAL
    return t


def schedule(
    source_dir: Path, day: date, sources: Sequence[SourceSpec] = REPLAY_SOURCES, *, begin: datetime | None = None
) -> list[Arrival]:
    """The files of ``source_dir`` that belong to delivery ``day``, each with its arrival time, in time order.

    * event files (forecasts, live, DSO, trades, imbalance prices): those whose ``days_covered`` include the day
      (the platform's own rule: a forecast version covers 48 h, an imbalance file several days);
    * snapshots (CRM contracts, technical data): the newest one taken before the window starts, then every one
      taken inside the window.

    ``begin`` (naive UTC, inside the window) starts the replay later than the window: what arrived before it is
    copied at once, first. Order: simulated time ``at``, then the file's own arrival, then the target path.
    """
    source_dir = Path(source_dir)
    start, end = window(day)
    if begin is not None:
        if not start <= begin < end:
            raise ValueError(f"begin {_fmt(begin)} lies outside the replay window {_fmt(start)} .. {_fmt(end)}")
        start = begin
    inv = scan(source_dir, list(sources))
    chosen: list[tuple[datetime, SourceSpec, str, Path]] = []
    for spec in sources:
        timed = []
        for f in inv.files[spec.name]:
            t = arrival_time(spec, f.basename)
            if t is not None:
                timed.append((t, f))
        if spec.kind == "snapshot":
            before = [x for x in timed if x[0] <= start]
            keep = [max(before, key=lambda x: (x[0], x[1].name))] if before else []
            keep += [x for x in timed if start < x[0] < end]
        else:
            keep = [x for x in timed if day in spec.days_covered(x[1])]
        chosen += [(t, spec, f.name, f.path) for t, f in keep]
    in_window = [t for t, *_ in chosen if start <= t < end]
    last = max(in_window, default=start)
    out = []
    for t, spec, name, path in chosen:
        if t < start:
            at, notes = start, [f"{BEFORE_START} (arrived {_fmt(t)})"]
        elif t >= end:
            at, notes = last, [f"{LATE} (arrives {_fmt(t)})"]
        else:
            at, notes = t, []
        if spec.name in OTHER_NOTES:
            notes.append(OTHER_NOTES[spec.name])
        out.append(Arrival(at=at, source=path, target=name, source_name=spec.name, arrives=t, note="; ".join(notes)))
    out.sort(key=lambda a: (a.at, a.arrives, a.target))
    return out


def copy_atomically(source: Path, dest: Path, now: float) -> None:
    """Copy ``source`` to ``dest`` as the landing convention wants: write ``<dest>.tmp``, set its mtime to
    ``now`` (epoch seconds), rename it to ``dest`` (atomic on one file system). No ``.tmp`` is left behind."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + TMP_SUFFIX)
    try:
        shutil.copyfile(source, tmp)
        ns = int(now * 1e9)
        os.utime(tmp, ns=(ns, ns))
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def _fmt(t: datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M}Z"


def _real(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%H:%M:%S")


def line(a: Arrival, real: str) -> str:
    """One output line: simulated time, real time (or offset), target, flag."""
    return f"{_fmt(a.at)}  {real}  {a.target}" + (f"  [{a.note}]" if a.note else "")


def dry_run(arrivals: Sequence[Arrival], speed: float = 0, emit: Callable[[str], None] = print) -> None:
    """Print the schedule without copying or waiting; with a speed, each line shows its real offset."""
    if not arrivals:
        return
    first = arrivals[0].at
    for a in arrivals:
        offset = "" if speed <= 0 else "+" + duration((a.at - first).total_seconds() / speed)
        emit(line(a, offset.rjust(9) if offset else "schedule"))


def duration(seconds: float) -> str:
    """``h:mm:ss``."""
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def play(
    arrivals: Iterable[Arrival],
    into: Path,
    speed: float,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    emit: Callable[[str], None] = print,
) -> int:
    """Copy every arrival into ``into`` in order, the first at once and each next one
    ``(at - first.at) / speed`` real seconds after the start (``speed`` simulated seconds per real second:
    60 = one simulated hour per real minute). ``clock`` (epoch seconds) and ``sleep`` are injectable; each
    file's mtime is the clock's time of its copy. Returns the number of files copied."""
    if speed <= 0:
        raise ValueError(f"speed must be > 0 to play (got {speed}); use a dry run to print the schedule")
    into = Path(into)
    n = 0
    first: datetime | None = None
    real0 = clock()
    for a in arrivals:
        if first is None:
            first = a.at
        due = real0 + (a.at - first).total_seconds() / speed
        wait = due - clock()
        if wait > 0:
            sleep(wait)
        now = clock()
        copy_atomically(a.source, into / a.target, now)
        n += 1
        emit(line(a, f"(real {_real(now)})"))
    return n
