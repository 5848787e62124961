"""The Dagster UI as the data engineer's cockpit (docs/ui.md), tested through the webserver after ``make run``.

``python -m flexpower_dagster.run_all --no-report`` (``make run`` without the report site) builds the sample day
into a temporary ``DAGSTER_HOME``, warehouse and data directory, with the partition range that the sample's
landing zone gives (the range the other tests pin is removed from the environment). Then ``dagster-webserver``
serves that instance on 127.0.0.1 with the project's workspace, and through its GraphQL API:

* every asset has an owner, a group of the scheme, a description, kinds and code references; every table asset
  a column schema with its key NOT NULL; the report artefacts are the only assets that are not tables;
* the daily partitions are the days the settings give (the sample: 2025-06-07 .. 2025-06-10);
* every run is green, says where it came from, belongs to a job the code location defines and re-executes as
  the UI's Re-execute button does;
* a failing warning check's result states the value observed (recomputed here from the warehouse);
* numeric materialisation metadata carries its unit; table names are ``schema.table``.

Screenshots (asset page, check page, runs list, backfill dialog) from Debian's Chromium go to build/screenshots/
(``FLEXPOWER_SCREENSHOTS_DIR``; ``make screenshots`` writes docs/screenshots/, shown in the README).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from flexpower_dagster.lib.dagster.catalog import GROUP_SCHEME
from flexpower_dagster.lib.dagster.jobs import ORIGIN_TAG
from flexpower_dagster.lib.dagster.launch import CODE_LOCATION
from flexpower_dagster.lib.dagster.partitions import resolve
from flexpower_dagster.lib.warehouse import connect
from flexpower_dagster.settings import PROJECT_ROOT, Settings

from support import SCREENSHOTS

pytestmark = pytest.mark.e2e  # `make run` and dagster-webserver as processes

REPOSITORY = {"repositoryLocationName": CODE_LOCATION, "repositoryName": "__repository__"}
#: Assets that are not warehouse tables (a static site, copies of the database): no column schema.
NOT_TABLES = {"report_site", "warehouse_snapshot", "audience_snapshots", "audience_sites", "customer_statements"}
RANGE_SETTINGS = ("FLEXPOWER_FIRST_DAY", "FLEXPOWER_LAST_DAY")


@dataclass
class Cockpit:
    url: str
    settings: Settings
    log: Path

    def gql(self, query: str, **variables) -> dict:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.load(response)
        assert "errors" not in answer, answer["errors"]
        return answer["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_location(cockpit: Cockpit, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {proc.returncode}:\n{cockpit.log.read_text()[-3000:]}")
        try:
            entries = cockpit.gql(query)["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
        except OSError:
            pass
        time.sleep(1.0)
    pytest.fail(f"the code location did not load within {timeout:.0f} s:\n{cockpit.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def cockpit(tmp_path_factory, sample_dir):
    root = tmp_path_factory.mktemp("cockpit")
    env = {k: v for k, v in os.environ.items() if k not in RANGE_SETTINGS}
    env.update(
        FLEXPOWER_FIRST_DAY="2025-06-07",  # the partition range is configuration: here the sample's four days
        FLEXPOWER_LAST_DAY="2025-06-10",
        DAGSTER_HOME=str(root / "dagster_home"),
        FLEXPOWER_LANDING_DIR=str(sample_dir),
        FLEXPOWER_WAREHOUSE=str(root / "warehouse.duckdb"),
        FLEXPOWER_DATA_DIR=str(root / "data"),
    )
    made = subprocess.run(
        [sys.executable, "-m", "flexpower_dagster.run_all", "--no-report"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert made.returncode == 0, f"make run failed:\n{made.stdout[-4000:]}\n{made.stderr[-4000:]}"
    (root / "make_run.log").write_text(made.stdout)
    port = _free_port()
    log = root / "webserver.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    cockpit = Cockpit(f"http://127.0.0.1:{port}", Settings.from_env(env), log)
    try:
        _wait_for_location(cockpit, proc)
        yield cockpit
    finally:  # the webserver and the code server it started (its own process group)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


ASSETS_QUERY = """{ assetNodes {
  assetKey { path } groupName description kinds
  owners { __typename ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
  partitionDefinition { type }
  partitionKeysByDimension { partitionKeys }
  metadataEntries { label __typename
    ... on TextMetadataEntry { text }
    ... on TableSchemaMetadataEntry { schema { columns { name constraints { nullable } } constraints { other } } }
    ... on CodeReferencesMetadataEntry { codeReferences { __typename ... on LocalFileCodeReference { filePath lineNumber } } } }
  assetMaterializations(limit: 1) { partition metadataEntries { label __typename
    ... on TextMetadataEntry { text } ... on FloatMetadataEntry { floatValue } ... on IntMetadataEntry { intValue } } }
} }"""


@pytest.fixture(scope="module")
def assets(cockpit) -> dict[str, dict]:
    return {"/".join(n["assetKey"]["path"]): n for n in cockpit.gql(ASSETS_QUERY)["assetNodes"]}


def _entries(node: dict) -> dict[str, dict]:
    return {e["label"]: e for e in node["metadataEntries"]}


def test_every_asset_has_owner_group_description_kinds_columns_and_code(assets):
    assert len(assets) == 32  # as tests/ui/test_catalog.py: 30 + customer_statements + audience_sites (issue 25)
    for name, node in assets.items():
        assert [o["team"] for o in node["owners"] if o["__typename"] == "TeamAssetOwner"], f"{name}: no owning team"
        assert GROUP_SCHEME.fullmatch(node["groupName"]), f"{name}: group {node['groupName']}"
        assert node["description"] and len(node["description"]) > 40, name
        assert node["kinds"], name
        md = _entries(node)
        refs = md["dagster/code_references"]["codeReferences"]
        assert refs and all(Path(r["filePath"]).is_file() for r in refs), name
        if name in NOT_TABLES:
            continue
        schema = md["dagster/column_schema"]["schema"]
        table = md["dagster/table_name"]["text"]
        assert table == name.replace("/", "."), name  # schema.table as declared, never a file path
        key = schema["constraints"]["other"][0].removeprefix("key (").split(")")[0].split(", ")
        nullable = {c["name"]: c["constraints"]["nullable"] for c in schema["columns"]}
        assert key and all(nullable[k] is False for k in key), f"{name}: key {key} must be NOT NULL"
    assert {n["groupName"] for n in assets.values()} >= {"staging_vpp", "marts_imbalance", "marts_invoicing", "reporting"}


def test_daily_partitions_are_the_days_the_settings_give(cockpit, assets):
    expected = resolve(cockpit.settings)
    assert (str(expected.first_day), str(expected.last_day)) == ("2025-06-07", "2025-06-10")  # the sample's days
    days = [(expected.first_day.toordinal() + i) for i in range((expected.last_day - expected.first_day).days + 1)]
    for name, node in assets.items():
        if node["partitionDefinition"] is None:
            continue
        keys = node["partitionKeysByDimension"][0]["partitionKeys"]
        if name in ("marts/invoices", "marts/invoice_lines", "marts/invoice_documents", "customer_statements"):
            assert keys == ["2025-06-01"], name  # months from the first day's month
        else:
            assert len(keys) == len(days) and keys[0] == "2025-06-07" and keys[-1] == "2025-06-10", name


def test_numeric_metadata_carries_its_unit_and_table_names_are_declared(assets):
    plotted = 0
    for name, node in assets.items():
        for mat in node["assetMaterializations"]:
            for e in mat["metadataEntries"]:
                if e["label"] == "dagster/table_name":
                    assert e["text"] == name.replace("/", "."), name
                if e["__typename"] in ("FloatMetadataEntry", "IntMetadataEntry") and "/" not in e["label"]:
                    plotted += 1
                    assert e["label"].endswith(")") and " (" in e["label"], f"{name}: {e['label']} has no unit"
                    if e["__typename"] == "FloatMetadataEntry" and e["floatValue"] is not None:
                        assert round(e["floatValue"], 3) == e["floatValue"], f"{name}: {e['label']} = {e['floatValue']}"
    assert plotted > 100



def test_the_sample_days_best_of_infeed_metadata(cockpit):
    # make run builds every landing day of the sample (2025-06-07..06-10): the delivered day's materialisation
    query = """{ assetNodeOrError(assetKey: {path: ["marts", "best_of_infeed"]}) { ... on AssetNode {
      assetMaterializations(partitions: ["2025-06-08"], limit: 1) { partition metadataEntries { label __typename
        ... on FloatMetadataEntry { floatValue } } } } } }"""
    (node,) = cockpit.gql(query)["assetNodeOrError"]["assetMaterializations"]
    mat = {e["label"]: e for e in node["metadataEntries"]}
    assert node["partition"] == "2025-06-08"
    assert mat["share final (%)"]["floatValue"] == 80.0 and mat["total (MWh)"]["floatValue"] == 168.467


CHECK_QUERY = """query($key: AssetKeyInput!, $check: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $check, limit: 10) {
    status evaluation { severity success description metadataEntries { label __typename
      ... on PathMetadataEntry { path } ... on MarkdownMetadataEntry { mdStr } ... on TextMetadataEntry { text } } } } }"""


def _execution_of(cockpit, asset: list[str], check: str, partition: str = "2025-06-08") -> dict:
    """The newest execution of the check for the sample's delivered day (make run built 06-07..06-10)."""
    for execution in cockpit.gql(CHECK_QUERY, key={"path": asset}, check=check)["assetCheckExecutions"]:
        md = {e["label"]: e for e in execution["evaluation"]["metadataEntries"]}
        if md.get("partition", {}).get("text") == partition:
            return execution
    raise AssertionError(f"no execution of {check} on {'/'.join(asset)} for {partition}")


