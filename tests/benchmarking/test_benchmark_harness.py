"""The benchmark harness: process-tree measurement, the new forecast version, the report and its goals, and
one end-to-end run of ``scripts/benchmark.py --quick --only day`` on a 5-asset zone (about 40 s)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime

import pytest

from flexpower_dagster.settings import PROJECT_ROOT

from benchmark import report
from benchmark.incremental import add_next_version, days_touched, newest_versions, next_version_text, remove_added
from benchmark.measure import run_measured
from support import SAMPLE_DIR, demo_landing

ALLOCATE = "import time; x = bytearray({mb} * 2**20); time.sleep(1)"


def test_measure_sums_the_process_tree_and_stops_at_the_timeout():
    child = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {ALLOCATE.format(mb=150)!r}]).wait()"
    m = run_measured([sys.executable, "-c", f"{ALLOCATE.format(mb=150)[:-15]}; {child}"])
    assert m.returncode == 0 and not m.timed_out
    assert m.peak_rss_bytes > 300 * 2**20  # parent and child hold 150 MiB each at the same time
    assert m.cpu_s > 0 and m.wall_s >= 1
    stopped = run_measured([sys.executable, "-c", "import time; time.sleep(30)"], timeout=1)
    assert stopped.timed_out and stopped.wall_s < 10


def test_next_forecast_version_is_the_demo_layout_one_quarter_hour_on():
    path = SAMPLE_DIR / "vpp" / "forecasts" / "forecast_SOL-DE-001_2025-06-07T000000Z.json"
    old = json.loads(path.read_text())
    new = json.loads(next_version_text(path.read_text()))
    cols = old["column_ids"]
    assert new["key"] == old["key"] and new["units"] == old["units"] and new["column_ids"] == cols
    start, version, power = (cols.index(c) for c in ("start", "version", "power"))
    assert new["values"][start] == [v + 900 for v in old["values"][start]]  # seconds, as the files have them
    assert set(new["values"][version]) == {old["values"][version][0] + 900}
    assert new["values"][power][:-1] == old["values"][power][1:]  # the same forecast for the same QH


def test_a_version_touches_three_days():
    assert days_touched(datetime(2025, 6, 9)) == [date(2025, 6, 9), date(2025, 6, 10), date(2025, 6, 11)]
    assert days_touched(datetime(2025, 6, 8, 23, 45)) == [date(2025, 6, 8), date(2025, 6, 9), date(2025, 6, 10)]


def test_new_version_is_added_for_every_asset_and_taken_out_again(tmp_path):
    demo_landing(tmp_path / "landing")
    before = sorted(p.name for p in (tmp_path / "landing" / "vpp" / "forecasts").iterdir())
    newest, files = newest_versions(tmp_path / "landing")
    version, added = add_next_version(tmp_path)
    assert len(added) == len(files) == 8 and version > newest
    assert all((tmp_path / "landing" / rel).exists() for rel in added)
    assert remove_added(tmp_path) == 8
    assert sorted(p.name for p in (tmp_path / "landing" / "vpp" / "forecasts").iterdir()) == before


def _day_entry(assets: int, project_wall: float, floor_wall: float, rss: float) -> dict:
    return {
        "kind": "day", "assets": assets, "files": 100, "repeats": 1, "commit": "abc", "label": "test",
        "project": {"wall_median": project_wall, "cpu_median": project_wall, "peak_rss_max": rss, "runs": [], "commands": []},
        "floor": {"wall_median": floor_wall, "peak_rss_max": 1e9},
        "ratio": project_wall / floor_wall,
        "check": {"differences": 0, "project_rows": 96 * assets},
    }


def test_goals_say_met_not_met_and_not_measured():
    store = {"entries": {"day/1000": _day_entry(1000, 100.0, 50.0, 5e9)}}
    rows = {r[0]: r for r in report.goals(store)}
    ratio = next(r for k, r in rows.items() if k.startswith("1,000-asset day") and "floor" in k)
    rss = next(r for k, r in rows.items() if "peak RSS" in k)
    assert ratio[2] == "met" and "2.0×" in ratio[1]
    assert rss[2] == "**not met**" and "5.0 GB" in rss[1]
    assert all(r[2] == "not measured" for k, r in rows.items() if "backfill" in k or "sensors" in k)
    small = {"entries": {"day/5": _day_entry(5, 40.0, 1.0, 4e8)}}
    verdicts = [r[2] for r in report.goals(small) if r[0].startswith("1,000-asset day")]
    assert all(v.startswith("not measured at the goal's size") for v in verdicts)


def test_docs_section_is_replaced_between_the_markers(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\n\nintro\n\n{report.BEGIN}\nold numbers\n{report.END}\n\n## after\n")
    report.write_docs(doc, {"entries": {"day/5": _day_entry(5, 40.0, 1.0, 4e8)}})
    text = doc.read_text()
    assert "old numbers" not in text and text.count(report.BEGIN) == 1
    assert text.startswith("# Benchmarks\n\nintro") and text.endswith("## after\n")
    assert "| 5 | 100 | 1 | 40.0 s |" in text


@pytest.mark.e2e  # scripts/benchmark.py and the Dagster CLI as processes
def test_quick_day_run_end_to_end(tmp_path):
    """The harness itself: zone, floor, the project through the Dagster CLI, comparison, report."""
    results, docs = tmp_path / "results.json", tmp_path / "benchmarks.md"
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "benchmark.py"), "--quick", "--only", "day", "--budget-minutes", "5",
         "--zones", str(tmp_path / "zones"), "--work", str(tmp_path / "work"), "--results", str(results), "--docs", str(docs)],
        capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    entry = json.loads(results.read_text())["entries"]["day/5"]
    assert entry["check"]["differences"] == 0, entry["check"]
    assert entry["project"]["runs"][0]["status"] == "SUCCESS"
    steps = {s["step"] for s in entry["project"]["breakdown"]["steps"]}
    assert "staging__vpp_forecasts" in steps or any("vpp_forecasts" in s for s in steps)
    assert entry["project"]["peak_rss_max"] > 0 and entry["floor"]["wall_median"] > 0
    assert "| 5 | 981 |" in docs.read_text()
    assert not (tmp_path / "work").exists()  # scratch space removed
