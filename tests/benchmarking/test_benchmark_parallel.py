"""The parallel backfill benchmark's verdict and report (``scripts/benchmark_parallel.py``; issue 28 point 5): the
marts comparison fails on any difference, the queue hands each day to exactly one worker, the results block replaces
only what lies between its markers. Unit tests on tiny in-memory warehouses: no benchmark, no Dagster run."""

from __future__ import annotations

import multiprocessing

import duckdb
import pytest

from flexpower_dagster.lib.checksums import schema_checksums

from benchmark import parallel
from benchmark.parallel_worker import claim

DAYS = ["2025-06-08", "2025-06-09", "2025-06-10"]


def _marts(rows: list[tuple], extra_table_rows: int = 0) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(":memory:")
    conn.execute("CREATE SCHEMA marts")
    conn.execute("CREATE TABLE marts.position (day DATE, asset VARCHAR, mwh DOUBLE)")
    for row in rows:
        conn.execute("INSERT INTO marts.position VALUES (?, ?, ?)", row)
    conn.execute("CREATE TABLE marts.invoices (month DATE, amount DOUBLE)")  # declared up front, empty
    conn.execute("INSERT INTO marts.invoices SELECT DATE '2025-06-01', 1.0 FROM range(?)", [extra_table_rows])
    return conn


ROWS = [("2025-06-08", "A", 1.5), ("2025-06-09", "A", 2.25), ("2025-06-08", "B", -0.5)]


def _file_and_lake(file_rows, lake_rows, *, lake_extra: int = 0, file_has_invoices: bool = False):
    file_conn = _marts(file_rows)
    if not file_has_invoices:
        file_conn.execute("DROP TABLE marts.invoices")  # the file only has the tables its runs created
    file_sums = schema_checksums(file_conn, "marts")
    return file_sums, schema_checksums(_marts(lake_rows, lake_extra), "marts", reference=file_sums)


def test_the_same_rows_in_another_order_are_identical_and_empty_declared_tables_do_not_count():
    file_sums, lake_sums = _file_and_lake(ROWS, list(reversed(ROWS)))
    result = parallel.compare_marts(file_sums, lake_sums)
    assert result["identical"], result
    assert result["rows"] == 3 and result["empty_tables_only_in_lake"] == ["invoices"]


@pytest.mark.parametrize(
    "lake_rows, lake_extra, expected",
    [
        ([*ROWS[:2], ("2025-06-08", "B", -0.6)], 0, "position.mwh"),  # one figure changed
        (ROWS[:2], 0, "position: rows 3 -> 2"),  # a row lost
        (ROWS, 1, "tables with rows only in the lake: invoices"),  # rows the file's runs never wrote
    ],
)
def test_any_difference_fails_the_comparison(lake_rows, lake_extra, expected):
    file_sums, lake_sums = _file_and_lake(ROWS, lake_rows, lake_extra=lake_extra)
    result = parallel.compare_marts(file_sums, lake_sums)
    assert not result["identical"]
    assert any(expected in d for d in result["differences"]), result["differences"]


def test_a_table_missing_from_the_lake_or_nothing_built_fails():
    file_sums, lake_sums = _file_and_lake(ROWS, ROWS, file_has_invoices=True)
    del lake_sums["invoices"]
    assert "missing tables: invoices" in parallel.compare_marts(file_sums, lake_sums)["differences"]
    empty_file, empty_lake = _file_and_lake([], [])
    result = parallel.compare_marts(empty_file, empty_lake)
    assert not result["identical"] and "nothing was built" in result["differences"][-1]


def _drain(queue: str, out) -> None:
    from pathlib import Path

    while (day := claim(Path(queue))) is not None:
        out.put(day)


