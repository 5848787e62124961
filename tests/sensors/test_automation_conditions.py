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


# --------------------------------------------------------------------------------------------
# convergence: whatever the interleaving, every partition ends materialised after its newest upstream


DAY, MONTH = "2025-03-02", "2025-03-01"
KEYS = {"src": src.key, "contracts": contracts.key, "daily": daily.key, "invoices": invoices.key}


class Loop:
    """The automation sensor's evaluations over the toy graph, with runs executed when the test says."""

    def __init__(self, instance):
        self.defs = _defs()
        self.job = self.defs.resolve_implicit_global_asset_job_def()
        self.instance = instance
        self.cursor = None

    def run(self, *names: str, partition: str = DAY) -> None:
        self.job.execute_in_process(
            instance=self.instance, partition_key=partition, asset_selection=[KEYS[n] for n in names]
        )

    def evaluate(self) -> dict[str, set]:
        r = dg.evaluate_automation_conditions(defs=self.defs, instance=self.instance, cursor=self.cursor)
        self.cursor = r.cursor
        return {n: r.get_requested_partitions(k) for n, k in KEYS.items() if n != "src"}

    def execute(self, requested: dict[str, set]) -> None:
        """The requested runs, one per partition: the day's run first, then the month's (queue order)."""
        for pk in sorted({p for ps in requested.values() for p in ps}, key=lambda p: p != DAY):
            self.run(*[n for n, ps in requested.items() if pk in ps], partition=pk)

    def settle(self, max_ticks: int = 8) -> int:
        runs = 0
        for _ in range(max_ticks):
            requested = self.evaluate()
            if not any(requested.values()):
                return runs
            runs += sum(len(ps) for ps in requested.values())
            self.execute(requested)
        raise AssertionError("automation did not settle")

    def latest(self, name: str, partition: str) -> int:
        ids = self.instance.get_latest_storage_id_by_partition(KEYS[name], dg.DagsterEventType.ASSET_MATERIALIZATION)
        return ids.get(partition, -1)

    def assert_converged(self) -> None:
        assert self.latest("contracts", DAY) > self.latest("src", DAY)
        assert self.latest("daily", DAY) > self.latest("contracts", DAY)
        assert self.latest("invoices", MONTH) > self.latest("contracts", DAY)


def test_first_evaluation_on_the_tick_the_upstream_arrives():
    """The condition's very first evaluation sees the upstream already updated: the partition is requested."""
    with dg.instance_for_test() as instance:
        loop = Loop(instance)
        loop.run("src")
        assert loop.evaluate()["contracts"] == {DAY}  # first evaluation ever (no cursor)
        loop.run("contracts", "daily")
        loop.settle()
        loop.assert_converged()


def test_a_month_requested_with_its_day_and_run_first_is_run_again():
    """Issue 29.2: the invoice ran on the old day (its run went first); when the day's and the invoice's own
    materialisations are seen on the same tick, the month is requested again and ends on the newest day."""
    with dg.instance_for_test() as instance:
        loop = Loop(instance)
        loop.run("src")
        loop.settle()
        loop.assert_converged()
        loop.run("src")  # a corrected file
        requested = loop.evaluate()
        assert requested["contracts"] == {DAY} and requested["daily"] == {DAY}
        assert requested["invoices"] == set()  # not on the tick its day is requested: it would read the old day
        loop.run("invoices", partition=MONTH)  # a month run that overtakes the day (e.g. a person's)
        loop.run("contracts", "daily")  # then the day; both are seen by the next evaluation
        assert loop.evaluate()["invoices"] == {MONTH}
        loop.run("invoices", partition=MONTH)
        assert loop.settle() == 0
        loop.assert_converged()


def test_upstream_updated_while_the_asset_runs_and_on_the_tick_it_is_requested():
    with dg.instance_for_test() as instance:
        loop = Loop(instance)
        loop.run("src")
        loop.settle()
        loop.run("src")
        requested = loop.evaluate()
        assert requested["contracts"] == {DAY}
        loop.run("contracts")  # the requested run starts ...
        loop.run("src")  # ... and a newer file is staged while it runs (before its materialisation is seen)
        loop.run("daily")
        loop.settle()
        loop.assert_converged()
        # an upstream update landing on the very tick the dependant is requested
        loop.run("src")
        requested = loop.evaluate()
        loop.run("src")
        loop.execute(requested)
        loop.settle()
        loop.assert_converged()


def test_a_quiet_platform_requests_nothing():
    with dg.instance_for_test() as instance:
        loop = Loop(instance)
        loop.run("src")
        loop.settle()
        for _ in range(3):
            assert not any(loop.evaluate().values())
