"""Source sensors over a temporary landing zone filled from the sample (build_sensor_context)."""

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from sensor_helpers import SENSORS, by_day, drop, tick, touch

FORECAST_DAYS = {"2025-06-07", "2025-06-08", "2025-06-09", "2025-06-10"}  # versions 06-07..06-08, 48 h ahead


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def test_sensors_are_running_by_default_and_target_their_staging_group():
    for system, sensor in SENSORS.items():
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
        assert sensor.name == f"{system}_files_sensor"


def test_first_tick_on_populated_landing_zone(sample_dir, landing, instance):
    drop(sample_dir, landing, "**/*")
    reqs, skip, _cursor = tick("vpp", landing, None, instance)
    assert skip is None
    days = by_day(reqs)
    assert set(days) == FORECAST_DAYS
    assert all(v == {"vpp_forecasts", "vpp_live_samples", "vpp_technical_data"} for v in days.values())
    assert all(r.run_key.startswith(f"vpp:{r.partition_key}:") for r in reqs)
    assert len({r.run_key for r in reqs}) == len(reqs)
    # where the run came from, in the Runs list (docs/ui.md)
    # queued behind the runs people start (priority 0): docs/automation.md, "People before sensors"
    assert all(r.tags == {"flexpower/trigger": "vpp-files", "flexpower/origin": "sensor", "dagster/priority": "-1"} for r in reqs)

    reqs, _, _ = tick("exchange", landing, None, instance)
    days = by_day(reqs)
    # the trades of 06-08 + an empty partition for every other landing day (marts never wait for a missing one)
    assert days["2025-06-08"] == {"exchange_private_trades", "exchange_public_trades"}
    assert set(days) == FORECAST_DAYS

    reqs, _, _ = tick("imbalance_prices", landing, None, instance)
    days = by_day(reqs)
    # the estimation file spans 06-03..06-09 (from its content), the final file 06-08: only the landing days get a
    # feed (06-03..06-06 have no forecast, live, DSO or trade file: no day make run would build)
    assert set(days) == FORECAST_DAYS
    assert "imbalance_price_final" in days["2025-06-08"]


def test_no_op_tick(sample_dir, landing, instance):
    drop(sample_dir, landing, "**/*")
    for system in SENSORS:
        reqs, _skip, cursor = tick(system, landing, None, instance)
        assert reqs
        reqs2, skip2, cursor2 = tick(system, landing, cursor, instance)
        assert reqs2 == [] and skip2 is not None
        assert skip2.startswith("no new or changed files")
        assert cursor2 == cursor


def test_one_new_file_requests_only_its_days_and_source(sample_dir, landing, instance):
    drop(sample_dir, landing, "vpp/forecasts/forecast_SOL-DE-001_2025-06-07T*.json", "vpp/technical_data/*")
    _, _, cursor = tick("vpp", landing, None, instance)
    drop(sample_dir, landing, "vpp/forecasts/forecast_SOL-DE-001_2025-06-08T120000Z.json")
    reqs, _skip, _ = tick("vpp", landing, cursor, instance)
    # version 06-08 12:00 covers 06-08 12:00 .. 06-10 12:15; 06-10 is a new landing day, so the
    # technical-data snapshot in effect feeds it and live samples get an (empty) partition too
    days = by_day(reqs)
    assert days == {
        "2025-06-08": {"vpp_forecasts"},
        "2025-06-09": {"vpp_forecasts"},
        "2025-06-10": {"vpp_forecasts", "vpp_technical_data", "vpp_live_samples"},
    }


def test_redelivered_identical_file_is_a_no_op(sample_dir, landing, instance):
    drop(sample_dir, landing, "exchange/*", "vpp/live_measured_infeed/*")
    _, _, cursor = tick("exchange", landing, None, instance)
    # the same bytes again (new mtime): nothing to do, and the tick says why
    drop(sample_dir, landing, "exchange/Private_Trades-*")
    reqs, skip, cursor2 = tick("exchange", landing, cursor, instance)
    assert reqs == []
    assert "identical" in skip and "exchange_private_trades 2025-06-08" in skip
    reqs, skip, _ = tick("exchange", landing, cursor2, instance)
    assert reqs == [] and "identical" not in skip


