"""One new forecast version for every asset: the files, the days they touch, adding and removing them.

The demo generator writes whole windows of days and cannot emit a single version, so the new version is
written here in exactly the demo's layout (``flexpower_dagster/demo/vpp.py``: one line, ``key``,
``column_ids``, ``units``, ``values``; timestamps in the units of the existing files, i.e. seconds declared
``ms``): for every asset with a version at the zone's newest version time T, a version T + 15 min whose
values are T's values one quarter-hour on (the last quarter-hour repeated), named
``forecast_<asset>_<T+15min>Z.json``. A version covers 48 h ahead, so it touches three delivery days.

The files are written beside the landing zone, listed in ``added.json`` (so an interrupted benchmark can
take them out again: :func:`benchmark.zones.restore_added`), then renamed into ``vpp/forecasts`` (a
complete file appears at once, as a well-behaved source system delivers) with a modification time a
minute in the past (settled: ``FLEXPOWER_SETTLE_SECONDS``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from benchmark.zones import restore_added

FORECASTS = Path("vpp") / "forecasts"
NAME = re.compile(r"(forecast_.+)_(\d{4}-\d{2}-\d{2}T\d{6})Z\.json")
STEP = timedelta(minutes=15)
#: a version T covers the quarter-hours starting T .. T + 48 h
HORIZON = timedelta(hours=48, minutes=15)


def newest_versions(landing: Path) -> tuple[datetime, list[Path]]:
    """The newest version time in the zone and its files (one per asset)."""
    by_time: dict[str, list[str]] = {}
    with os.scandir(landing / FORECASTS) as it:
        for entry in it:
            m = NAME.fullmatch(entry.name)
            if m:
                by_time.setdefault(m.group(2), []).append(entry.name)
    if not by_time:
        raise SystemExit(f"no forecast files in {landing / FORECASTS}")
    stamp = max(by_time)
    return datetime.strptime(stamp, "%Y-%m-%dT%H%M%S"), [landing / FORECASTS / n for n in sorted(by_time[stamp])]


def next_version_text(previous: str) -> str:
    """The next version of a forecast file's text (see the module docstring)."""
    doc = json.loads(previous)
    cols = doc["column_ids"]
    values = doc["values"]
    start = values[cols.index("start")]
    step = start[1] - start[0]
    shifted = [[*column[1:], column[-1]] for column in values]
    for name in ("start", "end"):
        if name in cols:
            shifted[cols.index(name)] = [v + step for v in values[cols.index(name)]]
    shifted[cols.index("version")] = [v + step for v in values[cols.index("version")]]
    head = (f'{{"key": {json.dumps(doc["key"])}, "column_ids": {json.dumps(cols)}, '
            f'"units": {json.dumps(doc["units"])}, "values": ')
    return head + json.dumps(shifted) + "}"


def days_touched(version: datetime) -> list[date]:
    """UTC delivery days a version touches: [version, version + 48 h 15 min)."""
    first, last = version.date(), (version + HORIZON - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def add_next_version(zone_folder: Path) -> tuple[datetime, list[str]]:
    """Write the next forecast version of every asset into the zone; returns (version, added paths
    relative to the landing dir)."""
    landing = zone_folder / "landing"
    newest, files = newest_versions(landing)
    version = newest + STEP
    incoming = zone_folder / "incoming"
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir()
    added = []
    for path in files:
        prefix = NAME.fullmatch(path.name).group(1)
        name = f"{prefix}_{version:%Y-%m-%dT%H%M%S}Z.json"
        (incoming / name).write_text(next_version_text(path.read_text()), encoding="utf-8")
        added.append((FORECASTS / name).as_posix())
    (zone_folder / "added.json").write_text(json.dumps(added) + "\n")
    settled = time.time() - 60
    for rel in added:
        src = incoming / Path(rel).name
        os.utime(src, (settled, settled))
        os.replace(src, landing / rel)
    incoming.rmdir()
    return version, added


def remove_added(zone_folder: Path) -> int:
    """Take the added files out of the zone again."""
    return restore_added(zone_folder)
