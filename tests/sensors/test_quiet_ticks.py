"""Quiet ticks (issue 27): a tick over an unchanged landing zone lists no folder and reads no file; every change
that matters is still seen — a new file, a file rewritten in place under the same name (which leaves the directory's
mtime alone), a half-written file once complete, a removed file, a late file of an old day — in the same process and
in a fresh one (per-process caches cleared, only the cursor kept)."""

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from flexpower_dagster.lib.dagster.resources import LandingZone
from flexpower_dagster.lib.landing import files as files_module
from flexpower_dagster.lib.landing import plan as plan_module
from flexpower_dagster.lib.landing.facts import clear_caches

from sensor_helpers import SENSORS, by_day, drop

HOUR_NS = 3_600_000_000_000


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


def age(landing: Path, hours: float = 1.0) -> None:
    """Every file and folder of the zone as if it had arrived ``hours`` ago (directories last: a utime of a file
    does not change its directory's mtime, but be explicit)."""
    t = time.time_ns() - int(hours * HOUR_NS)
    paths = sorted(landing.rglob("*"), key=lambda p: p.is_dir())
    for p in [*paths, landing]:
        os.utime(p, ns=(t, t))


def now_minus(seconds: float) -> int:
    return time.time_ns() - int(seconds * 1e9)


def tick(system: str, landing: Path, cursor: str | None, settle: float = 0.0):
    ctx = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), cursor=cursor, resources={"landing": LandingZone(root=str(landing), settle_seconds=settle)})
    result = SENSORS[system](ctx)
    skip = result.skip_reason.skip_message if result.skip_reason else None
    return list(result.run_requests or []), skip, result.cursor


@pytest.fixture
def no_listing(monkeypatch):
    """Fail the test if a tick scans a folder (the quiet path lists nothing)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a quiet tick scanned the landing zone")

    def arm():
        monkeypatch.setattr(plan_module, "scan", refuse)

    yield arm
    monkeypatch.undo()


@pytest.mark.parametrize("fresh_process", [False, True])
def test_an_unchanged_zone_is_a_quiet_tick_that_lists_nothing(sample_dir, landing, no_listing, fresh_process):
    drop(sample_dir, landing, "**/*")
    age(landing)
    cursors = {}
    for system in SENSORS:
        reqs, _, cursors[system] = tick(system, landing, None)
        assert reqs
    if fresh_process:
        clear_caches()
    no_listing()
    for system in SENSORS:
        reqs, skip, cursor = tick(system, landing, cursors[system])
        assert reqs == [] and skip.startswith("no new or changed files")
        assert cursor == cursors[system]


def test_a_file_rewritten_in_place_is_seen_although_its_folder_did_not_change(sample_dir, landing):
    drop(sample_dir, landing, "exchange/*", "vpp/live_measured_infeed/*")
    age(landing)
    _, _, cursor = tick("exchange", landing, None)
    folder_mtime = (landing / "exchange").stat().st_mtime_ns
    [private] = list((landing / "exchange").glob("Private_Trades-*"))
    lines = private.read_text().splitlines(keepends=True)
    with open(private, "w") as fh:  # in place: same inode, the directory's mtime stays
        fh.write("".join(lines[:-1]))
    os.utime(private, ns=(now_minus(1), now_minus(1)))
    assert (landing / "exchange").stat().st_mtime_ns == folder_mtime
    clear_caches()  # and in a fresh process
    reqs, _, _ = tick("exchange", landing, cursor)
    assert by_day(reqs) == {"2025-06-08": {"exchange_private_trades"}}


def test_in_a_folder_bigger_than_the_sweep_a_rewrite_is_seen_within_its_rotation(sample_dir, landing, monkeypatch):
    monkeypatch.setattr(files_module, "SWEEP_FILES", 2)
    drop(sample_dir, landing, "vpp/forecasts/forecast_SOL-DE-001_2025-06-07T0*.json", "vpp/technical_data/*")
    age(landing)
    _, _, cursor = tick("vpp", landing, None)
    forecasts = sorted((landing / "vpp" / "forecasts").iterdir())
    assert len(forecasts) > 4
    target = forecasts[-1]
    target.write_bytes(target.read_bytes().replace(b"1", b"2", 1))
    os.utime(target, ns=(now_minus(1), now_minus(1)))
    ticks = 0
    while True:
        ticks += 1
        reqs, _, cursor = tick("vpp", landing, cursor)
        if reqs:
            break
        assert ticks <= -(-len(forecasts) // 2), "the sweep did not reach the rewritten file within one rotation"
    assert {"vpp_forecasts"} <= set().union(*by_day(reqs).values())


def test_a_half_written_file_is_requested_once_complete_and_only_then(sample_dir, landing):
    drop(sample_dir, landing, "exchange/*", "vpp/live_measured_infeed/*")
    (landing / "distribution_system_operator").mkdir()
    age(landing)
    _, _, cursor = tick("dso", landing, None, settle=30)  # empty feeds of the landing days
    reqs, _, cursor = tick("dso", landing, cursor, settle=30)
    assert reqs == []
    new = landing / "distribution_system_operator" / "final_production_MP-SOL-001_20250609.csv"
    new.write_bytes((sample_dir / "distribution_system_operator" / new.name).read_bytes())  # being written: now
    reqs, skip, cursor = tick("dso", landing, cursor, settle=30)
    assert reqs == [] and "still being written" in skip
    reqs, skip, cursor = tick("dso", landing, cursor, settle=30)
    assert reqs == [] and "still being written" in skip
    os.utime(new, ns=(now_minus(60), now_minus(60)))  # the writer finished a minute ago; the folder did not change
    os.utime(new.parent, ns=(now_minus(60), now_minus(60)))
    reqs, _, _ = tick("dso", landing, cursor, settle=30)
    assert "dso_final_production" in by_day(reqs)["2025-06-08"]


def test_a_removed_file_and_a_late_file_of_an_old_day_request_their_days(sample_dir, landing):
    drop(sample_dir, landing, "distribution_system_operator/final_production_*", "exchange/*", "vpp/live_measured_infeed/*")
    age(landing)
    _, _, cursor = tick("dso", landing, None)
    reqs, _, cursor = tick("dso", landing, cursor)
    assert reqs == []
    # removed: the day's feed shrinks, the day is requested again
    [gone] = sorted((landing / "distribution_system_operator").glob("final_production_MP-WND-002_*"))
    gone.unlink()
    reqs, _, cursor = tick("dso", landing, cursor)
    assert by_day(reqs) == {"2025-06-08": {"dso_final_production"}}
    age(landing)
    reqs, _, cursor = tick("dso", landing, cursor)
    assert reqs == []
    # late: the file comes back a week later, only its (old) day is requested
    drop(sample_dir, landing, f"distribution_system_operator/{gone.name}")
    reqs, _, cursor = tick("dso", landing, cursor)
    assert by_day(reqs) == {"2025-06-08": {"dso_final_production"}}
