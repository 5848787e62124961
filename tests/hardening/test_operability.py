"""Readers never break writers, and a killed run never blocks the queue (hardening issue, cases 5 and 6)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import dagster as dg
import pytest

from flexpower_dagster.defs.ops.runs import reap_dead_runs
from flexpower_dagster.defs.trading.assets import marts_trading_daily, marts_trading_qh
from flexpower_dagster.lib.dagster.resources import build_resources
from flexpower_dagster.lib.warehouse import WarehouseLocked, connect
from flexpower_dagster.settings import Settings

from support import SAMPLE_DAY

HOLD = 60  # seconds a person's read-only connection holds the live warehouse


def _hold(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, time
            c = duckdb.connect({str(path)!r}, read_only=True)
            print("holding", flush=True)
            time.sleep({seconds})
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout.readline().strip() == "holding"
    return proc


@pytest.mark.slow  # waits the reader's minute on purpose
def test_a_readers_minute_on_the_live_warehouse_does_not_fail_a_run(sample_warehouse, tmp_path):
    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse.warehouse, wh)
    settings = Settings(landing_dir=sample_warehouse.landing_dir, warehouse=wh, data_dir=tmp_path / "data")
    holder = _hold(wh, HOLD)
    started = time.monotonic()
    with dg.instance_for_test() as instance:
        try:
            result = dg.materialize([marts_trading_qh, marts_trading_daily], partition_key=SAMPLE_DAY,
                                    resources=build_resources(settings), instance=instance, raise_on_error=False)
        finally:
            holder.wait(timeout=HOLD + 30)
        messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert result.success
    assert time.monotonic() - started >= HOLD - 5  # it waited for the reader, and then wrote
    assert any("waiting for the warehouse lock held by" in m for m in messages), "the wait is logged"


def test_a_writer_waits_a_bounded_time_then_names_the_holder(tmp_path):
    wh = tmp_path / "w.duckdb"
    with connect(wh) as conn:
        conn.execute("CREATE TABLE t AS SELECT 1 AS x")
    holder = _hold(wh, 20)
    try:
        with pytest.raises(WarehouseLocked) as err:
            connect(wh, wait_seconds=2)
    finally:
        holder.kill()
        holder.wait()
    assert f"(PID {holder.pid})" in str(err.value) and "make sql" in str(err.value)


@pytest.mark.e2e  # a run in another process, killed
def test_a_killed_run_is_failed_and_blocks_nothing(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    script = tmp_path / "slow_run.py"
    script.write_text(textwrap.dedent("""
        import time
        import dagster as dg

        @dg.asset
        def slow() -> None:
            time.sleep(120)

        with dg.DagsterInstance.get() as instance:
            dg.materialize([slow], instance=instance)
    """))
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    try:
        with dg.DagsterInstance.get() as instance:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
                if runs:
                    break
                time.sleep(0.5)
            assert runs, "the run did not start"
            os.kill(proc.pid, signal.SIGKILL)  # kill -9: the worker never reports an end
            proc.wait()
            assert instance.get_run_by_id(runs[0].run_id).status == dg.DagsterRunStatus.STARTED
            reaped = reap_dead_runs(instance, grace_seconds=0)
            assert [d.run_id for d in reaped] == [runs[0].run_id]
            assert instance.get_run_by_id(runs[0].run_id).status == dg.DagsterRunStatus.FAILURE
            # nothing is in progress any more: a queue that admits one run at a time is free again
            assert not instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
            assert reap_dead_runs(instance, grace_seconds=0) == []
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_open_alerts_at_the_end_of_run_all_wait_for_another_run(tmp_path, capsys):
    """Issue 22, item 6: two ``run_all`` at once. Printing the open alerts reads the warehouse while the other run
    may be writing it: the reader waits (bounded, like every other connection) instead of failing on the lock."""
    from flexpower_dagster.run_all import marts_row_counts, print_open_alerts

    wh = tmp_path / "w.duckdb"
    with connect(wh) as conn:
        from flexpower_dagster.defs.ops.tables import ALERTS
        from flexpower_dagster.lib.warehouse import ensure_table

        ensure_table(conn, ALERTS)  # the declared table, as the alerts asset writes it
        conn.execute("INSERT INTO marts.alerts (severity, kind, message, status, delivery_day, alert_key) "
                     "VALUES ('error', 'late_data', 'a file is late', 'open', DATE '2025-06-08', 'k1')")
    settings = Settings(landing_dir=tmp_path, warehouse=wh, data_dir=tmp_path / "data", lock_wait_seconds=30)
    writer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, time
            c = duckdb.connect({str(wh)!r})
            print("holding", flush=True)
            time.sleep(3)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "holding"
        started = time.monotonic()
        print_open_alerts(settings)
        assert time.monotonic() - started >= 1  # it waited for the other run's writer
    finally:
        writer.wait(timeout=30)
    out = capsys.readouterr().out
    assert "open alerts: 1" in out and "a file is late" in out
    assert marts_row_counts(settings) == {"alerts": 1}