def test_the_queue_hands_every_day_to_exactly_one_worker(tmp_path):
    days = [f"2025-06-{d:02d}" for d in range(1, 31)]
    queue = parallel.make_queue(tmp_path / "queue", days)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    workers = [ctx.Process(target=_drain, args=(str(queue), out)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    got = [out.get(timeout=5) for _ in range(len(days))]
    assert sorted(got) == days and out.empty()
    assert claim(queue) is None


def test_overlap_counts_only_time_with_two_runs_in_progress():
    runs = [{"started": 0, "ended": 10}, {"started": 4, "ended": 12}, {"started": 12, "ended": 15}]
    assert parallel.overlap_s(runs) == 6
    assert parallel.overlap_s(runs[:1]) == 0


def _result(identical: bool = True) -> dict:
    side = {"wall_s": 100.0, "cpu_s": 90.0, "total_cpu_s": 90.0, "postgres_cpu_s": None, "peak_rss_sum_bytes": 5e8,
            "max_rss_single_bytes": 4e8, "postgres_peak_pss_bytes": None, "overlap_s": 0.0, "median_day_s": 30.0,
            "other_load": 0.1, "warehouse_bytes": 2e7, "days_built": 3, "workers": 1}
    lake = dict(side, wall_s=60.0, cpu_s=100.0, total_cpu_s=110.0, postgres_cpu_s=10.0, postgres_peak_pss_bytes=6e7,
                overlap_s=40.0, workers=2, prepare_s=3.0, declared_tables=31)
    return {
        "args": "--assets 5 --days 3 --workers 2", "finished": "2026-12-05 21:00 UTC", "commit": "0123456789abcdef",
        "assets": 5, "days": 3, "first_day": DAYS[0], "last_day": DAYS[-1], "files": 1971, "bytes": 3e7,
        "machine": {"cores": 2, "ram_gib": 23.4, "cpu_model": "CPU"}, "load_before": "load 1.0", "load_after": "load 2.0",
        "file": side, "lake": lake,
        "comparison": {"identical": identical, "tables": 12, "rows": 7678,
                       "differences": [] if identical else ["changed: position.mwh"]},
    }


def test_the_results_block_replaces_only_what_lies_between_its_markers(tmp_path):
    doc = tmp_path / "scaling.md"
    doc.write_text(f"# Scaling\n\nbefore\n\n{parallel.START}\nold figures\n{parallel.END}\n\nafter\n")
    text = parallel.markdown(_result())
    parallel.write_block(doc, text)
    content = doc.read_text()
    assert content.startswith("# Scaling\n\nbefore\n\n") and content.endswith("\n\nafter\n")
    assert "old figures" not in content and content.count(parallel.START) == 1
    assert "**100 s**" in content and "**60 s** (1.67x)" in content and "**identical** (12 marts tables" in content
    parallel.write_block(doc, parallel.markdown(_result(identical=False)))
    assert "**DIFFERENT**: changed: position.mwh" in doc.read_text() and doc.read_text().count(parallel.END) == 1


def test_the_block_breaks_the_time_down_by_step_summed_over_the_days():
    days = [{"steps": {"staging__vpp_forecasts": 20.0, "marts__position_qh": 1.5}}, {"steps": {"staging__vpp_forecasts": 22.0}}]
    totals = parallel.step_totals(days)
    assert list(totals) == ["staging__vpp_forecasts", "marts__position_qh"] and totals["staging__vpp_forecasts"] == 42.0
    result = _result()
    result["file"]["steps"], result["lake"]["steps"] = totals, {"staging__vpp_forecasts": 50.0}
    text = parallel.markdown(result)
    assert "| `staging__vpp_forecasts` | 42 | 50 |" in text and "| `marts__position_qh` | 2 | 0 |" in text
    assert "| all steps | 44 | 50 |" in text and text.endswith(parallel.END)


def test_a_document_without_markers_gets_the_block_appended(tmp_path):
    doc = tmp_path / "scaling.md"
    doc.write_text("# Scaling\n")
    parallel.write_block(doc, parallel.markdown(_result()))
    assert doc.read_text().startswith("# Scaling\n\n" + parallel.START)