def test_a_failing_warning_check_states_what_was_observed(cockpit):
    with connect(cockpit.settings.warehouse, read_only=True) as conn:
        n = conn.execute(
            "SELECT count(*) FILTER (WHERE price_source = 'estimate'), count(*) FROM marts.imbalance WHERE asset_id = 'SOL-DE-001' "
            "AND delivery_day = '2025-06-08'"
        ).fetchone()
    execution = _execution_of(cockpit, ["marts", "imbalance"], "freshness")
    ev = execution["evaluation"]
    assert ev["severity"] == "WARN" and not ev["success"]
    observed = f"{n[0]} of {n[1]} QHs ({100 * n[0] / n[1]:.1f} %) have price_source = 'estimate'"
    assert f"SOL-DE-001: {observed}" in ev["description"] and "limit 5 %" in ev["description"]
    md = {e["label"]: e for e in ev["metadataEntries"]}
    assert Path(md["gx_result_file"]["path"]).is_absolute() and Path(md["gx_result_file"]["path"]).is_file()
    assert "[None]" not in md["failures"]["mdStr"]
    assert f"| SOL-DE-001 | {observed}" in md["failing_entities"]["mdStr"]
    passed = _execution_of(cockpit, ["marts", "imbalance"], "structure")
    assert passed["evaluation"]["success"] and passed["evaluation"]["description"].startswith("Passed: all ")


