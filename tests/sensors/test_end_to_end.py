"""End to end: the sample day's files land in an empty landing zone in the order they really arrive;
the source sensors and the automation conditions alone bring every mart up to date, and the marts
equal a direct materialisation of the day."""

from collections import defaultdict
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from flexpower_dagster.definitions import build_definitions, source_sensors
from flexpower_dagster.lib.dagster.resources import LandingZone
from flexpower_dagster.lib.warehouse import connect
from flexpower_dagster.settings import Settings

from sensor_helpers import drop

pytestmark = pytest.mark.e2e  # the sensors' and the automation's loop over a growing landing zone

DAY = "2025-06-08"
#: Assets the automation would also run but that need tools outside the test (Evidence/npm).
NOT_IN_TEST = {dg.AssetKey(["report_site"]), dg.AssetKey(["audience_sites"])}  # Evidence builds

#: In the order the files arrive: snapshots, forecasts and live data during the day, the imbalance
#: estimate in the morning, trades at the end of the day and final prices, DSO data the next day.
ARRIVALS = [
    ("morning", ["crm/*", "vpp/technical_data/*", "imbalance/imbalance_price_estimation_*"]),
    ("forecasts and live", ["vpp/forecasts/*", "vpp/live_measured_infeed/*"]),
    ("end of day", ["exchange/*", "imbalance/imbalance_price_final_*"]),
    ("next day: DSO", ["distribution_system_operator/*"]),
]


class Platform:
    """The daemon's loop, without a daemon: sensor ticks, automation ticks, runs one at a time."""

    def __init__(self, settings: Settings, instance: dg.DagsterInstance):
        self.defs = build_definitions(settings)
        self.graph = self.defs.resolve_asset_graph()
        self.job = self.defs.resolve_implicit_global_asset_job_def()
        self.instance = instance
        self.landing = settings.landing_dir
        self.sensors = {s.name.removesuffix("_files_sensor"): s for s in source_sensors()}
        self.cursors: dict[str, str | None] = dict.fromkeys(self.sensors)
        self.run_keys: set[str] = set()
        self.automation_cursor = None
        self.selection = dg.AssetSelection.all() - dg.AssetSelection.assets(*NOT_IN_TEST)
        self.runs: list[tuple[str, str, tuple[str, ...]]] = []  # (trigger, partition, assets)
        self.check_failures: list[tuple[str, tuple[str, ...]]] = []

    def execute(self, trigger: str, partition_key: str | None, keys) -> None:
        keys = sorted(keys, key=lambda k: k.to_user_string())
        result = self.job.execute_in_process(
            instance=self.instance, partition_key=partition_key, asset_selection=keys, raise_on_error=False
        )
        if not result.success:  # only a failing blocking data-quality check is an acceptable failure
            failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
            other = [e for e in failures if "DagsterAssetCheckFailedError" not in str(e.event_specific_data.error)]
            assert failures and not other, f"{trigger} run {partition_key} {keys} failed: {other or 'no step failure'}"
            self.check_failures.append((partition_key, tuple(k.to_user_string() for k in keys)))
        self.runs.append((trigger, partition_key, tuple(k.to_user_string() for k in keys)))

    def tick_sensors(self) -> int:
        n = 0
        for system, sensor in self.sensors.items():
            ctx = dg.build_sensor_context(
                instance=self.instance,
                cursor=self.cursors[system],
                resources={"landing": LandingZone(root=str(self.landing))},
            )
            result = sensor(ctx)
            self.cursors[system] = result.cursor
            for rr in result.run_requests or []:
                if rr.run_key in self.run_keys:  # what Dagster does with a run key it has seen
                    continue
                self.run_keys.add(rr.run_key)
                assert rr.tags.get("dagster/priority") == "-1"  # queued behind people's runs
                self.execute(f"{system}_files_sensor", rr.partition_key, rr.asset_selection)
                n += 1
        return n

    def tick_automation(self) -> int:
        result = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.automation_cursor, asset_selection=self.selection
        )
        self.automation_cursor = result.cursor
        by_partition: dict[tuple[str, str], set] = defaultdict(set)
        for key in self.graph.get_all_asset_keys():
            for pk in result.get_requested_partitions(key):
                pdef = type(self.graph.get(key).partitions_def).__name__
                by_partition[(pdef, pk)].add(key)
        # daily before monthly, days in order: one run per partition, like the daemon's grouping
        for (_pdef, pk), keys in sorted(by_partition.items(), key=lambda kv: (kv[0][0] != "DailyPartitionsDefinition", kv[0][1] or "")):
            self.execute("automation", pk, keys)
        return len(by_partition)

    def settle(self, max_rounds: int = 12) -> None:
        for _ in range(max_rounds):
            if self.tick_sensors() + self.tick_automation() == 0:
                return
        raise AssertionError("the platform did not settle")


