"""Arrival deadlines, computed on paper (defs/ops/deadlines.py)."""

from datetime import date, datetime, time

import duckdb
import pytest

from flexpower_dagster.defs.ops.deadlines import DEADLINES, Deadline, late_sources, silent_since

SUNDAY = date(2025, 6, 8)


def by_table(name: str) -> Deadline:
    return next(d for d in DEADLINES if d.table == name)


def test_working_days_skip_the_weekend():
    dso = by_table("dso_final_production")
    assert dso.rule == "D+1 working day 18:00 UTC"
    assert dso.due_at(SUNDAY) == datetime(2025, 6, 9, 18, 0)  # Sunday -> Monday
    assert dso.due_at(date(2025, 6, 6)) == datetime(2025, 6, 9, 18, 0)  # Friday -> Monday
    assert dso.due_at(date(2025, 6, 7)) == datetime(2025, 6, 9, 18, 0)  # Saturday -> Monday
    assert dso.due_at(date(2025, 6, 9)) == datetime(2025, 6, 10, 18, 0)


def test_calendar_days_and_the_rule_in_words():
    assert by_table("exchange_private_trades").due_at(SUNDAY) == datetime(2025, 6, 9, 2, 0)
    assert by_table("exchange_private_trades").rule == "D+1 02:00 UTC"
    assert by_table("vpp_forecasts").due_at(SUNDAY) == datetime(2025, 6, 8, 0, 0)
    assert by_table("vpp_forecasts").rule == "D 00:00 UTC"
    assert by_table("imbalance_price_final").due_at(SUNDAY) == datetime(2025, 6, 10, 0, 0)


def test_every_source_with_a_cadence_has_a_deadline_and_a_reason():
    tables = {d.table for d in DEADLINES}
    assert "dso_redispatch_flags" not in tables  # only sent when it happens: no deadline
    assert len(tables) == len(DEADLINES) == 10
    assert all(d.reason and d.per in ("asset", "portfolio") for d in DEADLINES)


@pytest.fixture
def conn():
    c = duckdb.connect()
    c.execute("CREATE SCHEMA staging; CREATE SCHEMA marts")
    c.execute("CREATE TABLE marts.contracts_in_force (delivery_day DATE, contract_id VARCHAR, asset_id VARCHAR)")
    c.execute("INSERT INTO marts.contracts_in_force VALUES ('2025-06-08', 'C1', 'A1'), ('2025-06-08', 'C2', 'A2')")
    c.execute("CREATE TABLE staging.dso_final_production (delivery_day DATE, asset_id VARCHAR, mw DOUBLE)")
    c.execute("INSERT INTO staging.dso_final_production VALUES ('2025-06-08', 'A1', 1.0)")
    c.execute("CREATE TABLE staging.exchange_private_trades (delivery_day DATE, trade_id VARCHAR)")
    c.execute("INSERT INTO staging.exchange_private_trades VALUES ('2025-06-08', 'T1')")
    yield c
    c.close()


def late_keys(conn, now):
    return {(x.deadline.table, str(x.delivery_day), x.entity) for x in late_sources(conn, now)}


def test_an_asset_without_final_production_is_late_only_after_the_deadline(conn):
    before = late_keys(conn, datetime(2025, 6, 9, 17, 59))
    assert ("dso_final_production", "2025-06-08", "A2") not in before
    after = late_keys(conn, datetime(2025, 6, 9, 18, 1))
    dso = {k for k in after if k[0] == "dso_final_production"}
    assert dso == {("dso_final_production", "2025-06-08", "A2")}  # A1 arrived; one entry per missing asset
    assert ("exchange_private_trades", "2025-06-08", "portfolio") not in after  # arrived
    assert ("exchange_public_trades", "2025-06-08", "portfolio") in after  # the table is missing entirely
    # the file arrives: nothing late for it any more
    conn.execute("INSERT INTO staging.dso_final_production VALUES ('2025-06-08', 'A2', 2.0)")
    assert not {k for k in late_keys(conn, datetime(2025, 6, 9, 18, 1)) if k[0] == "dso_final_production"}


def test_silence_is_one_finding_after_two_days_without_any_day(conn):
    assert silent_since(conn, datetime(2025, 6, 11, 0, 0)) is None  # D+3 00:00 is the limit
    assert silent_since(conn, datetime(2025, 6, 11, 0, 1)) == SUNDAY


def test_an_empty_warehouse_has_nothing_late():
    with duckdb.connect() as c:
        assert late_sources(c, datetime(2030, 1, 1)) == [] and silent_since(c, datetime(2030, 1, 1)) is None


def test_the_deadline_clock_is_naive_utc():
    assert by_table("vpp_technical_data").at == time(14, 0)