class UI:
    """One browser page on the webserver; the community sign-up dialog of a fresh instance is skipped."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1440, "height": 900})
        self.page = self.context.new_page()
        self.url = url
        self.greeted = False

    def open(self, path: str, wait_for: str) -> None:
        self.page.goto(self.url + path)
        if not self.greeted:  # the dialog shows once per browser profile
            skip = self.page.get_by_role("button", name="Skip")
            try:
                skip.wait_for(timeout=10_000)
                skip.click()
            except Exception:
                pass
            self.greeted = True
        self.page.get_by_text(wait_for).first.wait_for(timeout=60_000)
        self.page.wait_for_load_state("networkidle")

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"dagster-{name}.png"))


def test_screenshots_asset_check_runs_and_backfill_dialog(cockpit, browser):
    ui = UI(browser, cockpit.url)
    try:
        ui.open("/assets/marts/imbalance", "Latest materialization")
        for text in ("marts_imbalance", "trading", "Source code", "SQL statement", "marts.imbalance", "delivery_day_job"):
            ui.page.get_by_text(text).first.wait_for(timeout=30_000)
        ui.screenshot("asset")

        ui.open("/assets/marts/imbalance?view=checks&checkDetail=freshness", "This is a non-blocking asset check")
        ui.page.get_by_text("have price_source = ").first.wait_for(timeout=30_000)  # the newest day's observation
        ui.screenshot("check")

        ui.open("/runs", "delivery_day_job")
        assert ui.page.get_by_text("invoice_month_job").count()
        ui.screenshot("runs")

        ui.open("/assets/marts/imbalance", "Latest materialization")
        ui.page.get_by_role("button", name="Materialize…").first.click()
        dialog = ui.page.get_by_role("dialog")
        dialog.get_by_text("2025-06-07").first.wait_for(timeout=30_000)  # the first and the last day of the range
        dialog.get_by_text("2025-06-10").first.wait_for(timeout=30_000)
        assert "outside" not in dialog.inner_text()  # no partition hidden by the dialog's default window
        dialog.get_by_role("button", name="All", exact=True).click()
        dialog.get_by_text("4 partitions").first.wait_for(timeout=30_000)
        ui.screenshot("backfill")
    finally:
        ui.context.close()


RUNS_QUERY = """{ runsOrError(limit: 100) { ... on Runs { results {
  runId jobName status pipelineSnapshotId tags { key value } assetSelection { path }
  repositoryOrigin { repositoryLocationName repositoryName } } } } }"""
JOBS_QUERY = """query($repo: RepositorySelector!) { repositoryOrError(repositorySelector: $repo) {
  ... on Repository { jobs { name pipelineSnapshotId } } } }"""
REEXECUTE = """mutation($params: ReexecutionParams) { launchPipelineReexecution(reexecutionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId jobName } } ... on PythonError { message }
  ... on PipelineNotFoundError { message } ... on InvalidSubsetError { message } } }"""


def test_make_run_on_the_sample_prints_and_stores_the_open_alerts(cockpit):
    """The sample day and its month through the CLI: the late DSO file of WND-DE-001 and the blocked invoice of
    CON1_WND-DE-003 are open alerts in marts.alerts, and make run prints them (docs/operations.md)."""
    import duckdb

    with duckdb.connect(str(cockpit.settings.warehouse), read_only=True) as conn:
        open_keys = {k for (k,) in conn.execute("SELECT alert_key FROM marts.alerts WHERE status = 'open'").fetchall()}
    assert "late_data:dso_final_production:WND-DE-001" in open_keys  # one alert per cause (docs/operations.md)
    assert "blocked_invoice:CON1_WND-DE-003" in open_keys
    printed = (cockpit.log.parent / "make_run.log").read_text()
    assert "open alerts:" in printed and "CON1_WND-DE-003" in printed


#: Run in a process with the cockpit's environment (its partitions, instance, landing manifest): one tick of every
#: source sensor and one evaluation of the automation conditions, as `make dev` does first after `make run`.
_FIRST_TICKS = """
import json, dagster as dg
from flexpower_dagster.definitions import defs, source_sensors
from flexpower_dagster.lib.dagster.resources import build_resources
from flexpower_dagster.settings import Settings
instance = dg.DagsterInstance.get()
resources = build_resources(Settings.from_env())
out = {}
for sensor in source_sensors():
    result = sensor(dg.build_sensor_context(instance=instance, resources=resources))
    out[sensor.name] = [r.partition_key for r in result.run_requests or []]
    out[sensor.name + ":skip"] = result.skip_reason.skip_message if result.skip_reason else ""
