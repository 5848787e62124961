"""Continuous operation, measured against a running `make dev` (issue 21's "done when", docs/automation.md).

Run after `make run`, with `make dev` started in another terminal (same DAGSTER_HOME and landing zone):

    .venv/bin/python scripts/continuous.py --quiet-minutes 10

1. **quiet**: for ``--quiet-minutes`` nothing lands; counts the runs the sensors and the automation request
   (expected 0: the one memory of what was loaded), failed runs, new customer e-mails, open alerts;
2. **people before sensors**: rewrites every DSO final production file of the landing zone in place (a catch-up:
   one sensor run per day, then the automation's), then re-executes a `make run` day through the UI's GraphQL
   API and measures how long that run waited in the queue (expected <= 60 s);
3. **correction to invoice**: a corrected DSO file for one day (one quarter-hour 10 % lower) and the time from its
   landing to the month's `marts/invoices` materialisation after it.

Prints one line per measurement and writes them as JSON to ``build/continuous.json``. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "data" / "dagster_home"))

from flexpower_dagster.lib.dagster.jobs import ORIGIN_TAG  # noqa: E402
from flexpower_dagster.settings import Settings  # noqa: E402

REEXECUTE = """mutation($params: ReexecutionParams) { launchPipelineReexecution(reexecutionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""


def gql(url: str, query: str, **variables) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    req = urllib.request.Request(f"{url}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp)["data"]


def runs_since(instance: dg.DagsterInstance, t0: float) -> list[dg.DagsterRun]:
    records = instance.get_run_records(filters=dg.RunsFilter(created_after=datetime.fromtimestamp(t0, UTC)))
    return [r.dagster_run for r in records]


def customer_emails(settings: Settings) -> set[str]:
    outbox = settings.data_dir / "outbox"
    return {str(p) for p in outbox.glob("*/*.eml") if p.parent.name != "operations"}


def open_alerts(settings: Settings) -> int:
    from flexpower_dagster.lib.warehouse import connect

    with connect(str(settings.warehouse), read_only=True, wait_seconds=600) as conn:
        return conn.execute("SELECT count(*) FROM marts.alerts WHERE status = 'open'").fetchone()[0]


def wait_idle(instance: dg.DagsterInstance, limit_s: float) -> None:
    """Until no run is queued or in progress (and a sensor tick had the chance to request more)."""
    deadline = time.monotonic() + limit_s
    quiet_since = None
    while time.monotonic() < deadline:
        busy = instance.get_runs_count(filters=dg.RunsFilter(statuses=[
            dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
            dg.DagsterRunStatus.NOT_STARTED]))
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 75:  # two sensor intervals without a new run
            return
        time.sleep(5)
    raise SystemExit(f"the platform did not become idle within {limit_s:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet-minutes", type=float, default=10)
    parser.add_argument("--ui", default="http://127.0.0.1:3000")
    args = parser.parse_args()
    settings = Settings.from_env()
    instance = dg.DagsterInstance.get()
    out: dict = {}

    # 1. quiet
    t0 = time.time()
    mails0 = customer_emails(settings)
    time.sleep(args.quiet_minutes * 60)
    runs = runs_since(instance, t0)
    out["quiet_minutes"] = args.quiet_minutes
    out["quiet_runs"] = len(runs)
    out["quiet_runs_by_origin"] = {o: sum(1 for r in runs if r.tags.get(ORIGIN_TAG) == o) for o in {r.tags.get(ORIGIN_TAG) for r in runs}}
    out["failed_runs_total"] = instance.get_runs_count(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    out["new_customer_emails"] = sorted(customer_emails(settings) - mails0)
    out["open_alerts"] = open_alerts(settings)
    print(json.dumps(out, indent=1), flush=True)

    # 2. people before sensors: a catch-up, then a person's re-execution
    t1 = time.time()
    finals = sorted((settings.landing_dir / "distribution_system_operator").glob("final_production_*.csv"))
    for f in finals:  # a new content (line endings swapped), the same figures
        data = f.read_bytes()
        f.write_bytes(data.replace(b"\r\n", b"\n") if b"\r\n" in data else data.replace(b"\n", b"\r\n"))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not any(r.tags.get(ORIGIN_TAG) == "sensor" for r in runs_since(instance, t1)):
        time.sleep(2)
    time.sleep(35)  # the automation's first requests join the queue
    parent = next(r for r in instance.get_runs(filters=dg.RunsFilter(tags={ORIGIN_TAG: "make_run"}))
                  if r.job_name == "delivery_day_job")
    launched = gql(args.ui, REEXECUTE, params={"parentRunId": parent.run_id, "strategy": "ALL_STEPS"})
    run_id = launched["launchPipelineReexecution"]["run"]["runId"]
    queued_ahead = len([r for r in runs_since(instance, t1) if r.status == dg.DagsterRunStatus.QUEUED]) - 1
    while True:
        record = instance.get_run_record_by_id(run_id)
        if record.start_time is not None:
            break
        time.sleep(1)
    out["catch_up_files_rewritten"] = len(finals)
    out["reexecution_queued_behind"] = queued_ahead
    out["reexecution_wait_seconds"] = round(record.start_time - record.create_timestamp.timestamp(), 1)
    print(f"re-execution of {parent.tags.get('dagster/partition')} started {out['reexecution_wait_seconds']} s after "
          f"its launch, with {queued_ahead} sensor/automation run(s) queued", flush=True)
    wait_idle(instance, 3600)

    # 3. correction -> invoice
    target = finals[len(finals) // 2]
    header, first, *rest = target.read_text().splitlines()
    stamp, kw = first.rsplit(",", 1)
    t2 = time.time()
    target.write_text("\n".join([header, f"{stamp},{float(kw) * 0.9:.3f}", *rest]) + "\n")
    key = dg.AssetKey(["marts", "invoices"])
    while True:
        event = instance.get_latest_materialization_event(key)
        if event is not None and event.timestamp > t2:
            break
        if time.time() - t2 > 1800:
            raise SystemExit("no invoice materialisation within 30 min of the correction")
        time.sleep(2)
    out["correction_file"] = target.name
    out["correction_to_invoice_seconds"] = round(event.timestamp - t2, 1)
    print(f"corrected {target.name}: marts/invoices materialised {out['correction_to_invoice_seconds']} s later", flush=True)
    out["failed_runs_total_end"] = instance.get_runs_count(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    (PROJECT_ROOT / "build").mkdir(exist_ok=True)
    (PROJECT_ROOT / "build" / "continuous.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