def test_changed_file_makes_a_new_run_with_a_new_run_key(sample_dir, landing, instance):
    drop(sample_dir, landing, "exchange/*", "vpp/live_measured_infeed/*")
    reqs1, _, cursor = tick("exchange", landing, None, instance)
    key1 = {r.partition_key: r.run_key for r in reqs1}["2025-06-08"]
    [private] = list((landing / "exchange").glob("Private_Trades-*"))
    original = private.read_bytes()
    private.write_bytes(original.replace(b"\n", b"\n", 1) + b"")  # same bytes: still a no-op
    touch(private)
    reqs, _, cursor = tick("exchange", landing, cursor, instance)
    assert reqs == []
    lines = original.decode().splitlines(keepends=True)
    private.write_text("".join(lines[:-1]))  # a corrected export: the last trade is gone
    touch(private)
    reqs, _skip, cursor = tick("exchange", landing, cursor, instance)
    assert by_day(reqs) == {"2025-06-08": {"exchange_private_trades"}}
    key2 = reqs[0].run_key
    assert key2 != key1
    # back to the original content: a new run again (the generation is part of the key)
    private.write_bytes(original)
    touch(private)
    reqs, _, _ = tick("exchange", landing, cursor, instance)
    assert len(reqs) == 1 and reqs[0].run_key not in {key1, key2}


def test_file_spanning_several_days(sample_dir, landing, instance):
    drop(sample_dir, landing, "imbalance/imbalance_price_estimation_*")
    reqs, _skip, cursor = tick("imbalance_prices", landing, None, instance)
    # no day-defining file yet: no landing day, nothing to stage (the prices wait for a day with data)
    assert by_day(reqs) == {}
    drop(sample_dir, landing, "exchange/*")  # trades of 06-08 make 06-08 a landing day
    reqs, _skip, _ = tick("imbalance_prices", landing, cursor, instance)
    # the estimates (06-03 .. 06-09, read from the file's content) feed the landing day inside their span
    # (and the final prices an empty partition for it: the marts never wait for a source without a file)
    assert by_day(reqs) == {"2025-06-08": {"imbalance_price_estimates", "imbalance_price_final"}}


def test_unparseable_file_name_is_reported_not_fatal(sample_dir, landing, instance):
    drop(sample_dir, landing, "exchange/*", "vpp/live_measured_infeed/*")
    (landing / "exchange" / "trades_backup.xlsx").write_text("?")
    (landing / "exchange" / "Private_Trades-2025-06-08.csv").write_text("?")
    reqs, skip, cursor = tick("exchange", landing, None, instance)
    assert "2025-06-08" in by_day(reqs)  # the good files still flow
    # nothing new: the skip reason does not repeat the files reported before
    reqs, skip, cursor = tick("exchange", landing, cursor, instance)
    assert reqs == [] and "trades_backup" not in skip
    # a new unrecognised file alone: the tick log says which file and why
    (landing / "exchange" / "README.txt").write_text("?")
    reqs, skip, _ = tick("exchange", landing, cursor, instance)
    assert reqs == []
    assert "exchange/README.txt: file name matches no known pattern" in skip


def test_unparseable_file_name_shows_in_the_tick_log(sample_dir, landing, instance):
    drop(sample_dir, landing, "crm/*")
    (landing / "crm" / "asset_contracts_latest.csv").write_text("?")
    reqs, skip, _ = tick("crm", landing, None, instance)
    assert reqs == []
    assert "crm/asset_contracts_latest.csv: file name matches no known pattern" in skip


def test_crm_snapshot_limited_to_days_with_data(sample_dir, landing, instance):
    drop(sample_dir, landing, "crm/*")
    # snapshots alone create no days: nothing to do (never hundreds of empty days)
    reqs, skip, cursor = tick("crm", landing, None, instance)
    assert reqs == [] and skip.startswith("no new or changed files")
    drop(sample_dir, landing, "vpp/live_measured_infeed/*")  # live of local day 06-08 -> UTC 06-07, 06-08
    reqs, _, cursor = tick("crm", landing, cursor, instance)
    assert by_day(reqs) == {"2025-06-07": {"crm_contracts"}, "2025-06-08": {"crm_contracts"}}
    # a late ad-hoc snapshot created on 06-08 feeds 06-08 (until the next snapshot), not 06-07
    drop(sample_dir, landing, "crm/asset_contracts_20250608_043831.csv",
         rename={"crm/asset_contracts_20250608_043831.csv": "crm/asset_contracts_20250608_120000.csv"})
    reqs, _, cursor = tick("crm", landing, cursor, instance)
    assert by_day(reqs) == {"2025-06-08": {"crm_contracts"}}
    # a corrected old snapshot that is superseded on every landing day changes nothing
    (landing / "crm" / "asset_contracts_20250525_045438.csv").write_text("contract_id\n")
    reqs, skip, _ = tick("crm", landing, cursor, instance)
    assert reqs == []


def test_run_requests_execute_only_the_selected_staging_assets(sample_dir, landing, instance):
    """The request's asset selection resolves in the full definitions (sensor target = system group)."""
    from flexpower_dagster.definitions import defs

    drop(sample_dir, landing, "exchange/*", "vpp/live_measured_infeed/*")
    reqs, _, _ = tick("exchange", landing, None, instance)
    graph = defs.resolve_asset_graph()
    for r in reqs:
        assert set(r.asset_selection) <= graph.get_all_asset_keys()
        assert date.fromisoformat(r.partition_key)
