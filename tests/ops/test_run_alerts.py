"""Failed and overrunning runs raise one alert with the run id and the failing step (defs/ops/runs.py,
lib/dagster/limits.py); the alerts sensors (defs/ops/assets.py)."""

import time

import dagster as dg
import pytest

from flexpower_dagster.defs.ops.assets import alerts_sensor
from flexpower_dagster.defs.ops.runs import run_failure_findings
from flexpower_dagster.lib.dagster import limits
from flexpower_dagster.lib.dagster.limits import StepTimeLimitExceeded, limited
from flexpower_dagster.lib.dagster.sensors import FOLLOW_UP_PRIORITY
from flexpower_dagster.settings import Settings

FAIL = {"on": True}


@dg.asset(key=["marts", "flaky"])
def flaky(context: dg.AssetExecutionContext) -> None:
    if FAIL["on"]:
        raise ValueError("input row 7 of x.csv: price 1e33 out of bounds")


@dg.asset(key=["marts", "slow"])
@limited("operations")
def slow(context: dg.AssetExecutionContext) -> None:
    time.sleep(30)


def test_a_failing_run_is_one_alert_with_run_id_and_step_and_a_later_success_resolves_it():
    with dg.instance_for_test() as instance:
        FAIL["on"] = True
        first = dg.materialize([flaky], instance=instance, raise_on_error=False)
        second = dg.materialize([flaky], instance=instance, raise_on_error=False)
        assert not first.success and not second.success
        (f,) = run_failure_findings(instance)  # two failures of the same step: one alert, the newest run
        assert f.kind == "run_failure" and f.entity == "marts__flaky"
        assert second.run_id in f.message and f.details["run_id"] == second.run_id and f.link == f"/runs/{second.run_id}"
        assert "failed in step marts__flaky: ValueError: input row 7 of x.csv: price 1e33 out of bounds" in f.message
        FAIL["on"] = False
        assert dg.materialize([flaky], instance=instance).success
        assert run_failure_findings(instance) == []


def test_a_step_that_overruns_its_limit_is_stopped_not_retried_and_alerted(monkeypatch):
    monkeypatch.setitem(limits.STAGE_LIMITS_SECONDS, "operations", 1.0)
    started = time.monotonic()
    with dg.instance_for_test() as instance:
        result = dg.materialize([slow], instance=instance, raise_on_error=False)
        elapsed = time.monotonic() - started
        assert not result.success and elapsed < 20  # stopped after ~1 s, not after the 30 s sleep
        (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert "exceeded the operations stage's time limit of 1 s" in failure.step_failure_data.user_failure_data.description
        (f,) = run_failure_findings(instance)
        assert f.entity == "marts__slow" and "time limit" in f.message and "overran" in f.action


def test_limits_are_known_per_stage_and_scale():
    with pytest.raises(ValueError, match="unknown stage"):
        limited("nonsense")
    assert issubclass(StepTimeLimitExceeded, dg.Failure)
    assert limits.STAGE_LIMITS_SECONDS["operations"] < limits.STAGE_LIMITS_SECONDS["marts"] <= limits.STAGE_LIMITS_SECONDS["reporting"]


def test_the_step_limit_factor_is_a_setting_read_with_the_others(tmp_path):
    env = {"FLEXPOWER_LANDING_DIR": str(tmp_path), "FLEXPOWER_STEP_LIMIT_FACTOR": "2.5"}
    settings = Settings.from_env(env)
    assert settings.step_limit_factor == 2.5
    assert limits.limit_for("marts", settings) == 2.5 * limits.STAGE_LIMITS_SECONDS["marts"]
    assert limits.limit_for("marts", Settings.from_env({"FLEXPOWER_LANDING_DIR": str(tmp_path)})) == limits.STAGE_LIMITS_SECONDS["marts"]
    for bad in ("0", "-1", "inf", "nan"):
        with pytest.raises(ValueError, match="FLEXPOWER_STEP_LIMIT_FACTOR"):
            Settings.from_env({**env, "FLEXPOWER_STEP_LIMIT_FACTOR": bad})


def test_alerts_sensor_requests_an_evaluation_only_when_something_changed():
    from flexpower_dagster.lib.dagster.resources import Alerting

    resources = {"alerting": Alerting()}
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=resources)
        first = alerts_sensor(ctx)
        assert isinstance(first, dg.RunRequest) and first.run_key.startswith("alerts-")  # never evaluated
        assert first.tags["dagster/priority"] == FOLLOW_UP_PRIORITY  # after the landing sensors' runs (docs/automation.md)
        instance.report_runless_asset_event(dg.AssetMaterialization(dg.AssetKey(["marts", "alerts"])))  # it ran
        again = alerts_sensor(dg.build_sensor_context(instance=instance, cursor=ctx.cursor, resources=resources))
        assert isinstance(again, dg.SkipReason)  # same slot, no data run since


def test_a_failed_run_requests_one_alert_evaluation_but_a_failed_evaluation_does_not_loop():
    from flexpower_dagster.defs.ops.assets import run_failure_alert_sensor

    with dg.instance_for_test() as instance:
        FAIL["on"] = True
        result = dg.materialize([flaky], instance=instance, raise_on_error=False)
        run = instance.get_run_by_id(result.run_id)
        record = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0]
        event = record.event_log_entry.dagster_event
        ctx = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor", dagster_event=event, dagster_instance=instance, dagster_run=run
        ).for_run_failure()
        request = run_failure_alert_sensor(ctx)
        assert isinstance(request, dg.RunRequest) and request.run_key == f"alerts-after-{run.run_id}"
        # the alert evaluation's own failure (a job named alerts_job) requests nothing: no loop
        job = dg.Definitions(assets=[flaky], jobs=[dg.define_asset_job("alerts_job", [flaky])]).resolve_job_def("alerts_job")
        failed = job.execute_in_process(instance=instance, raise_on_error=False)
        record = instance.get_records_for_run(failed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0]
        looping = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor", dagster_event=record.event_log_entry.dagster_event,
            dagster_instance=instance, dagster_run=instance.get_run_by_id(failed.run_id),
        ).for_run_failure()
        assert isinstance(run_failure_alert_sensor(looping), dg.SkipReason)


@dg.asset(key=["marts", "flaky_daily"], partitions_def=dg.DailyPartitionsDefinition(start_date="2025-06-01"))
def flaky_daily(context: dg.AssetExecutionContext) -> None:
    raise ValueError(f"bad input for {context.partition_key}")


def test_a_step_failing_for_several_days_is_one_alert_listing_them():
    days = ("2025-06-02", "2025-06-03", "2025-06-05")
    with dg.instance_for_test() as instance:
        runs = [dg.materialize([flaky_daily], partition_key=d, instance=instance, raise_on_error=False) for d in days]
        (f,) = run_failure_findings(instance)
    assert f.alert_key.startswith("run_failure:") and f.alert_key.endswith(":marts__flaky_daily")  # no partition
    assert f.covered == days and "failing for 3 partitions: 2025-06-02..06-03, 06-05" in f.message
    assert f.details["run_id"] == runs[-1].run_id and "bad input for 2025-06-05" in f.message  # the newest names the run
    assert f.details["runs"] == {d: r.run_id for d, r in zip(days, runs, strict=True)}
