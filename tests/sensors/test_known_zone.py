"""A first tick over a zone the landing manifest already knows (issue 27): no file is hashed or parsed twice.

* every file known to the store (hashes, content days), nothing loaded: a first tick in a fresh process and a fresh
  Dagster instance plans the zone in full — the same run requests — without hashing or parsing a single file;
* every feed of the store's last plan loaded since (what ``make run`` or the sensors' runs record): a first tick
  lists no folder and requests nothing; a file landing afterwards is requested as always.
"""

import os
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from flexpower_dagster.definitions import landing_sources
from flexpower_dagster.lib.dagster.resources import LandingZone
from flexpower_dagster.lib.dagster.staging import remember_loaded
from flexpower_dagster.lib.landing import facts as facts_module
from flexpower_dagster.lib.landing import plan as plan_module
from flexpower_dagster.lib.landing.facts import clear_caches
from flexpower_dagster.lib.landing.files import scan

from sensor_helpers import SENSORS, drop

HOUR_NS = 3_600_000_000_000


@pytest.fixture
def zone(sample_dir, tmp_path: Path):
    """The whole sample, arrived an hour ago, with a landing manifest."""
    landing = tmp_path / "landing"
    drop(sample_dir, landing, "**/*")
    t = time.time_ns() - HOUR_NS
    for p in [*sorted(landing.rglob("*"), key=lambda p: p.is_dir()), landing]:
        os.utime(p, ns=(t, t))
    return landing, LandingZone(root=str(landing), manifest_dir=str(tmp_path / "manifest"))


def first_ticks(resource: LandingZone) -> dict[str, tuple[list, str | None, str]]:
    """A first tick (no cursor) of every source sensor, on a fresh Dagster instance."""
    out = {}
    for system, sensor in SENSORS.items():
        ctx = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), cursor=None, resources={"landing": resource})
        result = sensor(ctx)
        out[system] = (list(result.run_requests or []), result.skip_reason.skip_message if result.skip_reason else None,
                       result.cursor)
    return out


@pytest.fixture
def reads(monkeypatch) -> list[tuple[str, str]]:
    """Every file hashed or parsed (to date it by its content) from now on."""
    seen: list[tuple[str, str]] = []
    real_hash, real_rows = facts_module._file_sha256, facts_module.Facts.rows

    def counted_hash(f):
        seen.append(("hash", f.name))
        return real_hash(f)

    def counted_rows(self, spec, f):
        seen.append(("parse", f.name))
        return real_rows(self, spec, f)

    monkeypatch.setattr(facts_module, "_file_sha256", counted_hash)
    monkeypatch.setattr(facts_module.Facts, "rows", counted_rows)
    return seen


def keys(ticks) -> dict[str, list[tuple[str, str]]]:
    return {system: sorted((r.partition_key, r.run_key) for r in reqs) for system, (reqs, _, _) in ticks.items()}


def test_a_first_tick_over_files_the_store_knows_hashes_and_parses_none(zone, reads):
    _, resource = zone
    learnt = first_ticks(resource)  # an earlier instance learnt every file's hash and days
    assert any(kind == "parse" for kind, _ in reads) and any(kind == "hash" for kind, _ in reads)
    assert sum(len(reqs) for reqs, _, _ in learnt.values()) > 0

    reads.clear()
    clear_caches()  # a fresh process: only the store remembers
    again = first_ticks(resource)
    assert reads == [], f"{len(reads)} file(s) read again, e.g. {reads[:3]}"
    assert keys(again) == keys(learnt)  # the same plan: nothing loaded yet, every feed requested


def test_a_first_tick_over_a_planned_and_loaded_zone_lists_nothing(zone, reads, monkeypatch):
    landing, resource = zone
    learnt = first_ticks(resource)
    facts = resource.facts()
    for spec in landing_sources():  # what the staging runs record once their transaction committed
        days = sorted({r.partition_key for r in learnt[spec.system][0]})
        if days:
            remember_loaded(facts, spec, scan(landing, [spec]).files[spec.name], [date.fromisoformat(d) for d in days])

    reads.clear()
    clear_caches()

    def refuse(*args, **kwargs):
        raise AssertionError("the first tick listed a folder")

    with monkeypatch.context() as m:
        m.setattr(plan_module, "scan", refuse)
        known = first_ticks(resource)
    assert reads == []
    for system, (reqs, skip, cursor) in known.items():
        assert reqs == [], system
        assert "every feed of it is loaded" in skip, system
        assert cursor

    # a file rewritten in place (its folder's mtime unchanged): the next first tick plans in full and requests its day
    live = landing / "vpp" / "live_measured_infeed" / "WND01_20250608.json"
    folder_mtime = live.parent.stat().st_mtime_ns
    live.write_bytes(live.read_bytes().replace(b"}", b"} ", 1))
    t = time.time_ns() - HOUR_NS // 2
    os.utime(live, ns=(t, t))
    os.utime(live.parent, ns=(folder_mtime, folder_mtime))
    clear_caches()
    reqs, _, _ = first_ticks(resource)["vpp"]
    assert sorted(r.partition_key for r in reqs) == ["2025-06-07", "2025-06-08"]  # the live file's local day D touches D-1 and D

