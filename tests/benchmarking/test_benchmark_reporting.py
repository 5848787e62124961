"""The harness reports what it could not build (issue 29.3): runs are counted per day from the run results (a
command that started no run built nothing), the days not built are listed, and the incremental comparison
fails when a day was not built. Unit tests on hand-made run results: no benchmark, no Dagster run."""

from __future__ import annotations

from datetime import date

from benchmark import report
from benchmark.project import coverage, describe_runs, incremental_check

DAYS = [date(2025, 6, 8), date(2025, 6, 9), date(2025, 6, 10)]


def _run(day: str | None = None, status: str = "SUCCESS", partition_range: list[str] | None = None) -> dict:
    return {"run_id": f"r-{day}", "status": status, "partition": day, "partition_range": partition_range, "steps": []}


def test_two_runs_for_three_days_name_the_day_not_built():
    runs = [_run("2025-06-08"), _run("2025-06-09")]  # the third day's command started no run
    c = coverage(DAYS, runs)
    assert c["runs_executed"] == 2
    assert c["runs_per_day"] == {"2025-06-08": 1, "2025-06-09": 1, "2025-06-10": 0}
    assert c["not_run"] == ["2025-06-10"] and c["failed"] == [] and c["not_built"] == ["2025-06-10"]
    assert describe_runs(DAYS, runs) == "2 runs for 3 days; no run for 2025-06-10"  # never "3 runs, one per day"


def test_every_day_built_one_run_each_or_one_range_run():
    runs = [_run(d.isoformat()) for d in DAYS]
    assert coverage(DAYS, runs)["not_built"] == []
    assert describe_runs(DAYS, runs) == "3 runs, one per day"
    ranged = [_run(partition_range=["2025-06-08", "2025-06-10"])]
    assert coverage(DAYS, ranged)["runs_per_day"] == {d.isoformat(): 1 for d in DAYS}
    assert describe_runs(DAYS, ranged, range_run=True) == "one run for the range"
    assert describe_runs(DAYS[:1], [_run("2025-06-08")]) == "one run"


def test_a_failed_run_does_not_build_its_day():
    runs = [_run("2025-06-08"), _run("2025-06-09", status="FAILURE"), _run("2025-06-10")]
    c = coverage(DAYS, runs)
    assert c["failed"] == ["2025-06-09"] and c["not_run"] == [] and c["not_built"] == ["2025-06-09"]
    assert describe_runs(DAYS, runs) == "3 runs, one per day; failed: 2025-06-09"
    retried = [*runs, _run("2025-06-09")]
    assert coverage(DAYS, retried)["not_built"] == [] and coverage(DAYS, retried)["runs_per_day"]["2025-06-09"] == 2


def test_incremental_comparison_fails_when_a_day_was_not_built():
    setup = coverage(DAYS, [_run("2025-06-08"), _run("2025-06-09")])
    update = coverage(DAYS, [_run(d.isoformat()) for d in DAYS])
    floor_check = {"differences": 96_000, "project_rows": 288_000}
    check = incremental_check(floor_check, setup, update)
    assert check["ok"] is False
    assert check["not_built"] == {"setup": ["2025-06-10"], "update": []}
    assert check["error"] == "days not built: setup 2025-06-10"
    assert check["differences"] == 96_000  # kept, but explained
    # every day built: the verdict is the floor comparison
    assert incremental_check({"differences": 0, "project_rows": 288_000}, update, update)["ok"] is True
    assert incremental_check({"differences": 5, "project_rows": 288_000}, update, update)["ok"] is False
    assert "error" not in incremental_check({"differences": 0, "project_rows": 1}, update, update)


def test_report_shows_the_failed_comparison_and_the_goal_is_not_met():
    setup = {**coverage(DAYS, [_run("2025-06-08"), _run("2025-06-09")]), "wall_s": 10.0, "timed_out": False}
    update = {**coverage(DAYS, [_run(d.isoformat()) for d in DAYS]), "mode": "3 runs, one per day", "wall_s": 5.0,
              "cpu_s": 5.0, "peak_rss_bytes": 1e9, "ok": True, "timed_out": False, "runs": [_run("2025-06-08")]}
    check = incremental_check({"differences": 96_000, "project_rows": 288_000}, setup, update)
    entry = {"kind": "incremental", "assets": 1000, "new_files": 1000, "version": "2025-06-08 12:15",
             "days": [d.isoformat() for d in DAYS], "setup": setup, "update": update, "check": check,
             "commit": "abc", "label": "test"}
    store = {"entries": {"incremental/1000": entry}}
    text = report.render(store)
    assert "FAILED (days not built: setup 2025-06-10); 96,000 of 288,000 rows" in text
    goal = next(r for r in report.goals(store) if r[0].startswith("incremental"))
    assert goal[2] == "**not met**"
