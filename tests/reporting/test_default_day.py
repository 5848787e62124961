"""The site opens on the last delivered day (DSO final or trade data), not on a forecast-only day after it, and
labels forecast-only days wherever a day is picked (report.calendar / report.months, defs/reporting/sql.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from flexpower_dagster.defs.reporting.site import snapshot_warehouse

import fake_warehouse


def _with_forecast_only_days(path: Path) -> Path:
    """The fake warehouse (delivered days 2025-06-07..06-09) plus forecasts for 06-10 and 06-11 only."""
    fake_warehouse.build(path)
    with duckdb.connect(str(path)) as conn:
        assert conn.execute("SELECT count(*) FROM marts.portfolio_forecast WHERE delivery_day > DATE '2025-06-09'").fetchone()[0] == 0
        conn.execute(
            "INSERT INTO marts.portfolio_forecast BY NAME SELECT ts::DATE AS delivery_day, ts AS delivery_start, "
            "10.0 AS latest_mw, 9.0 AS tradeable_mw, 3::BIGINT AS n_assets "
            "FROM range(TIMESTAMP '2025-06-10', TIMESTAMP '2025-06-12', INTERVAL 15 MINUTE) t(ts)"
        )
    return path


def test_the_default_day_is_the_last_delivered_day_not_a_forecast_only_day_after_it(tmp_path):
    snap = snapshot_warehouse(_with_forecast_only_days(tmp_path / "wh.duckdb"), tmp_path / "snap.duckdb")
    with duckdb.connect(str(snap.path), read_only=True) as conn:
        days = conn.execute(
            "SELECT day_key, delivered, day_label, is_default_day, month_default_day_key FROM report.calendar "
            "WHERE NOT is_placeholder ORDER BY day_key"
        ).fetchall()
        months = conn.execute("SELECT month_key, default_day_key, is_default, n_delivered FROM report.months "
                              "WHERE NOT is_placeholder").fetchall()
    assert [d[0] for d in days] == ["2025-06-07", "2025-06-08", "2025-06-09", "2025-06-10", "2025-06-11"]
    assert [d[0] for d in days if d[3]] == ["2025-06-09"]  # the one default day: the last delivered one
    assert all(d[4] == "2025-06-09" for d in days)
    assert [d[1] for d in days] == [True, True, True, False, False]
    assert days[3][2] == "10.06.2025 (forecast only)" and days[2][2] == "09.06.2025"
    assert months == [("2025-06", "2025-06-09", True, 3)]


def test_without_any_delivered_day_the_site_opens_on_the_last_day(tmp_path):
    path = tmp_path / "wh.duckdb"
    fake_warehouse.build(path)
    with duckdb.connect(str(path)) as conn:
        conn.execute("UPDATE marts.best_of_infeed SET source = 'forecast'")
        conn.execute("DELETE FROM staging.exchange_private_trades")
    snap = snapshot_warehouse(path, tmp_path / "snap.duckdb")
    with duckdb.connect(str(snap.path), read_only=True) as conn:
        default = conn.execute("SELECT day_key FROM report.calendar WHERE is_default_day").fetchall()
    assert default == [("2025-06-09",)]
