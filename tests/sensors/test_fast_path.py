"""The fast path (issue 24 step 2): a landing sensor's run of a desk feed (forecasts, trades, imbalance prices) carries
the marts between its staging assets and ``marts/position_qh``, so one run per day stages the file and updates the
position; the other marts follow through automation (lib/dagster/fast_path.py, docs/automation.md)."""

import dagster as dg
import duckdb
import pytest

from flexpower_dagster.definitions import build_definitions, desk_fast_paths
from flexpower_dagster.lib.dagster.fast_path import paths_to
from flexpower_dagster.lib.dagster.sensors import BACKGROUND_PRIORITY, PRIORITY_TAG

from sensor_helpers import SENSORS, by_day, drop, tick

FORECAST_PATH = ["marts/asset_forecast", "marts/portfolio_forecast", "marts/position_qh"]
TRADES_PATH = ["marts/trading_daily", "marts/trading_qh", "marts/position_qh"]


def _names(keys) -> list[str]:
    return [k.to_user_string() for k in keys]


#: What the position reads besides the staging assets and marts of one system's run: present for the day.
OTHER_INPUTS = ["staging/crm_contracts", "staging/imbalance_price_estimates", "staging/imbalance_price_final",
                "staging/exchange_private_trades", "staging/exchange_public_trades", "marts/trading_qh",
                "marts/trading_daily", "marts/asset_forecast", "marts/portfolio_forecast"]


def _materialized(instance: dg.DagsterInstance, keys: list[str], days: list[str]) -> None:
    """The instance remembers these partitions as materialised (what earlier runs would have left)."""
    for key in keys:
        for day in days:
            instance.report_runless_asset_event(dg.AssetMaterialization(dg.AssetKey.from_user_string(key), partition=day))


def _sensor_job(defs: dg.Definitions, system: str) -> dg.JobDefinition:
    """The job a source sensor's runs execute in (its target), as the daemon launches them."""
    return defs.resolve_job_def(defs.resolve_sensor_def(f"{system}_files_sensor").targets[0].job_name)


def test_paths_to_keeps_what_lies_between_a_source_and_a_target_upstream_first():
    deps = {
        "a": {"src"}, "b": {"a", "other_src"}, "target": {"b", "other_src"}, "side": {"a"},  # side: not on a path
        "after": {"target"},  # downstream of the target
        "other_src": set(), "src": set(), "lonely": set(),
    }
    carried = {"a", "b", "target", "side", "after"}
    got = paths_to(deps, ["src", "other_src", "lonely"], {"target"}, carried)
    assert got == {"src": ("a", "b", "target"), "other_src": ("b", "target"), "lonely": ()}
    # a staging node of another system on the way is not carried (its own sensor requests it)
    assert paths_to({"x": {"src"}, "target": {"x"}}, ["src"], {"target"}, {"target"}) == {"src": ("target",)}
    with pytest.raises(ValueError, match="cycle"):
        paths_to({"a": {"b"}, "b": {"a"}}, ["a"], {"b"}, {"a", "b"})


def test_the_desk_feeds_carry_the_marts_on_the_way_to_the_position():
    paths = {k: _names(v) for k, v in desk_fast_paths().paths.items()}
    assert paths["vpp_forecasts"] == FORECAST_PATH
    assert paths["exchange_private_trades"] == TRADES_PATH == paths["exchange_public_trades"]
    assert paths["imbalance_price_estimates"] == ["marts/position_qh"] == paths["imbalance_price_final"]
    assert "dso_final_production" not in paths  # the position does not read DSO data
    # only the desk feeds' sensors carry marts; the others request staging alone, as before
    defs = build_definitions()
    for system in ("vpp", "exchange", "imbalance_prices"):
        target = set(_sensor_job(defs, system).asset_layer.executable_asset_keys)
        assert dg.AssetKey(["marts", "position_qh"]) in target
    for system in ("crm", "dso"):
        target = _sensor_job(defs, system).asset_layer.executable_asset_keys
        assert target and all(k.path[0] == "staging" for k in target)


