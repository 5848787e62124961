"""The replay of one delivery day (``python -m flexpower_dagster.demo --replay``, flexpower_dagster/demo/replay.py):
its schedule on the real sample, playing it with a fake clock, and the CLI's dry run."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pytest

from flexpower_dagster.demo import replay
from flexpower_dagster.demo.__main__ import main

SAMPLE_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "flexpower-2025-06-08"
DAY = date(2025, 6, 8)

needs_sample = pytest.mark.skipif(not SAMPLE_DIR.is_dir(), reason="sample dataset ../shared/datasets/flexpower-2025-06-08 missing")


@pytest.fixture(scope="module")
def sample_schedule() -> list[replay.Arrival]:
    if not SAMPLE_DIR.is_dir():
        pytest.skip("sample dataset missing")
    return replay.schedule(SAMPLE_DIR, DAY)


def _rel(folder: str) -> set[str]:
    return {p.relative_to(SAMPLE_DIR).as_posix() for p in (SAMPLE_DIR / folder).iterdir() if p.is_file()}


@needs_sample
def test_schedule_is_in_time_order(sample_schedule):
    ats = [a.at for a in sample_schedule]
    assert ats == sorted(ats)
    start, end = replay.window(DAY)
    assert ats[0] == start and ats[-1] < end
    targets = [a.target for a in sample_schedule]
    assert len(targets) == len(set(targets))
    for a in sample_schedule:
        at, source, target = a  # the schedule is (arrival, source path, relative target)
        assert at == a.at and source.is_file() and source == SAMPLE_DIR / target and not Path(target).is_absolute()
        assert (a.at == a.arrives) == (not a.note.startswith((replay.BEFORE_START, replay.LATE)))


@needs_sample
def test_schedule_covers_the_days_forecast_versions_and_trade_exports(sample_schedule):
    targets = {a.target for a in sample_schedule}
    assert _rel("vpp/forecasts") <= targets  # every version in the sample covers 2025-06-08 (960 files)
    assert _rel("exchange") <= targets
    assert _rel("vpp/live_measured_infeed") <= targets
    by_target = {a.target: a for a in sample_schedule}
    # arrival times from the names (SourceSpec.file_time), adjusted where the name dates the content
    fc = by_target["vpp/forecasts/forecast_WND-DE-002_2025-06-08T101500Z.json"]
    assert fc.at == fc.arrives == datetime(2025, 6, 8, 10, 15)
    trades = by_target["exchange/Private_Trades-20250608-20250609T000516000Z.csv"]
    assert trades.at == datetime(2025, 6, 9, 0, 5, 16)
    assert by_target["vpp/live_measured_infeed/WND01_20250608.json"].at == datetime(2025, 6, 8, 22, 0)  # local day end
    dso = by_target["distribution_system_operator/final_production_MP-SOL-001_20250609.csv"]
    assert dso.at == datetime(2025, 6, 9) + replay.DSO_FINAL_ARRIVAL and "other: DSO final" in dso.note
    # the contracts in force: the snapshot before the window is copied first, the one of the day at its time
    crm = [a for a in sample_schedule if a.target.startswith("crm/")]
    assert [a.target for a in crm] == ["crm/asset_contracts_20250601_043417.csv", "crm/asset_contracts_20250608_043831.csv"]
    assert crm[0].note.startswith(replay.BEFORE_START) and crm[1].at == datetime(2025, 6, 8, 4, 38, 31)
    # the compensation file arrives weeks later: copied last, flagged
    late = by_target["distribution_system_operator/redispatch_compensation_2025-06-20.csv"]
    assert late.note.startswith(replay.LATE) and late.at == sample_schedule[-1].at
    # forecast versions before the window are copied at its start, in version order
    early = [a for a in sample_schedule if a.note.startswith(replay.BEFORE_START) and "forecasts" in a.target]
    assert early and all(a.at == replay.window(DAY)[0] for a in early)


@needs_sample
def test_begin_starts_later_and_is_checked():
    begin = datetime(2025, 6, 8, 6, 0)
    s = replay.schedule(SAMPLE_DIR, DAY, begin=begin)
    assert s[0].at == begin and all(a.at >= begin for a in s)
    assert sum(a.note.startswith(replay.BEFORE_START) for a in s) > 5 * 96  # D-1's versions and more
    with pytest.raises(ValueError, match="outside the replay window"):
        replay.schedule(SAMPLE_DIR, DAY, begin=datetime(2025, 6, 1))


def test_replay_knows_every_declared_source():
    from flexpower_dagster.definitions import landing_sources

    assert {s.name for s in replay.REPLAY_SOURCES} == {s.name for s in landing_sources()}


class FakeClock:
    def __init__(self, t0: float = 1_750_000_000.0):
        self.t = t0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.t += seconds


@needs_sample
def test_play_copies_every_file_atomically_in_order(sample_schedule, tmp_path, monkeypatch):
    # one asset's forecasts and every other file: ~330 files, every kind and every flag
    arrivals = [a for a in sample_schedule if "forecast_" not in a.target or "WND-DE-002" in a.target]
    into = tmp_path / "landing"
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def recording_replace(src, dst):
        assert Path(src).is_file() and Path(src).name.endswith(".tmp")
        renames.append((Path(src).name, Path(dst).relative_to(into).as_posix()))
        real_replace(src, dst)

    monkeypatch.setattr(replay.os, "replace", recording_replace)
    clock, lines = FakeClock(), []
    speed = 60.0
    n = replay.play(arrivals, into, speed, clock=clock, sleep=clock.sleep, emit=lines.append)

    assert n == len(arrivals) == len(lines)
    assert [dst for _, dst in renames] == [a.target for a in arrivals]  # in schedule order, each via its .tmp
    assert all(src == Path(dst).name + ".tmp" for src, dst in renames)
    assert not list(into.rglob("*.tmp"))
    for a in arrivals:
        assert (into / a.target).read_bytes() == a.source.read_bytes()
    # mtime = the (fake) wall clock at the copy: increasing with the simulated time, scaled by the speed
    t0 = 1_750_000_000.0
    mtimes = [(into / a.target).stat().st_mtime_ns / 1e9 for a in arrivals]
    assert mtimes == sorted(mtimes)
    for a, m in zip(arrivals, mtimes, strict=True):
        assert m == pytest.approx(t0 + (a.at - arrivals[0].at).total_seconds() / speed, abs=1e-3)
    assert len(clock.sleeps) == len({a.at for a in arrivals}) - 1  # one wait per new arrival time
    assert lines[0].startswith(f"{arrivals[0].at:%Y-%m-%d %H:%M}Z") and arrivals[0].target in lines[0]


def test_play_needs_a_positive_speed(tmp_path):
    with pytest.raises(ValueError, match="speed"):
        replay.play([], tmp_path, 0)


def test_copy_leaves_no_tmp_when_it_fails(tmp_path):
    with pytest.raises(FileNotFoundError):
        replay.copy_atomically(tmp_path / "missing.json", tmp_path / "out" / "x.json", 1_750_000_000.0)
    assert not list(tmp_path.rglob("*.tmp")) and not (tmp_path / "out" / "x.json").exists()


@needs_sample
def test_cli_speed_0_prints_the_schedule(sample_schedule, tmp_path, capsys):
    into = tmp_path / "landing"
    assert main(["--replay", "2025-06-08", "--speed", "0", "--from", str(SAMPLE_DIR), "--into", str(into)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"replay of 2025-06-08: {len(sample_schedule)} files")
    body = out[1:]
    assert len(body) == len(sample_schedule)
    assert all(a.target in line for a, line in zip(sample_schedule, body, strict=True))
    assert any("exchange/Private_Trades-20250608-20250609T000516000Z.csv" in line for line in body)
    assert not into.exists()  # nothing copied


@needs_sample
def test_cli_dry_run_shows_real_offsets_and_refuses_the_source_as_target(tmp_path, capsys):
    assert main(["--replay", "2025-06-08", "--dry-run", "--speed", "60", "--from", str(SAMPLE_DIR),
                 "--into", str(tmp_path / "x")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "0:48:01 (h:mm:ss) real time at speed 60" in out[0] and "+0:00:00" in out[1]
    # 2025-06-09 00:05:16 is 36 h 05 min 16 s after the start (2025-06-07 12:00): 36:05.27 real minutes
    assert any("+0:36:05" in line and "Private_Trades" in line for line in out)
    assert main(["--replay", "2025-06-08", "--speed", "0", "--from", str(SAMPLE_DIR), "--into", str(SAMPLE_DIR)]) == 2


def test_cli_default_source_is_a_fresh_demo_zone(tmp_path, capsys):
    assert main(["--replay", "2025-06-03", "--speed", "0", "--into", str(tmp_path / "landing"),
                 "--public-trades", "500"]) == 0
    out = capsys.readouterr().out
    assert "source: a fresh demo zone" in out
    # the default zone's replayed day has an intraday private export (the demo's third day): trades during the day
    assert "exchange/Private_Trades-20250603-20250603T" in out
    assert not (tmp_path / "landing").exists()
