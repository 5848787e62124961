"""The central automation conditions on a toy graph: past partitions, and dependants (daily and monthly) waiting
while an upstream blocking check fails."""

import dagster as dg

from flexpower_dagster.definitions import defs as project_defs
from flexpower_dagster.lib.dagster.automation import AUTOMATION_SENSOR_NAME, with_automation
from flexpower_dagster.lib.dagster.partitions import DAILY_TAGS, MONTHLY_TAGS, daily_partitions, monthly_partitions

FAIL = {"contracts": False}


@dg.asset(key=["staging", "src"], partitions_def=daily_partitions, tags=DAILY_TAGS)
def src() -> None: ...


@dg.asset(key=["marts", "contracts_in_force"], deps=[src], partitions_def=daily_partitions, tags=DAILY_TAGS)
def contracts() -> None: ...


@dg.asset_check(asset=contracts, blocking=True, partitions_def=daily_partitions)
def contract_consistency() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=not FAIL["contracts"])


@dg.asset(key=["marts", "daily"], deps=[contracts], partitions_def=daily_partitions, tags=DAILY_TAGS)
def daily() -> None: ...


@dg.asset(key=["marts", "invoices"], deps=[contracts], partitions_def=monthly_partitions, tags=MONTHLY_TAGS)
def invoices() -> None: ...


def _defs() -> dg.Definitions:
    return with_automation(dg.Definitions(assets=[src, contracts, daily, invoices], asset_checks=[contract_consistency]))


def _requested(result) -> dict[str, set]:
    return {
        k: result.get_requested_partitions(dg.AssetKey(["marts", k]))
        for k in ("contracts_in_force", "daily", "invoices")
    }


def test_project_assets_all_have_conditions_and_the_sensor_runs():
    graph = project_defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if key.path[0] != "staging":
            assert graph.get(key).automation_condition is not None, key
    sensor = project_defs.resolve_sensor_def(AUTOMATION_SENSOR_NAME)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_past_partitions_and_blocking_checks_hold_daily_and_monthly_dependants():
    defs = _defs()
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        r = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert r.total_requested == 0  # nothing upstream: nothing to do, no empty partitions
        # a late file for a day long before the latest partition
        job.execute_in_process(instance=instance, partition_key="2025-03-02", asset_selection=[src.key])
        r = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=r.cursor)
        assert _requested(r)["contracts_in_force"] == {"2025-03-02"}
        FAIL["contracts"] = True
        try:
            res = job.execute_in_process(
                instance=instance, partition_key="2025-03-02", asset_selection=[contracts.key], raise_on_error=False
            )
            assert not res.success  # the blocking check failed
            r = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=r.cursor)
            req = _requested(r)
            assert req["daily"] == set()  # waits while the upstream blocking check fails
            # a blocking check is a structural problem of the day (per-contract findings are warnings):
            # the month's invoices wait for it too
            assert req["invoices"] == set()
        finally:
            FAIL["contracts"] = False
        # the check passes on the re-run: the day's and the month's dependants follow
        job.execute_in_process(instance=instance, partition_key="2025-03-02", asset_selection=[src.key, contracts.key])
        r = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=r.cursor)
        req = _requested(r)
        assert req["daily"] == {"2025-03-02"}
        assert req["invoices"] == {"2025-03-01"}