def test_a_forecast_version_and_a_trade_export_request_one_run_per_day_with_the_path(sample_dir, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    drop(sample_dir, landing, "vpp/forecasts/forecast_SOL-DE-001_2025-06-07T*.json", "vpp/technical_data/*")
    days = ["2025-06-08", "2025-06-09", "2025-06-10"]
    with dg.instance_for_test() as instance:
        _, _, cursor = tick("vpp", landing, None, instance)
        _materialized(instance, OTHER_INPUTS, days)
        drop(sample_dir, landing, "vpp/forecasts/forecast_SOL-DE-001_2025-06-08T120000Z.json")
        reqs, _, _ = tick("vpp", landing, cursor, instance)
        assert sorted(by_day(reqs)) == days  # one run per day it touches
        for r in reqs:
            staging = [k for k in _names(r.asset_selection) if k.startswith("staging/")]
            assert _names(r.asset_selection) == staging + FORECAST_PATH
            assert r.tags[PRIORITY_TAG] == BACKGROUND_PRIORITY  # still behind the runs people start
        drop(sample_dir, landing, "exchange/*")
        reqs, _, _ = tick("exchange", landing, None, instance)
        traded = next(r for r in reqs if r.partition_key == "2025-06-08")
        assert _names(traded.asset_selection) == [
            "staging/exchange_private_trades", "staging/exchange_public_trades", *TRADES_PATH
        ]
        # crm and dso runs stage only
        drop(sample_dir, landing, "crm/*")
        reqs, _, _ = tick("crm", landing, None, instance)
        assert reqs and all(_names(r.asset_selection) == ["staging/crm_contracts"] for r in reqs)


def test_a_mart_whose_inputs_are_missing_is_left_to_the_automation(sample_dir, tmp_path):
    """What the automation waits for (``~any_deps_missing``), the fast path waits for too: on an empty instance a
    trade export carries the trading marts (they read only the run's staging assets) but not the position, whose
    forecasts, CRM snapshot and imbalance prices of the day do not exist yet; a forecast without the day's CRM
    snapshot is staged alone. Executing such a position would fail on a table that was never created."""
    landing = tmp_path / "landing"
    landing.mkdir()
    drop(sample_dir, landing, "exchange/*", "vpp/forecasts/forecast_SOL-DE-001_2025-06-08T120000Z.json")
    with dg.instance_for_test() as instance:
        reqs, _, _ = tick("exchange", landing, None, instance)
        traded = next(r for r in reqs if r.partition_key == "2025-06-08")
        assert _names(traded.asset_selection) == [
            "staging/exchange_private_trades", "staging/exchange_public_trades", *TRADES_PATH[:2]
        ]
        reqs, _, _ = tick("vpp", landing, None, instance)
        assert reqs and all(all(k.startswith("staging/") for k in _names(r.asset_selection)) for r in reqs)
        # once the day's other inputs exist, the same request carries the whole path
        _materialized(instance, OTHER_INPUTS, ["2025-06-08"])
        reqs, _, _ = tick("exchange", landing, None, instance)
        traded = next(r for r in reqs if r.partition_key == "2025-06-08")
        assert _names(traded.asset_selection)[2:] == TRADES_PATH


def test_the_one_run_stages_the_file_checks_it_and_updates_the_position(sample_day, sample_dir, tmp_path):
    """The exchange sensor's request for the sample day, executed as the daemon would (in the sensor's job): staging, its checks, the trading marts and the position in that order, in one run; the figures are the
    sample day's (the same files)."""
    settings = sample_day.copy(tmp_path / "w")
    landing = tmp_path / "landing"
    landing.mkdir()
    drop(sample_dir, landing, "**/*")
    with dg.instance_for_test() as instance:
        _materialized(instance, OTHER_INPUTS, ["2025-06-08"])  # the sample day is built in the warehouse copy
        reqs, _, _ = tick("exchange", landing, None, instance)
        [req] = [r for r in reqs if r.partition_key == "2025-06-08"]
        defs = build_definitions(settings)
        result = _sensor_job(defs, "exchange").execute_in_process(
            instance=instance, partition_key=req.partition_key, asset_selection=req.asset_selection
        )
        assert result.success
        done = [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()]
        assert sorted(done) == sorted(_names(req.asset_selection))  # every asset of the request, once, in one run
        assert max(done.index(k) for k in done if k.startswith("staging/")) < done.index("marts/trading_qh")
        assert done[-1] == "marts/position_qh"  # after everything it reads
        checked = {e.asset_check_evaluation_data.asset_key.to_user_string() for e in result.all_events
                   if e.event_type_value == "ASSET_CHECK_EVALUATION"}
        assert {"staging/exchange_private_trades", "marts/trading_qh", "marts/position_qh"} <= checked
    with duckdb.connect(str(settings.warehouse), read_only=True) as got, \
            duckdb.connect(str(sample_day.settings.warehouse), read_only=True) as want:
        q = "SELECT * FROM marts.position_qh WHERE delivery_day = '2025-06-08' ORDER BY scope, delivery_start"
        assert got.execute(q).fetchdf().equals(want.execute(q).fetchdf())


def test_sensors_keep_their_names():
    assert set(SENSORS) == {"crm", "dso", "exchange", "imbalance_prices", "vpp"}
