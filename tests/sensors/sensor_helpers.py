"""Helpers for the sensor tests: a temporary landing zone filled from the sample, tick by tick."""

import os
import shutil
import time
from pathlib import Path

import dagster as dg

from flexpower_dagster.definitions import source_sensors
from flexpower_dagster.lib.dagster.resources import LandingZone

SENSORS = {s.name.removesuffix("_files_sensor"): s for s in source_sensors()}

_bump = [0]


def drop(sample_dir: Path, landing: Path, *patterns: str, rename: dict[str, str] | None = None) -> list[str]:
    """Copy the sample files matching ``patterns`` (globs relative to the sample root) into ``landing``.

    Every copy gets a fresh, strictly increasing mtime (as a real delivery would).
    """
    copied = []
    for pattern in patterns:
        matches = sorted(p for p in sample_dir.glob(pattern) if p.is_file() and p.name != "README.md")
        assert matches, f"no sample file matches {pattern}"
        for src in matches:
            rel = src.relative_to(sample_dir).as_posix()
            dst_rel = (rename or {}).get(rel, rel)
            dst = landing / dst_rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            touch(dst)
            copied.append(dst_rel)
    return copied


def touch(path: Path) -> None:
    # strictly increasing, and in the past: a future mtime reads as a file still being written (settle rule)
    _bump[0] += 1
    t = time.time_ns() - 1_000_000_000 + _bump[0] * 1000
    os.utime(path, ns=(t, t))


def tick(system: str, landing: Path, cursor: str | None, instance: dg.DagsterInstance | None = None):
    """Evaluate one tick of a source sensor; returns (run_requests, skip_message, cursor)."""
    ctx = dg.build_sensor_context(
        instance=instance or dg.DagsterInstance.ephemeral(), cursor=cursor, resources={"landing": LandingZone(root=str(landing))}
    )
    result = SENSORS[system](ctx)
    assert isinstance(result, dg.SensorResult)
    skip = result.skip_reason.skip_message if result.skip_reason else None
    return list(result.run_requests or []), skip, result.cursor


def by_day(requests) -> dict[str, set[str]]:
    """partition_key -> set of staging table names requested (the marts a run carries: tests/sensors/test_fast_path.py)."""
    out: dict[str, set[str]] = {}
    for r in requests:
        assert r.partition_key not in out, f"two requests for {r.partition_key}"
        out[r.partition_key] = {k.path[-1] for k in r.asset_selection if k.path[0] == "staging"}
    return out