def _marts(warehouse: Path, day: str) -> dict[str, pd.DataFrame]:
    """The day's rows of every daily business mart (not the data-quality result tables: run ids differ)."""
    with connect(str(warehouse), read_only=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = 'marts' AND column_name = 'delivery_day'"
            ).fetchall()
            if not r[0].startswith("data_quality")
        ]
        out = {}
        for t in sorted(set(tables)):
            df = conn.execute(f"SELECT * FROM marts.{t} WHERE delivery_day = ?", [day]).fetchdf()
            out[t] = df.sort_values(list(df.columns)).reset_index(drop=True)
        return out


def test_files_flow_through_to_the_marts_by_themselves(sample_dir, sample_warehouse, tmp_path):
    settings = Settings(landing_dir=tmp_path / "landing", warehouse=tmp_path / "warehouse.duckdb", data_dir=tmp_path / "data")
    settings.landing_dir.mkdir()
    with dg.instance_for_test() as instance:
        platform = Platform(settings, instance)
        platform.settle()
        assert platform.runs == []  # an empty landing zone: nothing to do

        for stage, patterns in ARRIVALS:
            drop(sample_dir, settings.landing_dir, *patterns)
            platform.settle()
            if stage == "forecasts and live":
                # the forecast marts of the day exist before any trade or DSO file arrived
                assert _marts(settings.warehouse, DAY)["asset_forecast"].shape[0] > 0

        # a re-delivered identical DSO file changes nothing
        n_runs = len(platform.runs)
        drop(sample_dir, settings.landing_dir, "distribution_system_operator/final_production_MP-SOL-001_*")
        platform.settle()
        assert len(platform.runs) == n_runs

        got = _marts(settings.warehouse, DAY)
        want = _marts(sample_warehouse.warehouse, DAY)
        assert set(want) <= set(got)
        for table, expected in want.items():
            assert len(expected), f"marts.{table} is empty in the direct materialisation"
            pd.testing.assert_frame_equal(got[table], expected, check_dtype=False, obj=f"marts.{table}")

        # a late corrected DSO file re-materialises that day's DSO staging and what depends on it, nothing else
        [final] = sorted((settings.landing_dir / "distribution_system_operator").glob("final_production_MP-SOL-001_*"))
        lines = final.read_text().splitlines(keepends=True)
        final.write_text("".join(lines[:-1]))  # a corrected file without the last quarter-hour
        before = len(platform.runs)
        platform.settle()
        late = platform.runs[before:]
        assert late[0] == ("dso_files_sensor", DAY, ("staging/dso_final_production",))
        touched = {(pk, a) for _, pk, assets in late for a in assets}
        unpartitioned = {"warehouse_snapshot", "audience_snapshots"}
        assert {pk for pk, a in touched if a not in unpartitioned} <= {DAY, "2025-06-01"}  # the day and its invoice month
        assert not any(a.startswith("staging/") and a != "staging/dso_final_production" for _, a in touched)
        assert ("2025-06-08", "marts/best_of_infeed") in touched
        assert not any(a in {"marts/trading_qh", "marts/asset_forecast"} for _, a in touched)