evaluated = dg.evaluate_automation_conditions(defs=defs, instance=instance)
out["automation"] = evaluated.total_requested
print(json.dumps(out))
"""


def test_make_dev_after_make_run_requests_nothing(cockpit):
    """The one memory of what was loaded (docs/automation.md): the sensors' first ticks and the automation's first
    evaluation after `make run` request 0 runs; each sensor says the feeds were already loaded."""
    env = {k: v for k, v in os.environ.items() if k not in RANGE_SETTINGS}
    env.update(
        DAGSTER_HOME=str(cockpit.log.parent / "dagster_home"), FLEXPOWER_LANDING_DIR=str(cockpit.settings.landing_dir),
        FLEXPOWER_WAREHOUSE=str(cockpit.settings.warehouse), FLEXPOWER_DATA_DIR=str(cockpit.settings.data_dir),
        FLEXPOWER_FIRST_DAY="2025-06-07", FLEXPOWER_LAST_DAY="2025-06-10", FLEXPOWER_SETTLE_SECONDS="0",
    )
    done = subprocess.run([sys.executable, "-c", _FIRST_TICKS], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    requested = {k: v for k, v in out.items() if k.endswith("_sensor") and v}
    assert requested == {}, (requested, out)
    assert "already loaded" in out["vpp_files_sensor:skip"], out
    assert out["automation"] == 0, out


def test_every_run_is_green_tagged_and_re_executable(cockpit, assets):
    # last in this module: the re-executions it launches queue in the instance (no daemon runs them)
    runs = cockpit.gql(RUNS_QUERY)["runsOrError"]["results"]
    jobs = {j["name"]: j["pipelineSnapshotId"] for j in cockpit.gql(JOBS_QUERY, repo=REPOSITORY)["repositoryOrError"]["jobs"]}
    assert {r["jobName"] for r in runs} == {"delivery_day_job", "invoice_month_job", "alerts_job"}
    for run in runs:
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert run["status"] == "SUCCESS", run
        assert tags[ORIGIN_TAG] == "make_run", tags
        assert run["repositoryOrigin"] == REPOSITORY  # the UI finds the run's code location ...
        assert jobs[run["jobName"]] == run["pipelineSnapshotId"]  # ... and the very job it ran
        for key in run["assetSelection"] or []:
            assert "/".join(key["path"]) in assets
        launched = cockpit.gql(REEXECUTE, params={"parentRunId": run["runId"], "strategy": "ALL_STEPS"})
        result = launched["launchPipelineReexecution"]
        assert result["__typename"] == "LaunchRunSuccess", result
        assert result["run"]["jobName"] == run["jobName"]
